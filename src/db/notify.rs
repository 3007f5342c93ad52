//! LISTEN/NOTIFY: how server processes sharing one database tell each other about runs, both
//! ends in one place.
//!
//! - [`RUNS_CHANNEL`]: a run was queued or a cancel was asked; workers wake up.
//! - [`PROGRESS_CHANNEL`]: a run's progress changed; payload is a JSON [`ProgressEvent`].
//!
//! Workers never send to a [`ProgressHub`] directly: they `NOTIFY`, and the [`listen`]er of
//! every process (the sender's included) re-broadcasts to its hub. One path means a subscriber
//! sees the same events whether the run is worked here or on another replica.

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;

use super::runs::RunStatus;
use crate::engine::Stage;

pub const RUNS_CHANNEL: &str = "segmentiq_runs";
pub const PROGRESS_CHANNEL: &str = "segmentiq_progress";

/// One progress report of a run, as sent to subscribers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    pub run_id: i64,
    pub status: RunStatus,
    /// The stage being worked (running runs only).
    pub stage: Option<Stage>,
    /// Overall progress of the run, 0..=1.
    pub fraction: f64,
    pub message: String,
}

/// What a hub passes on.
#[derive(Clone, Debug, PartialEq)]
pub enum Heard {
    Progress(ProgressEvent),
    /// A progress notification this version cannot read (a newer version sent a status or stage
    /// this one does not know). It is logged when heard; followers of the run re-read it from
    /// the database, which reports a row it cannot read as `INTERNAL`.
    Unreadable {
        run_id: Option<i64>,
    },
}

impl Heard {
    /// Reads a `PROGRESS_CHANNEL` payload.
    pub fn read(payload: &str) -> Heard {
        #[derive(Deserialize)]
        struct RunOnly {
            run_id: i64,
        }
        match serde_json::from_str::<ProgressEvent>(payload) {
            Ok(event) => Heard::Progress(event),
            Err(e) => {
                let run_id = serde_json::from_str::<RunOnly>(payload)
                    .ok()
                    .map(|r| r.run_id);
                tracing::error!(error = %e, ?run_id, payload, "unreadable progress notification");
                Heard::Unreadable { run_id }
            }
        }
    }
}

/// Events buffered per subscriber; a slower subscriber gets `Lagged` and re-reads the database.
const CAPACITY: usize = 1024;

/// This process's broadcast of everything [`listen`] hears.
#[derive(Clone)]
pub struct ProgressHub {
    tx: broadcast::Sender<Heard>,
}

impl Default for ProgressHub {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressHub {
    pub fn new() -> ProgressHub {
        ProgressHub {
            tx: broadcast::channel(CAPACITY).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Heard> {
        self.tx.subscribe()
    }

    fn send(&self, heard: Heard) {
        // No subscribers is fine.
        let _ = self.tx.send(heard);
    }
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

/// Listens on both channels until `shutdown`, reconnecting after failures: progress goes to
/// `hub`, queued runs wake `worker`.
pub async fn listen(
    database_url: String,
    hub: ProgressHub,
    worker: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            result = listen_once(&database_url, &hub, &worker) => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "run listener lost its connection; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
        // Runs may have been queued while disconnected: let the worker re-check the queue.
        worker.notify_one();
    }
}

async fn listen_once(database_url: &str, hub: &ProgressHub, worker: &Notify) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    for channel in [RUNS_CHANNEL, PROGRESS_CHANNEL] {
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut conn)
            .await?;
    }
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        match notification.channel.as_str() {
            RUNS_CHANNEL => worker.notify_one(),
            PROGRESS_CHANNEL => hub.send(Heard::read(&notification.payload)),
            _ => {}
        }
    }
    anyhow::bail!("notification stream ended")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_unknown_names_are_unreadable() {
        let event = ProgressEvent {
            run_id: 7,
            status: RunStatus::Running,
            stage: Some(Stage::KSweep),
            fraction: 0.5,
            message: "Comparing other segment counts".into(),
        };
        let payload = serde_json::to_string(&event).unwrap();
        assert!(payload.contains(r#""status":"running""#), "{payload}");
        assert!(payload.contains(r#""stage":"k_sweep""#), "{payload}");
        assert_eq!(Heard::read(&payload), Heard::Progress(event));
        let newer = payload.replace("k_sweep", "annealing");
        assert_eq!(Heard::read(&newer), Heard::Unreadable { run_id: Some(7) });
        assert_eq!(Heard::read("not json"), Heard::Unreadable { run_id: None });
    }
}
