//! `GET /runs/{id}/events`: a run's progress as server-sent events, for the progress bar.
//!
//! Contract: the first event is the run's current state read from the database; then every
//! change the hub reports (from whichever server process works on the run); the stream ends
//! after a final status with a `done` event, which the page uses to load the results. A client
//! that falls behind the hub re-reads the database instead of seeing stale events, and the state
//! is re-read every few seconds anyway, so a lost notification cannot leave a bar frozen.

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::db::notify::ProgressEvent;
use crate::jobs::progress::event_of;
use crate::service::runs::{self as svc, RunStatus};
use crate::web::parse_id;
use crate::web::run_views::{ProgressPartial, ProgressView};

/// How often the stream re-reads the run when nothing was heard.
const RECHECK: Duration = Duration::from_secs(5);

pub async fn run_events(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    // Subscribe before reading the current state so that no change falls in between.
    let receiver = state.hub.subscribe();
    let run = match parse_id("run", &id) {
        Ok(id) => svc::get(&state, id).await,
        Err(e) => Err(e),
    };
    match run {
        Ok(run) => {
            let first = event_of(&run);
            Sse::new(progress_stream(state, run.id, run.use_pca, first, receiver))
                .keep_alive(KeepAlive::default())
                .into_response()
        }
        Err(e) => (e.status(), e.to_string()).into_response(),
    }
}

fn is_final(event: &ProgressEvent) -> bool {
    RunStatus::parse(&event.status).is_ok_and(RunStatus::is_final)
}

fn progress_stream(
    state: AppState,
    run_id: i64,
    use_pca: bool,
    first: ProgressEvent,
    mut receiver: tokio::sync::broadcast::Receiver<ProgressEvent>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream::stream! {
        let mut current = first;
        loop {
            yield Ok(progress_event(&current, use_pca));
            if is_final(&current) {
                // Any data will do: browsers drop events whose data is empty.
                yield Ok(Event::default().event("done").data(current.status.clone()));
                break;
            }
            let next = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = tokio::time::sleep(RECHECK) => reread(&state, run_id).await,
                received = next_for(&mut receiver, run_id) => match received {
                    Ok(event) => Reread::State(event),
                    Err(RecvError::Lagged(_)) => reread(&state, run_id).await,
                    Err(RecvError::Closed) => break,
                },
            };
            match next {
                Reread::State(event) => current = event,
                Reread::Unknown => continue,
                // The run was deleted: end, and let the page reload show why.
                Reread::Gone => {
                    yield Ok(Event::default().event("done").data("gone"));
                    break;
                }
            }
        }
    }
}

/// The next hub event about this run.
async fn next_for(
    receiver: &mut tokio::sync::broadcast::Receiver<ProgressEvent>,
    run_id: i64,
) -> Result<ProgressEvent, RecvError> {
    loop {
        let event = receiver.recv().await?;
        if event.run_id == run_id {
            return Ok(event);
        }
    }
}

/// What re-reading the run found.
enum Reread {
    State(ProgressEvent),
    /// The run was deleted.
    Gone,
    /// The database did not answer; keep the last state and try again at the next tick.
    Unknown,
}

async fn reread(state: &AppState, run_id: i64) -> Reread {
    match svc::get(state, run_id).await {
        Ok(run) => Reread::State(event_of(&run)),
        Err(crate::error::AppError::NotFound(_)) => Reread::Gone,
        Err(e) => {
            tracing::warn!(run = run_id, error = %e, "progress stream could not re-read the run");
            Reread::Unknown
        }
    }
}

/// The progress bar as an HTML fragment; htmx swaps it into the page.
fn progress_event(event: &ProgressEvent, use_pca: bool) -> Event {
    let mut view = ProgressView::new(event, use_pca);
    view.oob = true;
    let html = ProgressPartial { p: view }.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "progress fragment failed to render");
        String::new()
    });
    // SSE data lines cannot carry a carriage return; newlines are split into data lines.
    Event::default()
        .event("progress")
        .data(html.replace('\r', ""))
}
