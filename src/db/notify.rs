//! LISTEN/NOTIFY channels that connect server processes sharing one database.
//!
//! - [`RUNS_CHANNEL`]: a run was queued or a cancel was asked; workers wake up.
//! - [`PROGRESS_CHANNEL`]: a run's progress changed; payload is a JSON [`ProgressEvent`].
//!   Every process listens and re-broadcasts locally, so a subscriber on any replica sees every
//!   run, whichever process works on it.

use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};

pub const RUNS_CHANNEL: &str = "segmentiq_runs";
pub const PROGRESS_CHANNEL: &str = "segmentiq_progress";

/// One progress report of a run, as sent to subscribers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub run_id: i64,
    /// One of the stored statuses (`queued`, `running`, ...).
    pub status: String,
    pub stage: Option<String>,
    /// Overall progress of the run, 0..=1.
    pub fraction: f64,
    pub message: String,
}

pub async fn wake_workers(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {RUNS_CHANNEL}"))
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn publish(
    conn: &mut AsyncPgConnection,
    event: &ProgressEvent,
) -> diesel::QueryResult<()> {
    let payload = serde_json::to_string(event).unwrap_or_default();
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<Text, _>(PROGRESS_CHANNEL)
        .bind::<Text, _>(payload)
        .execute(conn)
        .await
        .map(|_| ())
}
