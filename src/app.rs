//! Shared state handed to every handler, resolver and the run worker.

use std::sync::Arc;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::DbPool;
use crate::db::notify::ProgressHub;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub config: Arc<Config>,
    /// Progress of every run, from this process and (through NOTIFY) from every other one.
    pub hub: ProgressHub,
    /// Wakes this process's worker when a run is queued.
    pub wake_worker: Arc<Notify>,
    /// Cancelled when the process shuts down: long streams end and running runs are re-queued.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn new(pool: DbPool, config: Config) -> AppState {
        AppState {
            pool,
            config: Arc::new(config),
            hub: ProgressHub::new(),
            wake_worker: Arc::new(Notify::new()),
            shutdown: CancellationToken::new(),
        }
    }

    pub async fn conn(&self) -> crate::error::AppResult<crate::db::DbConn> {
        Ok(self.pool.get().await?)
    }
}
