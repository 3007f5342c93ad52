//! `runProgress`: live progress of a run.
//!
//! Contract: the current state first, then every stage change and at least every 5% of
//! progress, ending after the final status (SUCCEEDED, FAILED or CANCELLED). A subscriber that
//! falls behind, or hears nothing for a while, re-reads the run from the database, so it never
//! misses the end. (diesel's `RunQueryDsl` is kept out of this module: it also defines
//! `execute`.)

use std::time::Duration;

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::ids;
use super::runs::RunStatusGql;
use crate::db::notify::ProgressEvent;
use crate::error::AppError;
use crate::jobs::progress::event_of;
use crate::service;
use crate::service::runs::RunStatus;

/// Without news for this long, the subscription re-reads the run.
const RECHECK: Duration = Duration::from_secs(5);

/// A progress report.
#[derive(SimpleObject, Clone)]
pub struct RunProgress {
    run_id: ID,
    status: RunStatusGql,
    /// Engine stage while running (parsing, preprocessing, pca, linkage, ...).
    stage: Option<String>,
    /// Overall progress, 0 to 1.
    fraction: f64,
    /// What is happening, in words.
    message: String,
}

impl RunProgress {
    fn from_event(e: &ProgressEvent) -> Option<RunProgress> {
        let status = RunStatus::parse(&e.status).ok()?;
        Some(RunProgress {
            run_id: ids::to_id(e.run_id),
            status: status.into(),
            stage: e.stage.clone(),
            fraction: e.fraction,
            message: e.message.clone(),
        })
    }
}

pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// Progress of one run until it ends.
    async fn run_progress(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = RunProgress> + use<>> {
        let state = ids::state(ctx)?.clone();
        let id = ids::parse(&run_id, "run")?;
        // Subscribe before reading the state, so nothing between the two is lost.
        let mut events = state.hub.subscribe();
        let current = service::runs::get(&state, id).await?;
        Ok(async_stream::stream! {
            let mut last = event_of(&current);
            let mut done = current.status.is_final();
            if let Some(p) = RunProgress::from_event(&last) { yield p; }
            while !done {
                let next = tokio::select! {
                    _ = state.shutdown.cancelled() => break,
                    received = tokio::time::timeout(RECHECK, events.recv()) => received,
                };
                let event = match next {
                    Ok(Ok(event)) if event.run_id == id => event,
                    Ok(Ok(_)) => continue,
                    Ok(Err(RecvError::Closed)) => break,
                    // Lagged, or quiet for a while: the database has the truth.
                    Ok(Err(RecvError::Lagged(_))) | Err(_) => match service::runs::get(&state, id).await {
                        Ok(run) => event_of(&run),
                        Err(AppError::NotFound(_)) => break,
                        Err(_) => continue,
                    },
                };
                if event == last { continue; }
                done = RunStatus::parse(&event.status).map(RunStatus::is_final).unwrap_or(false);
                if let Some(p) = RunProgress::from_event(&event) { yield p; }
                last = event;
            }
        })
    }
}
