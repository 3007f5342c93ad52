//! `runProgress`: live progress of a run.
//!
//! Contract (see `service::progress::follow`): the current state first, then every stage change
//! and at least every 5% of progress, ending after the final status (SUCCEEDED, FAILED or
//! CANCELLED). A subscriber that falls behind re-reads the run from the database; a run deleted
//! meanwhile ends the subscription with a `NOT_FOUND` error, and a stored run this version
//! cannot read with an `INTERNAL` one. (diesel's
//! `RunQueryDsl` is kept out of this module: it also defines `execute`.)

use async_graphql::{Context, ID, SimpleObject, Subscription};
use futures::{Stream, StreamExt};

use super::ids;
use super::runs::RunStatusGql;
use crate::db::notify::ProgressEvent;
use crate::service;

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

impl From<ProgressEvent> for RunProgress {
    fn from(e: ProgressEvent) -> RunProgress {
        RunProgress {
            run_id: ids::to_id(e.run_id),
            status: e.status.into(),
            stage: e.stage.map(|s| s.as_str().to_string()),
            fraction: e.fraction,
            message: e.message,
        }
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
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<RunProgress>> + use<>> {
        let state = ids::state(ctx)?;
        let id = ids::parse(&run_id, "run")?;
        let events = service::progress::follow(state, id).await?;
        Ok(events.map(|e| e.map(RunProgress::from).map_err(Into::into)))
    }
}
