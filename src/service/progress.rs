//! Following a run's progress: the one stream behind the GraphQL subscription, the web page's
//! server-sent events and the REST API's wait.
//!
//! Contract: the current state first, then every change the hub reports (stage changes and at
//! least every 5%), ending after a final status. A follower that falls behind, or hears nothing
//! for [`RECHECK`], re-reads the run from the database, so it never misses the end even if a
//! notification was lost.

use std::time::Duration;

use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use diesel_async::AsyncPgConnection;

use crate::app::AppState;
use crate::db;
use crate::db::notify::{Heard, ProgressEvent};
use crate::error::{AppError, AppResult};
use crate::service::runs::{self, Run, RunStatus};

/// Without news for this long, a follower re-reads the run.
pub const RECHECK: Duration = Duration::from_secs(5);

/// Progress events of run `id` until it ends (or the server shuts down). Fails at once if the
/// run does not exist; a run deleted while it is followed ends the stream with a `NOT_FOUND`
/// error saying so (a follower must not be left to guess from a silent end), and a stored run
/// this version cannot read with that `INTERNAL` error. A lost database connection only delays
/// the next event.
pub async fn follow(
    state: &AppState,
    id: i64,
) -> AppResult<impl Stream<Item = AppResult<ProgressEvent>> + Send + use<>> {
    // Subscribe before reading the state, so nothing between the two is lost.
    let mut heard = state.hub.subscribe();
    let current = runs::get(state, id).await?;
    let state = state.clone();
    Ok(async_stream::stream! {
        let mut last = event_of(&current);
        let mut done = current.status.is_final();
        yield Ok(last.clone());
        // Re-read when this run has been quiet for RECHECK, however busy other runs are.
        let mut recheck_at = tokio::time::Instant::now() + RECHECK;
        while !done {
            let next = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = tokio::time::timeout_at(recheck_at, heard.recv()) => received,
            };
            let news = match next {
                Ok(Ok(Heard::Progress(event))) if event.run_id == id => Some(event),
                // Unreadable news of this run (or of an unknown one): the database has the truth.
                Ok(Ok(Heard::Unreadable { run_id })) if run_id.is_none_or(|r| r == id) => None,
                Ok(Ok(_)) => continue,
                Ok(Err(RecvError::Closed)) => break,
                // Lagged, or quiet for a while: the database has the truth.
                Ok(Err(RecvError::Lagged(_))) | Err(_) => None,
            };
            recheck_at = tokio::time::Instant::now() + RECHECK;
            let event = match news {
                Some(event) => event,
                None => match runs::get(&state, id).await {
                    Ok(run) => event_of(&run),
                    Err(AppError::NotFound(_)) => {
                        yield Err(AppError::NotFound(format!(
                            "run {id} was deleted while it was followed"
                        )));
                        break;
                    }
                    Err(e @ AppError::Internal(_)) => {
                        yield Err(e);
                        break;
                    }
                    Err(_) => continue,
                },
            };
            // Notifications sent before the first read can arrive after it: never go back.
            if event == last || (event.status == last.status && event.fraction < last.fraction) {
                continue;
            }
            done = is_final(&event);
            yield Ok(event.clone());
            last = event;
        }
    })
}

pub fn is_final(event: &ProgressEvent) -> bool {
    event.status.is_final()
}

/// The event describing a run's current stored state.
pub fn event_of(run: &Run) -> ProgressEvent {
    let message = match run.status {
        RunStatus::Queued => "Waiting for a worker".to_string(),
        RunStatus::Running => run.stage.map_or("Starting", |s| s.describe()).to_string(),
        RunStatus::Succeeded => "Done".to_string(),
        RunStatus::Failed => run.error.clone().unwrap_or_else(|| "Failed".to_string()),
        RunStatus::Cancelled => "Cancelled".to_string(),
    };
    ProgressEvent {
        run_id: run.id,
        status: run.status,
        stage: run.stage,
        fraction: if run.status == RunStatus::Succeeded {
            1.0
        } else {
            run.progress
        },
        message,
    }
}

/// Tells every process about a run's stored state. Failure to notify is logged, not fatal:
/// followers also re-read the database.
pub async fn publish_state(conn: &mut AsyncPgConnection, run: &Run) {
    publish(conn, &event_of(run)).await;
}

/// Tells every process about one progress event (see [`publish_state`]).
pub async fn publish(conn: &mut AsyncPgConnection, event: &ProgressEvent) {
    if let Err(e) = db::notify::publish(conn, event).await {
        tracing::warn!(run = event.run_id, error = %e, "could not publish progress");
    }
}
