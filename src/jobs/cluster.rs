//! One clustering run: load the dataset, run the engine on a blocking thread with a heartbeat and
//! progress alongside, then store results and assignments in one transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::app::AppState;
use crate::db;
use crate::db::DbPool;
use crate::db::notify::ProgressEvent;
use crate::db::runs::RunStatus;
use crate::db::stored::Documents;
use crate::engine::pipeline::{self, Outcome, Params};
use crate::engine::spec::Vocabulary;
use crate::engine::{Cancelled, Stage, ingest};
use crate::error::{AppError, AppResult};
use crate::service;
use crate::service::runs::{self, Run};

use super::progress::{self, Throttle};
use super::worker::HEARTBEAT;

/// Why the engine was stopped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    Cancelled,
    Shutdown,
    Lost,
}

/// Runs a claimed run to its end. Never panics on user data: every failure becomes the run's
/// status and error message.
pub async fn execute(state: AppState, run_id: i64) {
    use tracing::Instrument;
    execute_claimed(state, run_id)
        .instrument(tracing::info_span!("run", run = run_id))
        .await
}

async fn execute_claimed(state: AppState, run_id: i64) {
    let worker = state.config.worker_id.clone();
    let outcome = run_engine(&state, run_id).await;
    let (pool, worker) = (&state.pool, worker.as_str());
    let result = match outcome {
        Ok((outcome, documents)) => {
            let storing = progress::overall(Stage::Storing, 0.0);
            report_progress(&state, run_id, Stage::Storing, storing).await;
            let results = results_of(outcome, documents);
            store_results(&state.config.database_url, pool, run_id, worker, &results)
                .await
                .map(|_| ())
        }
        Err(Failure::Stopped(Stop::Shutdown)) => {
            retrying("put the run back in the queue", || async move {
                let mut conn = pool.get().await?;
                Ok(db::runs::requeue(&mut conn, run_id, worker).await?)
            })
            .await
            .map(|_| ())
        }
        Err(Failure::Stopped(Stop::Lost)) => Ok(()),
        Err(Failure::Stopped(Stop::Cancelled)) => {
            end_unsuccessfully(pool, run_id, worker, RunStatus::Cancelled, None).await
        }
        Err(Failure::Error(message)) => {
            tracing::info!(%message, "run failed");
            end_unsuccessfully(pool, run_id, worker, RunStatus::Failed, Some(&message)).await
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "could not record the end of the run; it will be re-queued when stale");
    }
    let Ok(mut conn) = pool.get().await else {
        tracing::error!("database unreachable when finishing run; its end is not announced");
        return;
    };
    if let Ok(Some(row)) = db::runs::find(&mut conn, run_id).await {
        if let Ok(run) = Run::from_row(row) {
            service::progress::publish_state(&mut conn, &run).await;
            tracing::info!(status = run.status.as_str(), "run ended");
        }
    }
}

/// Records a failed or cancelled end, retrying like the store of a successful one.
async fn end_unsuccessfully(
    pool: &DbPool,
    run_id: i64,
    worker: &str,
    final_status: RunStatus,
    error: Option<&str>,
) -> AppResult<()> {
    retrying("record the end of the run", || async move {
        let mut conn = pool.get().await?;
        Ok(db::runs::finish_unsuccessfully(&mut conn, run_id, worker, final_status, error).await?)
    })
    .await
    .map(|_| ())
}

/// How often the end of a run is tried before it is given up (the run is then re-queued once
/// its heartbeat is stale, and computed again), and the wait before the first retry, doubled
/// each time: 0.5 + 1 + 2 + 4 s, enough for a restarted PostgreSQL or a replaced connection.
pub const END_TRIES: u32 = 5;
pub const FIRST_RETRY_WAIT: Duration = Duration::from_millis(500);

/// Runs `attempt` until it succeeds, fails for a reason other than the database being
/// unavailable, or [`END_TRIES`] attempts have failed; each attempt gets a fresh connection
/// from the pool. Returns the value and the number of attempts made.
async fn retrying<T, F, Fut>(what: &str, mut attempt: F) -> AppResult<(T, u32)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let mut wait = FIRST_RETRY_WAIT;
    for tries in 1.. {
        match attempt().await {
            Ok(value) => {
                if tries > 1 {
                    tracing::info!(tries, "managed to {what}");
                }
                return Ok((value, tries));
            }
            Err(AppError::Unavailable(e)) if tries < END_TRIES => {
                tracing::warn!(
                    error = %e,
                    attempt = tries,
                    of = END_TRIES,
                    retry_in_seconds = wait.as_secs_f64(),
                    "could not {what}: the database connection was lost; retrying"
                );
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns by its last attempt")
}

/// What [`store_results`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// False when the run was no longer this worker's (cancelled, deleted, or taken over after
    /// its heartbeat went stale): nothing was written.
    pub stored: bool,
    /// Attempts it took; more than one when connections were lost on the way.
    pub attempts: u32,
}

/// Stores a finished run's results and assignments in one transaction, keeping them in memory
/// across retries: a connection lost while storing costs a few seconds, not a recomputation
/// (which a re-queued run would need). Afterwards the assignments' statistics are refreshed.
pub async fn store_results(
    database_url: &str,
    pool: &DbPool,
    run_id: i64,
    worker: &str,
    results: &db::runs::RunResults,
) -> AppResult<Stored> {
    let rows = results.labels.len();
    let started = std::time::Instant::now();
    let (stored, attempts) = retrying("store the run's results", || async move {
        let stored = db::runs::complete(database_url, run_id, worker, results).await?;
        if stored {
            db::analyze(&mut *pool.get().await?, "cluster_assignments").await;
        }
        Ok(stored)
    })
    .await?;
    if stored {
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            rows,
            seconds,
            attempts,
            rows_per_second = (rows as f64 / seconds.max(1e-9)).round(),
            "stored results and assignments"
        );
    } else {
        tracing::info!("run was cancelled or deleted while finishing; results dropped");
    }
    Ok(Stored { stored, attempts })
}

enum Failure {
    Stopped(Stop),
    Error(String),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Error(format!("database error: {e}"))
    }
}

/// The engine's outcome and the documents it will be stored as.
async fn run_engine(state: &AppState, run_id: i64) -> Result<(Outcome, Documents), Failure> {
    let mut conn = state
        .pool
        .get()
        .await
        .map_err(|e| Failure::Error(format!("database unavailable: {e}")))?;
    let row = db::runs::find(&mut conn, run_id)
        .await?
        .ok_or(Failure::Stopped(Stop::Lost))?;
    let run = Run::from_row(row).map_err(|e| Failure::Error(e.to_string()))?;
    let raw = db::datasets::raw_file(&mut conn, run.dataset_id)
        .await?
        .ok_or(Failure::Stopped(Stop::Lost))?;
    drop(conn);
    let params = Params {
        max_exact_rows: state.config.max_exact_rows,
        ..params_of(&run).map_err(Failure::Error)?
    };

    let stop = Arc::new(StopFlag::default());
    let (tx, rx) = mpsc::unbounded_channel();
    let heartbeat = tokio::spawn(keep_alive(state.clone(), run_id, stop.clone()));
    let forwarder = tokio::spawn(forward_progress(state.clone(), run_id, rx));

    let engine_stop = stop.clone();
    let result = tokio::task::spawn_blocking(move || {
        let throttle = std::sync::Mutex::new(Throttle::default());
        let report = |stage: Stage, fraction: f64| -> Result<(), Cancelled> {
            if engine_stop.is_set() {
                return Err(Cancelled);
            }
            if let Ok(mut t) = throttle.lock() {
                if let Some(overall) = t.admit(stage, fraction) {
                    let _ = tx.send((stage, overall));
                }
            }
            Ok(())
        };
        report(Stage::Parsing, 0.0)?;
        let table = ingest::read_csv(&raw).map_err(|e| EngineFailure::Message(e.to_string()))?;
        pipeline::run(&table, &params, &report).map_err(EngineFailure::from)
    })
    .await;
    heartbeat.abort();
    // The forwarder ends once the engine dropped its sender; let it flush.
    let _ = forwarder.await;
    match result {
        Ok(Ok(outcome)) => match stop.reason() {
            Some(reason) => Err(Failure::Stopped(reason)),
            None => runs::check_readable(&outcome)
                .map(|documents| (outcome, documents))
                .map_err(Failure::Error),
        },
        Ok(Err(EngineFailure::Cancelled)) => {
            Err(Failure::Stopped(stop.reason().unwrap_or(Stop::Cancelled)))
        }
        Ok(Err(EngineFailure::Message(m))) => Err(Failure::Error(m)),
        Err(join) => {
            tracing::error!(error = %join, "engine panicked");
            Err(Failure::Error(
                "the clustering engine stopped unexpectedly; this is a bug".into(),
            ))
        }
    }
}

enum EngineFailure {
    Cancelled,
    Message(String),
}

impl From<Cancelled> for EngineFailure {
    fn from(_: Cancelled) -> Self {
        EngineFailure::Cancelled
    }
}

impl From<pipeline::EngineError> for EngineFailure {
    fn from(e: pipeline::EngineError) -> Self {
        match e {
            pipeline::EngineError::Cancelled => EngineFailure::Cancelled,
            pipeline::EngineError::Spec(rule) => {
                EngineFailure::Message(rule.message(RUN_VOCABULARY))
            }
            other => EngineFailure::Message(other.to_string()),
        }
    }
}

/// Why the engine should stop, set by the heartbeat task and read by the engine's progress
/// callback.
#[derive(Default)]
struct StopFlag {
    set: AtomicBool,
    reason: std::sync::Mutex<Option<Stop>>,
}

impl StopFlag {
    fn stop(&self, reason: Stop) {
        if let Ok(mut r) = self.reason.lock() {
            r.get_or_insert(reason);
        }
        self.set.store(true, Ordering::Release);
    }

    fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    fn reason(&self) -> Option<Stop> {
        self.reason.lock().ok().and_then(|r| *r)
    }
}

/// Refreshes the heartbeat every second and turns cancel requests, shutdown and a lost run
/// (deleted, or taken over) into a stop.
async fn keep_alive(state: AppState, run_id: i64, stop: Arc<StopFlag>) {
    let mut ticker = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => {
                stop.stop(Stop::Shutdown);
                return;
            }
            _ = ticker.tick() => {}
        }
        let Ok(mut conn) = state.pool.get().await else {
            continue;
        };
        match db::runs::heartbeat(&mut conn, run_id, &state.config.worker_id).await {
            Ok(Some(true)) => stop.stop(Stop::Cancelled),
            Ok(Some(false)) => {}
            Ok(None) => stop.stop(Stop::Lost),
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

/// Stores each admitted progress report and tells every process about it.
async fn forward_progress(
    state: AppState,
    run_id: i64,
    mut rx: mpsc::UnboundedReceiver<(Stage, f64)>,
) {
    while let Some((stage, fraction)) = rx.recv().await {
        report_progress(&state, run_id, stage, fraction).await;
    }
}

/// Stores a run's progress (`fraction` of the whole run) and tells every process about it; a lost
/// connection only costs this report.
async fn report_progress(state: &AppState, run_id: i64, stage: Stage, fraction: f64) {
    let Ok(mut conn) = state.pool.get().await else {
        return;
    };
    if let Err(e) = db::runs::set_progress(&mut conn, run_id, stage, fraction).await {
        tracing::warn!(error = %e, "could not store progress");
    }
    let event = ProgressEvent {
        run_id,
        status: RunStatus::Running,
        stage: Some(stage),
        fraction,
        message: stage.describe().to_string(),
    };
    service::progress::publish(&mut conn, &event).await;
}

/// Builds engine parameters from a stored run, by the same conversion [`service::runs::train`]
/// checked before queueing it. A stored run that no longer converts (it was queued by a
/// version with other rules) fails with the rule's message.
pub fn params_of(run: &Run) -> Result<Params, String> {
    run.settings()
        .params()
        .map_err(|rule| rule.message(RUN_VOCABULARY))
}

/// A run is read in every interface; the form's plain words suit them all better than one
/// API's field names.
const RUN_VOCABULARY: Vocabulary = Vocabulary::Form;

/// What a successful run stores, in the database's encodings.
fn results_of(outcome: Outcome, documents: Documents) -> db::runs::RunResults {
    db::runs::RunResults {
        documents,
        timings: serde_json::to_value(&outcome.timings).unwrap_or_default(),
        linkage_matrix: runs::encode_linkage(&outcome.linkage),
        map_points: runs::encode_points(&outcome.map),
        model: serde_json::to_value(&outcome.model).unwrap_or_default(),
        labels: outcome.labels.iter().map(|&l| l as i32).collect(),
        silhouettes: (0..outcome.labels.len())
            .map(|i| outcome.silhouettes.get(i).copied())
            .collect(),
    }
}
