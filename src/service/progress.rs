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

use crate::app::AppState;
use crate::db::notify::ProgressEvent;
use crate::error::{AppError, AppResult};
use crate::jobs::progress::event_of;
use crate::service::runs::{self, RunStatus};

/// Without news for this long, a follower re-reads the run.
pub const RECHECK: Duration = Duration::from_secs(5);

/// Progress events of run `id` until it ends (or the server shuts down, or the run is
/// deleted). Fails at once if the run does not exist.
pub async fn follow(
    state: &AppState,
    id: i64,
) -> AppResult<impl Stream<Item = ProgressEvent> + Send + use<>> {
    // Subscribe before reading the state, so nothing between the two is lost.
    let mut events = state.hub.subscribe();
    let current = runs::get(state, id).await?;
    let state = state.clone();
    Ok(async_stream::stream! {
        let mut last = event_of(&current);
        let mut done = current.status.is_final();
        yield last.clone();
        // Re-read when this run has been quiet for RECHECK, however busy other runs are.
        let mut recheck_at = tokio::time::Instant::now() + RECHECK;
        while !done {
            let next = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                received = tokio::time::timeout_at(recheck_at, events.recv()) => received,
            };
            recheck_at = match next {
                Ok(Ok(ref event)) if event.run_id != id => recheck_at,
                _ => tokio::time::Instant::now() + RECHECK,
            };
            let event = match next {
                Ok(Ok(event)) if event.run_id == id => event,
                Ok(Ok(_)) => continue,
                Ok(Err(RecvError::Closed)) => break,
                // Lagged, or quiet for a while: the database has the truth.
                Ok(Err(RecvError::Lagged(_))) | Err(_) => match runs::get(&state, id).await {
                    Ok(run) => event_of(&run),
                    Err(AppError::NotFound(_)) => break,
                    Err(_) => continue,
                },
            };
            // Notifications sent before the first read can arrive after it: never go back.
            if event == last || (event.status == last.status && event.fraction < last.fraction) {
                continue;
            }
            done = is_final(&event);
            yield event.clone();
            last = event;
        }
    })
}

pub fn is_final(event: &ProgressEvent) -> bool {
    RunStatus::parse(&event.status).is_ok_and(RunStatus::is_final)
}
