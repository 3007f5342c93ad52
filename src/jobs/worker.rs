//! The queue worker: claims queued runs (`FOR UPDATE SKIP LOCKED`) up to this process's
//! concurrency limit, and re-queues runs whose process died.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::app::AppState;
use crate::db;

/// How often a running run's heartbeat is refreshed.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A running run whose heartbeat is older than this belonged to a process that died.
pub const STALE_AFTER: Duration = Duration::from_secs(15);
/// The queue is polled this often even without a NOTIFY, in case one was missed.
const POLL: Duration = Duration::from_secs(5);

/// Runs until shutdown; then waits for running jobs to re-queue themselves.
pub async fn run(state: AppState) {
    let permits = Arc::new(Semaphore::new(state.config.max_concurrent_runs));
    let mut jobs = JoinSet::new();
    let mut last_sweep = None;
    loop {
        if last_sweep.is_none_or(|t: tokio::time::Instant| t.elapsed() >= STALE_AFTER) {
            sweep_stale(&state).await;
            last_sweep = Some(tokio::time::Instant::now());
        }
        while let Ok(permit) = permits.clone().try_acquire_owned() {
            match claim(&state).await {
                Some(run_id) => {
                    let state = state.clone();
                    jobs.spawn(async move {
                        super::cluster::execute(state, run_id).await;
                        drop(permit);
                    });
                }
                None => break,
            }
        }
        while jobs.try_join_next().is_some() {}
        tokio::select! {
            _ = state.shutdown.cancelled() => break,
            _ = state.wake_worker.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            Some(_) = jobs.join_next(), if !jobs.is_empty() => {}
        }
    }
    // Jobs see the shutdown token, stop their engine and re-queue their runs.
    while jobs.join_next().await.is_some() {}
}

async fn claim(state: &AppState) -> Option<i64> {
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::warn!(error = %e, "worker cannot reach the database");
            return None;
        }
    };
    match db::runs::claim_next(&mut conn, &state.config.worker_id).await {
        Ok(claimed) => claimed,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim a run");
            None
        }
    }
}

/// Re-queues runs whose heartbeat went stale (their process died) and ends stale runs that were
/// being cancelled.
async fn sweep_stale(state: &AppState) {
    let Ok(mut conn) = state.pool.get().await else {
        return;
    };
    let secs = STALE_AFTER.as_secs_f64();
    match db::runs::requeue_stale(&mut conn, secs).await {
        Ok(ids) if !ids.is_empty() => {
            tracing::warn!(runs = ?ids, "re-queued runs whose worker stopped responding");
            let _ = db::notify::wake_workers(&mut conn).await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not re-queue stale runs"),
    }
    if let Err(e) = db::runs::cancel_stale(&mut conn, secs).await {
        tracing::warn!(error = %e, "could not end stale cancelled runs");
    }
}
