//! Shared state handed to every handler, resolver and the run worker.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
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
    /// The connections one request may hold at once ([`AppState::for_one_request`]); `None`
    /// outside a request that needs a share.
    share: Option<Arc<Semaphore>>,
}

impl AppState {
    pub fn new(pool: DbPool, config: Config) -> AppState {
        AppState {
            pool,
            config: Arc::new(config),
            hub: ProgressHub::new(),
            wake_worker: Arc::new(Notify::new()),
            shutdown: CancellationToken::new(),
            share: None,
        }
    }

    /// The state for one request that may resolve many things at once (a GraphQL query of
    /// 4,000 aliased `run` fields resolves them all concurrently): it holds at most
    /// `connections` of the pool at a time, so it waits for itself instead of starving every
    /// other client and the run worker.
    pub fn for_one_request(&self, connections: usize) -> AppState {
        AppState {
            share: Some(Arc::new(Semaphore::new(connections.max(1)))),
            ..self.clone()
        }
    }

    pub async fn conn(&self) -> crate::error::AppResult<Conn> {
        let permit = match &self.share {
            Some(share) => Some(
                share
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("a request's share is never closed"),
            ),
            None => None,
        };
        Ok(Conn {
            conn: self.pool.get().await?,
            _permit: permit,
        })
    }
}

/// A pooled connection, counted against its request's share while it lives.
pub struct Conn {
    conn: crate::db::DbConn,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Deref for Conn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}
