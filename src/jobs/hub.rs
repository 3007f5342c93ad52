//! The in-process progress hub, fed by the PostgreSQL listener.
//!
//! Workers never send to the hub directly: they `NOTIFY`, and the listener of every process
//! (this one included) re-broadcasts here. One path means a subscriber sees the same events
//! whether the run is processed here or on another replica.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures::StreamExt;
use tokio::sync::broadcast;

use crate::app::AppState;
use crate::db::notify::{PROGRESS_CHANNEL, ProgressEvent, RUNS_CHANNEL};

/// Events buffered per subscriber; a slower subscriber gets `Lagged` and re-reads the database.
const CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct ProgressHub {
    tx: broadcast::Sender<ProgressEvent>,
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

    pub fn subscribe(&self) -> broadcast::Receiver<ProgressEvent> {
        self.tx.subscribe()
    }

    fn send(&self, event: ProgressEvent) {
        // No subscribers is fine.
        let _ = self.tx.send(event);
    }
}

/// Listens on the run channels until shutdown, reconnecting after failures.
pub async fn listen(state: AppState) {
    let mut backoff = Duration::from_millis(200);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            result = listen_once(&state) => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "progress listener lost its connection; reconnecting");
                }
            }
        }
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
        // Events may have been missed while disconnected: let workers re-check the queue.
        state.wake_worker.notify_one();
    }
}

async fn listen_once(state: &AppState) -> anyhow::Result<()> {
    let mut conn = AsyncPgConnection::establish(&state.config.database_url).await?;
    diesel::sql_query(format!("LISTEN {RUNS_CHANNEL}"))
        .execute(&mut conn)
        .await?;
    diesel::sql_query(format!("LISTEN {PROGRESS_CHANNEL}"))
        .execute(&mut conn)
        .await?;
    let mut notifications = std::pin::pin!(conn.notifications_stream());
    while let Some(notification) = notifications.next().await {
        let notification = notification?;
        match notification.channel.as_str() {
            RUNS_CHANNEL => state.wake_worker.notify_one(),
            PROGRESS_CHANNEL => {
                match serde_json::from_str::<ProgressEvent>(&notification.payload) {
                    Ok(event) => state.hub.send(event),
                    Err(e) => {
                        tracing::warn!(error = %e, "ignoring malformed progress notification")
                    }
                }
            }
            _ => {}
        }
    }
    anyhow::bail!("notification stream ended")
}
