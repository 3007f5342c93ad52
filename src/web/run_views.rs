//! What a run's pages show: the view types the templates read, built from the service's run,
//! dataset and assignment types (the templates never see database rows or engine internals).

use askama::Template;

use crate::db::notify::ProgressEvent;
use crate::engine::Stage;
use crate::engine::profile::feature_words;
use crate::engine::render::segment_color_hex;
use crate::service::datasets::Dataset;
use crate::service::runs::{Run, RunStatus};
use crate::service::{Page, assignments};
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;
use crate::web::run_form::{RunForm, kind_field};

/// Customers per page of the customers tab.
pub const CUSTOMERS_PAGE: usize = 50;

// ---- The dataset page's run list ------------------------------------------------------------

pub struct RunRow {
    pub id: i64,
    pub url: String,
    pub method: &'static str,
    pub segments: String,
    pub status: RunStatus,
    pub percent: Option<u32>,
    pub silhouette: String,
    pub created: String,
    pub created_iso: String,
}

/// The runs of one dataset; `live` while any has not finished, so the table polls itself.
pub struct RunsTable {
    pub rows: Vec<RunRow>,
    pub total: i64,
    pub live: bool,
    pub refresh_url: String,
}

impl RunsTable {
    pub fn new(dataset_id: i64, page: &Page<Run>) -> RunsTable {
        let rows: Vec<RunRow> = page
            .items
            .iter()
            .map(|(_, r)| RunRow {
                id: r.id,
                url: routes::run(r.id),
                method: r.method.as_str(),
                segments: r.segment_count().map_or_else(
                    || {
                        r.distance_threshold
                            .map_or("—".into(), |h| format!("cut at {}", format::number(h)))
                    },
                    |k| k.to_string(),
                ),
                status: r.status,
                percent: (r.status == RunStatus::Running)
                    .then(|| (r.progress * 100.0).round() as u32),
                silhouette: r
                    .metrics
                    .as_ref()
                    .and_then(|m| m.silhouette_score)
                    .map_or("—".into(), format::score),
                created: format::date(&r.created_at),
                created_iso: format::iso(&r.created_at),
            })
            .collect();
        RunsTable {
            live: page.items.iter().any(|(_, r)| !r.status.is_final()),
            rows,
            total: page.total_count,
            refresh_url: routes::dataset_runs(dataset_id),
        }
    }
}

#[derive(Template)]
#[template(path = "partials/runs_table.html")]
pub struct RunsPartial {
    pub runs: RunsTable,
}

/// `GET /datasets/{id}/runs`: the run list alone, for the dataset page's refresh.
#[derive(Template)]
#[template(path = "partials/run_form.html")]
pub struct RunFormPartial {
    pub form: RunForm,
}

// ---- The run page's frame -------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Segments,
    Dendrogram,
    Map,
    Quality,
    Customers,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Overview,
        Tab::Segments,
        Tab::Dendrogram,
        Tab::Map,
        Tab::Quality,
        Tab::Customers,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Segments => "segments",
            Tab::Dendrogram => "dendrogram",
            Tab::Map => "map",
            Tab::Quality => "quality",
            Tab::Customers => "customers",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Segments => "Segments",
            Tab::Dendrogram => "Dendrogram",
            Tab::Map => "Map",
            Tab::Quality => "Quality",
            Tab::Customers => "Customers",
        }
    }

    pub fn parse(s: &str) -> Option<Tab> {
        Tab::ALL.into_iter().find(|t| t.slug() == s)
    }
}

pub struct TabLink {
    pub slug: &'static str,
    pub label: &'static str,
    pub url: String,
}

/// What every run page shows above its tabs.
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
    pub tabs: Vec<TabLink>,
    /// Show the cancel, delete and run-again controls (full access only).
    pub can_write: bool,
}

impl RunHead {
    pub fn new(run: &Run, dataset: &Dataset) -> RunHead {
        RunHead {
            id: run.id,
            status: run.status,
            is_final: run.status.is_final(),
            // Results tabs only for runs whose results can be read.
            succeeded: run.status == RunStatus::Succeeded && run.damage.is_none(),
            summary: summary(run),
            dataset_name: dataset.name.clone(),
            dataset_url: routes::dataset(dataset.id),
            url: routes::run(run.id),
            events_url: routes::run_events(run.id),
            cancel_action: routes::run_cancel(run.id),
            delete_action: routes::run_delete(run.id),
            tabs: Tab::ALL
                .into_iter()
                .map(|t| TabLink {
                    slug: t.slug(),
                    label: t.label(),
                    url: routes::run_tab(run.id, t.slug()),
                })
                .collect(),
            can_write: false,
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

// ---- Progress -------------------------------------------------------------------------------

pub struct StageChip {
    pub label: &'static str,
    pub state: &'static str,
}

pub struct ProgressView {
    pub heading: &'static str,
    pub status: RunStatus,
    /// Also update the status badge at the top of the page (for events, not the first render).
    pub oob: bool,
    pub percent: u32,
    pub message: String,
    pub stages: Vec<StageChip>,
}

fn stage_label(stage: Stage) -> &'static str {
    match stage {
        Stage::Parsing => "Read",
        Stage::Preprocessing => "Prepare",
        Stage::Pca => "PCA",
        Stage::Linkage => "Build tree",
        Stage::Cutting => "Cut",
        Stage::Silhouette => "Score",
        Stage::Cophenetic => "Tree fit",
        Stage::KSweep => "Compare counts",
        Stage::Profiling => "Profile",
        Stage::Storing => "Save",
    }
}

impl ProgressView {
    pub fn new(event: &ProgressEvent) -> ProgressView {
        let current = event.stage;
        let done_all = event.status == RunStatus::Succeeded;
        let position = current.and_then(|c| Stage::ALL.iter().position(|s| *s == c));
        ProgressView {
            heading: match event.status {
                RunStatus::Queued => "Waiting to start",
                RunStatus::Running => "Finding segments",
                RunStatus::Succeeded => "Done",
                RunStatus::Failed => "The run failed",
                RunStatus::Cancelled => "Cancelled",
            },
            status: event.status,
            oob: false,
            percent: (event.fraction.clamp(0.0, 1.0) * 100.0).round() as u32,
            message: event.message.clone(),
            stages: Stage::ALL
                .iter()
                .enumerate()
                .map(|(i, s)| StageChip {
                    label: stage_label(*s),
                    state: match position {
                        _ if done_all => "done",
                        Some(p) if i < p => "done",
                        Some(p) if i == p => "current",
                        _ => "todo",
                    },
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "partials/progress.html")]
pub struct ProgressPartial {
    pub p: ProgressView,
}

/// The page of a run that has not succeeded: progress while it runs, the reason when it failed.
#[derive(Template)]
#[template(path = "pages/run_status.html", blocks = ["title", "content"])]
pub struct RunStatusPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub progress: Option<ProgressView>,
    pub error: Option<String>,
}
page!(RunStatusPage);

// ---- Tabs -----------------------------------------------------------------------------------

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
    pub cut_height: Option<String>,
    pub sizes_chart: String,
    pub sizes_alt: String,
    pub segments: Vec<SizeRow>,
    pub settings: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "pages/run_overview.html", blocks = ["title", "content"])]
pub struct OverviewPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub o: OverviewView,
}
page!(OverviewPage);

pub struct NumericRow {
    pub name: String,
    pub value: String,
    pub overall: String,
    pub class: &'static str,
}

pub struct CategoryRow {
    pub name: String,
    pub value: String,
    pub share: String,
}

pub struct SegmentCard {
    pub index: usize,
    pub name: String,
    pub color: String,
    pub size: String,
    pub share: String,
    pub share_width: String,
    pub silhouette: Option<String>,
    pub traits: Vec<String>,
    pub numeric: Vec<NumericRow>,
    pub categorical: Vec<CategoryRow>,
    pub customers_url: String,
}

#[derive(Template)]
#[template(path = "pages/run_segments.html", blocks = ["title", "content"])]
pub struct SegmentsPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub segments: Vec<SegmentCard>,
}
page!(SegmentsPage);

#[derive(Template)]
#[template(path = "pages/run_dendrogram.html", blocks = ["title", "content"])]
pub struct DendrogramPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub svg_url: String,
    pub n_samples: String,
    pub n_clusters: usize,
}
page!(DendrogramPage);

#[derive(Template)]
#[template(path = "pages/run_map.html", blocks = ["title", "content"])]
pub struct MapPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub map_url: String,
    /// The legend with segment names (the chart itself only has room for numbers).
    pub segments: Vec<SizeRow>,
}
page!(MapPage);

pub struct SweepPoint {
    pub k: usize,
    pub silhouette: String,
    pub wss: String,
    pub suggested: bool,
    pub current: bool,
}

pub struct SweepView {
    pub suggested: usize,
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
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub silhouette_url: String,
    pub silhouette: String,
    pub k_sweep_url: String,
    pub sweep: Option<SweepView>,
}
page!(QualityPage);

pub struct SegmentOption {
    pub index: i32,
    pub selected: bool,
    pub name: String,
    pub size: String,
}

pub struct CustomerRow {
    pub row: i32,
    pub segment: i32,
    pub segment_name: String,
    pub color: String,
    pub fit: String,
    pub cells: Vec<String>,
}

pub struct CustomersView {
    pub action: String,
    pub segment: Option<i32>,
    pub segments: Vec<SegmentOption>,
    pub csv_url: String,
    pub total: String,
    pub first_row: String,
    pub last_row: String,
    pub page_size: usize,
    pub headers: Vec<String>,
    pub rows: Vec<CustomerRow>,
    pub first_url: Option<String>,
    pub next_url: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/run_customers.html", blocks = ["title", "content"])]
pub struct CustomersPage {
    pub run: RunHead,
    pub tab: &'static str,
    pub tab_title: String,
    pub c: CustomersView,
}
page!(CustomersPage);

// ---- Views of a succeeded run -----------------------------------------------------------------

pub fn overview(run: &Run, dataset: &Dataset) -> OverviewView {
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
        cut_height: metrics.map(|m| format::number(m.cut_height)),
        warnings: metrics.map(|m| m.warnings.clone()).unwrap_or_default(),
        sizes_chart: routes::chart(run.id, "sizes"),
        sizes_alt,
        segments: sizes,
        settings: settings(run),
    }
}

/// One row per segment: its colour, name and size.
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

pub fn settings(run: &Run) -> Vec<(String, String)> {
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

/// Plain-words reading of a z-score: how far the segment's mean is from everyone's.
fn z_words(z: f64) -> Option<&'static str> {
    match z {
        z if z >= 1.0 => Some("well above average"),
        z if z >= 0.5 => Some("above average"),
        z if z <= -1.0 => Some("well below average"),
        z if z <= -0.5 => Some("below average"),
        _ => None,
    }
}

pub fn segment_cards(run: &Run, dataset: &Dataset) -> Vec<SegmentCard> {
    run.profiles
        .iter()
        .map(|p| {
            let mut traits: Vec<(f64, String)> = p
                .numeric
                .iter()
                .filter_map(|n| {
                    let z = n.z?;
                    z_words(z).map(|w| {
                        (
                            z.abs(),
                            format!("{} {w}", capitalized(&feature_words(&n.feature))),
                        )
                    })
                })
                .collect();
            for c in &p.categorical {
                if let Some(top) = c.levels.first().filter(|l| l.share >= 0.4 && l.lift >= 1.5) {
                    traits.push((
                        top.lift,
                        format!(
                            "Mostly {} ({} {})",
                            top.value,
                            format::percent(top.share),
                            feature_words(&c.feature)
                        ),
                    ));
                }
            }
            traits.sort_by(|a, b| b.0.total_cmp(&a.0));
            SegmentCard {
                index: p.segment,
                name: p.name.clone(),
                color: segment_color_hex(p.segment),
                size: format::thousands(p.size as i64),
                share: format::percent(p.share),
                share_width: format!("{:.1}", (p.share * 100.0).clamp(0.0, 100.0)),
                silhouette: p.silhouette.map(format::score),
                traits: traits.into_iter().take(4).map(|(_, t)| t).collect(),
                numeric: p
                    .numeric
                    .iter()
                    .map(|n| NumericRow {
                        name: n.feature.clone(),
                        // A segment whose members all lack the value says so.
                        value: n.mean.map_or_else(
                            || {
                                format!(
                                    "no values ({} missing)",
                                    format::thousands(n.missing as i64)
                                )
                            },
                            format::number,
                        ),
                        overall: dataset
                            .column(&n.feature)
                            .and_then(|c| c.numeric.as_ref())
                            .map_or("—".into(), |s| format::number(s.mean)),
                        class: match n.z {
                            Some(z) if z >= 0.5 => "delta-up",
                            Some(z) if z <= -0.5 => "delta-down",
                            _ => "",
                        },
                    })
                    .collect(),
                categorical: p
                    .categorical
                    .iter()
                    .filter_map(|c| {
                        c.levels.first().map(|l| CategoryRow {
                            name: c.feature.clone(),
                            value: l.value.clone(),
                            share: format::percent(l.share),
                        })
                    })
                    .collect(),
                customers_url: routes::run_customers(run.id, Some(p.segment as i32), None),
            }
        })
        .collect()
}

pub fn sweep(run: &Run, dataset: &Dataset) -> Option<SweepView> {
    let sweep = run.k_sweep.as_ref()?;
    let current = run.segment_count().map(|k| k as usize);
    Some(SweepView {
        suggested: sweep.suggested_k,
        rerun: (current != Some(sweep.suggested_k)).then(|| rerun(run, dataset, sweep.suggested_k)),
        points: sweep
            .points
            .iter()
            .map(|p| SweepPoint {
                k: p.k,
                silhouette: format::score(p.silhouette),
                wss: format::number(p.wss),
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

pub fn customers(
    run: &Run,
    dataset: &Dataset,
    segment: Option<i32>,
    paged: bool,
    page: &Page<assignments::Assignment>,
) -> CustomersView {
    let names: std::collections::HashMap<usize, &str> = run
        .profiles
        .iter()
        .map(|p| (p.segment, p.name.as_str()))
        .collect();
    let first_row = page.items.first().map_or(0, |(_, a)| a.row_index as i64);
    let last_row = page.items.last().map_or(0, |(_, a)| a.row_index as i64);
    CustomersView {
        action: routes::run_tab(run.id, Tab::Customers.slug()),
        segment,
        segments: run
            .profiles
            .iter()
            .map(|p| SegmentOption {
                index: p.segment as i32,
                selected: segment == Some(p.segment as i32),
                name: p.name.clone(),
                size: format::thousands(p.size as i64),
            })
            .collect(),
        csv_url: routes::customers_csv(run.id, segment),
        total: format::thousands(page.total_count),
        first_row: format::thousands(first_row),
        last_row: format::thousands(last_row),
        page_size: CUSTOMERS_PAGE,
        headers: dataset.columns.iter().map(|c| c.name.clone()).collect(),
        rows: page
            .items
            .iter()
            .map(|(_, a)| {
                let index = a.cluster.max(0) as usize;
                CustomerRow {
                    row: a.row_index,
                    segment: a.cluster,
                    segment_name: names
                        .get(&index)
                        .map_or_else(String::new, |n| n.to_string()),
                    color: segment_color_hex(index),
                    fit: a.silhouette.map_or("—".into(), format::score),
                    cells: dataset
                        .columns
                        .iter()
                        .map(|c| format::cell(a.payload.get(&c.name)))
                        .collect(),
                }
            })
            .collect(),
        first_url: paged.then(|| routes::run_customers(run.id, segment, None)),
        next_url: page
            .has_next_page
            .then(|| page.end_cursor())
            .flatten()
            .map(|c| routes::run_customers(run.id, segment, Some(&c))),
    }
}
