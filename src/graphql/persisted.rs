//! Automatic persisted queries, in Apollo's protocol, so dashboards send short requests (and,
//! over GET, URLs short enough to cache):
//!
//! 1. The client sends only the SHA-256 of its query in `extensions.persistedQuery`
//!    (`{"version": 1, "sha256Hash": "<64 hex digits>"}`).
//! 2. A server that does not know the hash answers `PersistedQueryNotFound` (code
//!    `PERSISTED_QUERY_NOT_FOUND`) and runs nothing.
//! 3. The client sends the query with its hash once; the server checks that the hash is the
//!    query's, keeps the query and runs it. From then on the hash alone is enough.
//!
//! The store is per process and bounded ([`MAX_QUERIES`] queries, [`MAX_BYTES`] in all, the
//! least recently used forgotten first; a query longer than [`MAX_QUERY_BYTES`] runs but is not
//! kept). A replica that has not seen a query, or has forgotten it, answers step 2 and the
//! client repeats step 3: the protocol's own recovery, so nothing needs sharing between
//! replicas.

use super::codes::coded;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::{Request, ServerError, ServerResult};
use sha2::{Digest, Sha256};

/// Most queries kept.
pub const MAX_QUERIES: usize = 1_000;
/// Most bytes of query text kept in all.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Longest query kept; a longer one runs every time it is sent whole.
pub const MAX_QUERY_BYTES: usize = 64 * 1024;

/// The message and code Apollo clients recognise as "send the whole query".
pub const NOT_FOUND_MESSAGE: &str = "PersistedQueryNotFound";
pub const NOT_FOUND_CODE: &str = "PERSISTED_QUERY_NOT_FOUND";

/// The extension factory; one store for the schema's lifetime.
#[derive(Default)]
pub struct PersistedQueries {
    store: Arc<Mutex<Store>>,
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Lookup {
            store: self.store.clone(),
        })
    }
}

struct Lookup {
    store: Arc<Mutex<Store>>,
}

#[async_graphql::async_trait::async_trait]
impl Extension for Lookup {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(value) = request.extensions.remove("persistedQuery") {
            let hash = requested_hash(value)?;
            if request.query.is_empty() {
                let known = self.store().get(&hash);
                request.query = known.ok_or_else(not_found)?;
            } else if sha256_hex(&request.query) == hash {
                self.store().insert(hash, &request.query);
            } else {
                return Err(bad_input(
                    "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query` \
                     (64 lowercase hex digits of the query's UTF-8 bytes)",
                ));
            }
        }
        next.run(ctx, request).await
    }
}

impl Lookup {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock leaves the map consistent (every change is one call).
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The hash asked for, after checking the extension's shape.
fn requested_hash(value: async_graphql::Value) -> ServerResult<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct PersistedQuery {
        version: i64,
        sha256_hash: String,
    }
    let shape =
        "`extensions.persistedQuery` must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}";
    let asked: PersistedQuery = value
        .into_json()
        .ok()
        .and_then(|json| serde_json::from_value(json).ok())
        .ok_or_else(|| bad_input(shape))?;
    if asked.version != 1 {
        return Err(bad_input(&format!(
            "persisted query version {} is not supported; send version 1",
            asked.version
        )));
    }
    let hash = asked.sha256_hash.to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_input(shape));
    }
    Ok(hash)
}

/// The SHA-256 of `bytes` in lowercase hex, as persisted-query hashes are written.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    Sha256::digest(bytes.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn not_found() -> ServerError {
    coded(NOT_FOUND_MESSAGE, NOT_FOUND_CODE)
}

fn bad_input(message: &str) -> ServerError {
    coded(message, "BAD_USER_INPUT")
}

/// Queries by hash, least recently used forgotten first.
#[derive(Default)]
struct Store {
    queries: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    query: String,
    used: u64,
}

impl Store {
    fn get(&mut self, hash: &str) -> Option<String> {
        self.clock += 1;
        let entry = self.queries.get_mut(hash)?;
        entry.used = self.clock;
        Some(entry.query.clone())
    }

    fn insert(&mut self, hash: String, query: &str) {
        if query.len() > MAX_QUERY_BYTES || self.get(&hash).is_some() {
            return;
        }
        while self.queries.len() >= MAX_QUERIES || self.bytes + query.len() > MAX_BYTES {
            let Some(oldest) = self
                .queries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(h, _)| h.clone())
            else {
                break;
            };
            if let Some(gone) = self.queries.remove(&oldest) {
                self.bytes -= gone.query.len();
            }
        }
        self.bytes += query.len();
        self.queries.insert(
            hash,
            Entry {
                query: query.to_string(),
                used: self.clock,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_in_lowercase_hex() {
        // `printf '{ datasets { totalCount } }' | sha256sum`
        assert_eq!(
            sha256_hex("{ datasets { totalCount } }"),
            "57237303f23cad464cda35a94cf2468148083cfb65550e6d24186cb66ffbda73"
        );
    }

    #[test]
    fn the_store_forgets_the_least_recently_used_first() {
        let mut store = Store::default();
        for i in 0..MAX_QUERIES {
            store.insert(format!("h{i}"), &format!("{{ q{i} }}"));
        }
        // Using the first keeps it; the second is now the oldest and goes.
        assert!(store.get("h0").is_some());
        store.insert("new".into(), "{ new }");
        assert!(store.get("h0").is_some());
        assert!(store.get("h1").is_none());
        assert!(store.get("new").is_some());
        assert_eq!(store.queries.len(), MAX_QUERIES);
    }

    #[test]
    fn long_queries_run_but_are_not_kept() {
        let mut store = Store::default();
        let long = "x".repeat(MAX_QUERY_BYTES + 1);
        store.insert("long".into(), &long);
        assert!(store.get("long").is_none());
        assert_eq!(store.bytes, 0);
    }
}
