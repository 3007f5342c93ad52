//! The printable report of a run: its overview, segments and charts on one light page laid out
//! for paper, so "Print -> Save as PDF" gives a document to bring to a meeting. It is built from
//! the same views as the tabs (the figures, cards and sweep read exactly as they do there); only
//! the charts differ, drawn on white paper.

use askama::Template;

use crate::engine::render::Theme;
use crate::service::datasets::Dataset;
use crate::service::runs::{Run, RunStatus};
use crate::web::format;
use crate::web::routes;

use super::head::RunHead;
use super::overview::{OverviewView, overview};
use super::quality::{SweepView, sweep};
use super::segments::{SegmentCard, segment_cards};

/// What a succeeded run's report shows.
pub struct Report {
    pub o: OverviewView,
    pub segments: Vec<SegmentCard>,
    pub sweep: Option<SweepView>,
    pub dendrogram_url: String,
    pub map_url: String,
    pub silhouette_url: String,
    pub k_sweep_url: String,
}

#[derive(Template)]
#[template(path = "pages/run_report.html")]
pub struct ReportPage {
    run: RunHead,
    /// When the run finished (when it started, for a run that has not).
    date: String,
    /// `None` for a run without results: the page says why instead.
    report: Option<Report>,
    /// Why there is no report (empty when there is one).
    unavailable: String,
}

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> ReportPage {
    let date = format::date(&run.finished_at.unwrap_or(run.created_at));
    let (report, unavailable) = if head.succeeded {
        (Some(report(run, dataset)), String::new())
    } else {
        (None, unavailable(run))
    };
    ReportPage {
        run: head,
        date,
        report,
        unavailable,
    }
}

fn report(run: &Run, dataset: &Dataset) -> Report {
    Report {
        o: overview(run, dataset, Theme::Light),
        segments: segment_cards(run, dataset),
        sweep: sweep(run, dataset),
        dendrogram_url: routes::chart(run, "dendrogram", Theme::Light).wide,
        map_url: routes::chart(run, "map", Theme::Light).wide,
        silhouette_url: routes::chart(run, "silhouette", Theme::Light).wide,
        k_sweep_url: routes::chart(run, "k-sweep", Theme::Light).wide,
    }
}

/// Why a run has no report yet, or will never have one.
fn unavailable(run: &Run) -> String {
    let id = run.id;
    match run.status {
        RunStatus::Queued | RunStatus::Running => format!(
            "Run {id} is still {}. Its report appears here once it has succeeded.",
            run.status
        ),
        RunStatus::Failed => format!("Run {id} failed, so it has no results to report."),
        RunStatus::Cancelled => format!("Run {id} was cancelled, so it has no results to report."),
        RunStatus::Succeeded => {
            format!("The results of run {id} cannot be read, so there is nothing to report.")
        }
    }
}
