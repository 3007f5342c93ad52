//! The quality tab: the silhouette of every customer, and how other segment counts compare,
//! with a form that runs the suggested count.

use askama::Template;

use crate::engine::quality::STABLE_JACCARD;
use crate::engine::render::Theme;
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;
use crate::web::run_form::kind_field;

use super::head::RunHead;

pub struct SweepPoint {
    pub k: usize,
    pub silhouette: String,
    pub wss: String,
    /// Stability of the weakest segment, or a dash when not measured.
    pub stability: String,
    /// Whether every segment is stable.
    pub stable: bool,
    pub suggested: bool,
    pub current: bool,
}

pub struct SweepView {
    pub suggested: usize,
    /// Why, in the rule's words; empty for runs made before the rule.
    pub reason: String,
    /// The data shows no clear segments.
    pub no_structure: bool,
    /// How stability was measured, e.g. "20 resamples of 1,000 customers".
    pub resampling: Option<String>,
    /// Per segment of this run's count: name and stability, when measured.
    pub segments: Vec<(String, String, bool)>,
    pub points: Vec<SweepPoint>,
    /// A form that runs the same settings with the suggested count, when it differs.
    pub rerun: Option<Rerun>,
}

/// Hidden fields of the run form, repeating a run's settings with another segment count.
pub struct Rerun {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/run_quality.html", blocks = ["title", "content"])]
pub struct QualityPage {
    run: RunHead,
    silhouette_chart: routes::ChartSrc,
    silhouette: String,
    k_sweep_chart: routes::ChartSrc,
    sweep: Option<SweepView>,
}
page!(QualityPage);

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> QualityPage {
    QualityPage {
        run: head,
        silhouette_chart: routes::chart(run, "silhouette", Theme::Dark),
        silhouette: run
            .metrics
            .as_ref()
            .and_then(|m| m.silhouette_score)
            .map_or("—".into(), format::score),
        k_sweep_chart: routes::chart(run, "k-sweep", Theme::Dark),
        sweep: sweep(run, dataset),
    }
}

/// How other segment counts compare, when the run compared them.
pub fn sweep(run: &Run, dataset: &Dataset) -> Option<SweepView> {
    let sweep = run.k_sweep.as_ref()?;
    let current = run.segment_count().map(|k| k as usize);
    let segments = current
        .and_then(|k| sweep.points.iter().find(|p| p.k == k))
        .map(|p| {
            p.segment_stability
                .iter()
                .enumerate()
                .map(|(segment, &j)| {
                    let name = run
                        .profiles
                        .get(segment)
                        .map_or_else(|| format!("Segment {segment}"), |p| p.name.clone());
                    (name, format::score(j), j >= STABLE_JACCARD)
                })
                .collect()
        })
        .unwrap_or_default();
    Some(SweepView {
        suggested: sweep.suggested_k,
        // The verdict is the paragraph's heading; the reason follows it.
        reason: sweep
            .reason
            .strip_prefix("no clear structure: ")
            .unwrap_or(&sweep.reason)
            .to_string(),
        no_structure: sweep.structure == Some(false),
        resampling: sweep.resampling.map(|r| {
            format!(
                "{} resamples of {} customers",
                r.resamples,
                format::number(r.rows as f64)
            )
        }),
        segments,
        rerun: (current != Some(sweep.suggested_k)).then(|| rerun(run, dataset, sweep.suggested_k)),
        points: sweep
            .points
            .iter()
            .map(|p| SweepPoint {
                k: p.k,
                silhouette: format::score(p.silhouette),
                wss: format::number(p.wss),
                stability: p.stability().map_or("—".into(), format::score),
                stable: p.stability().is_some_and(|j| j >= STABLE_JACCARD),
                suggested: p.k == sweep.suggested_k,
                current: Some(p.k) == current,
            })
            .collect(),
    })
}

fn rerun(run: &Run, dataset: &Dataset, k: usize) -> Rerun {
    let mut fields = vec![
        ("method", run.method.as_str().to_string()),
        ("metric", run.metric.as_str().to_string()),
        ("mode", "k".to_string()),
        ("n_clusters", k.to_string()),
        ("features_sent", "1".to_string()),
    ];
    if run.use_pca {
        fields.push(("use_pca", "on".into()));
        if let Some(c) = run.pca_components {
            fields.push(("pca_components", c.to_string()));
        }
        if let Some(v) = run.pca_variance {
            fields.push(("pca_variance", v.to_string()));
        }
    }
    let chosen = &run.features;
    let mut fields: Vec<(String, String)> = fields
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    for (column, used) in &chosen.kinds {
        fields.push((kind_field(column), used.as_str().to_string()));
    }
    for c in &dataset.columns {
        let included = chosen
            .include
            .as_ref()
            .is_none_or(|inc| inc.contains(&c.name));
        if included && !chosen.exclude.contains(&c.name) {
            fields.push(("feature".to_string(), c.name.clone()));
        }
    }
    Rerun {
        action: routes::dataset_runs(dataset.id),
        fields,
    }
}
