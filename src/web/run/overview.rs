//! The overview tab: the figures of a run (size, silhouette with its reading, tree fit), the
//! segments' sizes and the settings it ran with.

use askama::Template;

use crate::engine::render::{Theme, segment_color_hex};
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::format::filters;
use crate::web::render::page;
use crate::web::routes;

use super::head::{RunHead, capitalized};

pub struct BandView {
    pub class: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
}

pub struct BandStep {
    pub label: &'static str,
    pub range: &'static str,
    pub on: bool,
}

pub struct SizeRow {
    pub index: usize,
    pub name: String,
    pub size: String,
    pub share: String,
    pub color: String,
}

pub struct OverviewView {
    /// Degenerate-result warnings, shown above the figures.
    pub warnings: Vec<String>,
    pub n_samples: String,
    pub n_clusters: usize,
    pub n_features: usize,
    pub silhouette: String,
    pub band: Option<BandView>,
    pub scale: Vec<BandStep>,
    pub cophenetic: Option<String>,
    /// On approximate runs: how, in a sentence for the analyst.
    pub approximation: Option<String>,
    /// With an estimated silhouette: on how many customers, and its 95% interval.
    pub silhouette_estimate: Option<String>,
    pub cut_height: Option<String>,
    pub sizes_chart: routes::ChartSrc,
    pub sizes_alt: String,
    pub segments: Vec<SizeRow>,
    pub settings: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/run_overview.html", blocks = ["title", "content"])]
pub struct OverviewPage {
    run: RunHead,
    o: OverviewView,
}
page!(OverviewPage);

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> OverviewPage {
    OverviewPage {
        run: head,
        o: overview(run, dataset, Theme::Dark),
    }
}

/// The overview's figures, sizes and settings, with the sizes chart drawn in `theme` (the tab's
/// dark one, or light for the printable report).
pub fn overview(run: &Run, dataset: &Dataset, theme: Theme) -> OverviewView {
    let metrics = run.metrics.as_ref();
    let silhouette = metrics.and_then(|m| m.silhouette_score);
    let band = silhouette.map(format::band);
    let sizes = size_rows(run);
    let sizes_alt = sizes
        .iter()
        .map(|s| format!("segment {} {} customers", s.index, s.size))
        .collect::<Vec<_>>()
        .join(", ");
    OverviewView {
        n_samples: metrics.map_or_else(
            || format::thousands(dataset.row_count),
            |m| format::thousands(m.n_samples as i64),
        ),
        n_clusters: metrics.map_or(0, |m| m.n_clusters),
        n_features: metrics.map_or(0, |m| m.n_encoded_features),
        silhouette: silhouette.map_or("—".into(), format::score),
        scale: format::BANDS
            .iter()
            .map(|(label, range)| BandStep {
                label,
                range,
                on: band.as_ref().is_some_and(|b| b.label == *label),
            })
            .collect(),
        band: band.map(|b| BandView {
            class: b.class,
            label: b.label,
            explanation: b.explanation,
        }),
        cophenetic: metrics.and_then(|m| {
            let c = format::score(m.cophenetic_correlation?);
            Some(match m.cophenetic_sample_size {
                Some(rows) => format!(
                    "{c} (estimated on {} customers)",
                    format::thousands(rows as i64)
                ),
                None => c,
            })
        }),
        approximation: metrics.and_then(|m| {
            let a = m.approximation.as_ref()?;
            Some(format!(
                "This run is approximate: the table has more than {} customers, so they were \
                 first grouped into {} micro-clusters ({}); {:.1}% of the customers' variance \
                 lies inside micro-clusters, where the tree cannot see",
                format::thousands(a.max_exact_rows as i64),
                format::thousands(a.micro_clusters as i64),
                a.method.describe(),
                a.within_share * 100.0
            ))
        }),
        silhouette_estimate: metrics.and_then(|m| {
            let rows = m.silhouette_sample_size?;
            let [low, high] = m.silhouette_interval?;
            Some(format!(
                "estimated on {} customers, 95% interval {} to {}",
                format::thousands(rows as i64),
                format::score(low),
                format::score(high)
            ))
        }),
        cut_height: metrics.map(|m| format::number(m.cut_height)),
        warnings: metrics.map(|m| m.warnings.clone()).unwrap_or_default(),
        sizes_chart: routes::chart(run, "sizes", theme),
        sizes_alt,
        segments: sizes,
        settings: settings(run),
    }
}

/// One row per segment: its colour, name and size (also the map's legend).
pub fn size_rows(run: &Run) -> Vec<SizeRow> {
    run.profiles
        .iter()
        .map(|p| SizeRow {
            index: p.segment,
            name: p.name.clone(),
            size: format::thousands(p.size as i64),
            share: format::percent(p.share),
            color: segment_color_hex(p.segment),
        })
        .collect()
}

fn settings(run: &Run) -> Vec<(String, String)> {
    let mut rows = vec![
        ("Linkage".to_string(), capitalized(run.method.as_str())),
        ("Distance".to_string(), capitalized(run.metric.as_str())),
    ];
    if let Some(fc) = &run.feature_config {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        rows.push(("Numeric features".into(), list(&fc.numeric_features)));
        rows.push((
            "Categorical features".into(),
            list(&fc.categorical_features),
        ));
        let left_out: Vec<String> = fc
            .identifier_columns
            .iter()
            .chain(&fc.constant_columns)
            .chain(&fc.excluded_columns)
            .cloned()
            .collect();
        rows.push(("Left out".into(), list(&left_out)));
        rows.push((
            "PCA".into(),
            if fc.pca_applied {
                let kept: f64 = fc.explained_variance_ratio.iter().sum();
                format!(
                    "{} components keeping {} of the variance",
                    fc.pca_components
                        .unwrap_or(fc.explained_variance_ratio.len()),
                    format::percent(kept)
                )
            } else {
                "not used".into()
            },
        ));
        if !fc.imputed.is_empty() {
            rows.push((
                "Missing values filled".into(),
                fc.imputed.len().to_string() + " column(s)",
            ));
        }
    }
    if let (Some(start), Some(end)) = (run.started_at, run.finished_at) {
        let seconds = (end - start).num_milliseconds() as f64 / 1000.0;
        rows.push(("Took".into(), format!("{seconds:.1} s")));
    }
    rows
}
