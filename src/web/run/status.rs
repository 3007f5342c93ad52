//! A run without results to show: live progress while it is queued or running (the progress
//! fragment is also what the event stream sends), and the reason once it failed or was
//! cancelled.

use askama::Template;

use crate::db::notify::ProgressEvent;
use crate::engine::Stage;
use crate::service::progress::event_of;
use crate::service::runs::{Run, RunStatus};
use crate::web::render::page;

use super::head::RunHead;

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

#[derive(Template)]
#[template(path = "pages/run_status.html", blocks = ["title", "content"])]
pub struct RunStatusPage {
    run: RunHead,
    progress: Option<ProgressView>,
    error: Option<String>,
}
page!(RunStatusPage);

/// A run whose stored results cannot be read is shown like a failed one, saying why.
pub fn page(head: RunHead, run: &Run) -> RunStatusPage {
    RunStatusPage {
        run: head,
        progress: (!run.status.is_final()).then(|| ProgressView::new(&event_of(run))),
        error: run.damage.clone().or_else(|| run.error.clone()),
    }
}
