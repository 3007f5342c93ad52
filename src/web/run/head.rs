//! What every run page shows above its tabs: the run's status, its settings in one line, the
//! controls and the tab bar.

use crate::service::datasets::Dataset;
use crate::service::runs::{Run, RunStatus};
use crate::web::format;
use crate::web::routes;

use super::Tab;

pub struct TabLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub url: String,
}

pub struct RunHead {
    pub id: i64,
    pub status: RunStatus,
    pub is_final: bool,
    pub succeeded: bool,
    pub summary: String,
    pub dataset_name: String,
    pub dataset_url: String,
    pub url: String,
    pub events_url: String,
    pub cancel_action: String,
    pub delete_action: String,
    /// The printable report (linked for succeeded runs only).
    pub report_url: String,
    pub tabs: Vec<TabLink>,
    /// The slug of the tab shown.
    pub tab: &'static str,
    /// Goes before the page title ("Segments · "): the name of the results tab shown, empty
    /// for the overview and for a run without results.
    pub tab_title: String,
    /// Show the cancel, delete and run-again controls (full access only).
    pub can_write: bool,
}

impl RunHead {
    pub fn new(run: &Run, dataset: &Dataset, tab: Tab, can_write: bool) -> RunHead {
        // Results tabs only for runs whose results can be read.
        let succeeded = run.status == RunStatus::Succeeded && run.damage.is_none();
        RunHead {
            id: run.id,
            status: run.status,
            is_final: run.status.is_final(),
            succeeded,
            summary: summary(run),
            dataset_name: dataset.name.clone(),
            dataset_url: routes::dataset(dataset.id),
            url: routes::run(run.id),
            events_url: routes::run_events(run.id),
            cancel_action: routes::run_cancel(run.id),
            delete_action: routes::run_delete(run.id),
            report_url: routes::run_report(run.id),
            tabs: Tab::ALL
                .into_iter()
                .map(|t| TabLink {
                    slug: t.slug(),
                    label: t.label(),
                    url: routes::run_tab(run.id, t.slug()),
                })
                .collect(),
            tab: tab.slug(),
            tab_title: if succeeded && tab != Tab::Overview {
                format!("{} · ", tab.label())
            } else {
                String::new()
            },
            can_write,
        }
    }
}

pub fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// "Ward linkage, Euclidean distance, 4 segments, PCA to 90% variance".
pub fn summary(run: &Run) -> String {
    let mut parts = vec![
        format!("{} linkage", capitalized(run.method.as_str())),
        format!("{} distance", run.metric.as_str()),
    ];
    match (run.n_clusters, run.distance_threshold) {
        (Some(k), _) => parts.push(format!("{k} segments")),
        (None, Some(h)) => parts.push(format!("cut at height {}", format::number(h))),
        _ if run.auto_clusters => parts.push(match run.metrics.as_ref() {
            Some(m) => format!("{} segments (chosen)", m.n_clusters),
            None => "segments chosen by the run".into(),
        }),
        _ => {}
    }
    if run.use_pca {
        parts.push(match (run.pca_components, run.pca_variance) {
            (Some(c), _) => format!("PCA to {c} components"),
            (None, Some(v)) => format!("PCA keeping {} of variance", format::percent(v)),
            _ => "PCA".into(),
        });
    }
    let mut text = parts.join(", ");
    text.push_str(&format!(" · started {}", format::date(&run.created_at)));
    text
}
