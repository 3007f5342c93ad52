//! Configuration from environment variables (and an optional `.env` file, loaded by `main`).
//!
//! Every variable is read here, documented where it is read, and listed in `.env.sample` and the
//! README. A bad value stops start-up with one sentence naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Default database: the local PostgreSQL over its Unix socket directory, as the `postgres`
/// role, so `cargo run` works on a fresh machine with no setup.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@localhost:5432/segmentiq";

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: PostgreSQL connection URL. The database is created if it does not exist.
    pub database_url: String,
    /// `BIND_ADDR`: address the HTTP server listens on (default `0.0.0.0:8000`).
    pub bind_addr: SocketAddr,
    /// `DB_POOL_SIZE`: connections in the pool (default 10).
    pub pool_size: usize,
    pub limits: Limits,
    /// `MAX_CONCURRENT_RUNS`: clustering runs this process works on at once (default 1; each run
    /// uses every core, so more mostly helps many small runs).
    pub max_concurrent_runs: usize,
    /// `API_TOKEN`: when set, every GraphQL and REST request needs `Authorization: Bearer <token>`.
    /// Web pages stay open: put them behind your own proxy's authentication if needed.
    pub api_token: Option<String>,
    /// `WORKER_ID`: the name this process writes into the runs it claims (default host:pid).
    pub worker_id: String,
    /// Set when `DATABASE_URL` is not: where to look for a local PostgreSQL, and where to start
    /// a private one when nothing answers there (see `db::local_cluster`).
    pub local_postgres: Option<LocalPostgres>,
}

/// The local PostgreSQL of a machine without `DATABASE_URL`.
#[derive(Clone, Debug)]
pub struct LocalPostgres {
    /// `PGPORT` (libpq's name): the port of the local server on localhost (default 5432).
    pub port: u16,
    /// `PGDATA_DIR`: the private cluster's data directory, created on first start (default
    /// `./.segmentiq/pgdata`, relative to the working directory). Its Unix socket lives there
    /// too, so the path must stay under about 90 characters.
    pub data_dir: PathBuf,
    /// `PG_BIN_DIR`: where `initdb`, `pg_ctl` and `postgres` are, when they are neither on `PATH`
    /// nor in Debian's `/usr/lib/postgresql/<version>/bin`.
    pub bin_dir: Option<PathBuf>,
}

/// Limits on what a user may send.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `MAX_UPLOAD_BYTES`: largest CSV accepted (default 100 MiB). Uploads are cut off while
    /// streaming, as soon as they pass this size.
    pub max_upload_bytes: usize,
    /// `MAX_ROWS`: most data rows in one dataset (default 200,000).
    pub max_rows: usize,
    /// `MAX_COLUMNS`: most columns in one dataset (default 200).
    pub max_columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 100 * 1024 * 1024,
            max_rows: 200_000,
            max_columns: 200,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{name}={value:?} is not valid: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests can configure without touching the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Limits::default();
        let (database_url, local_postgres) = match lookup("DATABASE_URL") {
            Some(url) => (url, None),
            None => {
                let port = parse(&lookup, "PGPORT", 5432u16)?;
                let local = LocalPostgres {
                    port,
                    data_dir: lookup("PGDATA_DIR")
                        .filter(|d| !d.trim().is_empty())
                        .map_or_else(|| PathBuf::from(".segmentiq/pgdata"), PathBuf::from),
                    bin_dir: lookup("PG_BIN_DIR")
                        .filter(|d| !d.trim().is_empty())
                        .map(PathBuf::from),
                };
                let url = DEFAULT_DATABASE_URL.replace(":5432/", &format!(":{port}/"));
                (url, Some(local))
            }
        };
        if url::Url::parse(&database_url)
            .map_or(true, |u| !matches!(u.scheme(), "postgres" | "postgresql"))
        {
            return Err(ConfigError {
                name: "DATABASE_URL",
                value: database_url,
                reason: "expected a URL like postgres://user@host:5432/segmentiq".into(),
            });
        }
        let api_token = lookup("API_TOKEN").filter(|t| !t.trim().is_empty());
        let worker_id = lookup("WORKER_ID").unwrap_or_else(|| {
            let host = lookup("HOSTNAME").unwrap_or_else(|| "segmentiq".into());
            format!("{host}:{}", std::process::id())
        });
        Ok(Config {
            database_url,
            bind_addr: parse(&lookup, "BIND_ADDR", "0.0.0.0:8000".parse().expect("valid"))?,
            pool_size: positive(&lookup, "DB_POOL_SIZE", 10)?,
            limits: Limits {
                max_upload_bytes: positive(&lookup, "MAX_UPLOAD_BYTES", defaults.max_upload_bytes)?,
                max_rows: positive(&lookup, "MAX_ROWS", defaults.max_rows)?,
                max_columns: positive(&lookup, "MAX_COLUMNS", defaults.max_columns)?,
            },
            max_concurrent_runs: positive(&lookup, "MAX_CONCURRENT_RUNS", 1)?,
            api_token,
            worker_id,
            local_postgres,
        })
    }
}

fn parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name) {
        None => Ok(default),
        Some(value) => value.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            reason: e.to_string(),
            value,
        }),
    }
}

fn positive(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
) -> Result<usize, ConfigError> {
    let n = parse(lookup, name, default)?;
    if n == 0 {
        return Err(ConfigError {
            name,
            value: "0".into(),
            reason: "must be at least 1".into(),
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_need_no_environment() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.bind_addr.to_string(), "0.0.0.0:8000");
        assert_eq!(c.max_concurrent_runs, 1);
        assert!(c.api_token.is_none());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("MAX_ROWS", "lots")]).unwrap_err().to_string();
        assert!(err.starts_with("MAX_ROWS=\"lots\" is not valid"), "{err}");
        let err = config(&[("DB_POOL_SIZE", "0")]).unwrap_err().to_string();
        assert!(err.contains("at least 1"), "{err}");
        let err = config(&[("DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("DATABASE_URL="), "{err}");
        let err = config(&[("BIND_ADDR", "nowhere")]).unwrap_err().to_string();
        assert!(err.starts_with("BIND_ADDR="), "{err}");
    }

    #[test]
    fn without_database_url_the_local_server_is_looked_for() {
        let c = config(&[]).unwrap();
        let local = c.local_postgres.expect("local mode");
        assert_eq!((local.port, local.bin_dir), (5432, None));
        assert_eq!(local.data_dir, PathBuf::from(".segmentiq/pgdata"));
        let c = config(&[("PGPORT", "5999"), ("PGDATA_DIR", "/srv/pg")]).unwrap();
        assert_eq!(
            c.database_url,
            "postgres://postgres@localhost:5999/segmentiq"
        );
        assert_eq!(c.local_postgres.unwrap().data_dir, PathBuf::from("/srv/pg"));
        let c = config(&[("DATABASE_URL", "postgres://u@db:5432/x"), ("PGPORT", "1")]).unwrap();
        assert!(c.local_postgres.is_none());
        let err = config(&[("PGPORT", "99999")]).unwrap_err().to_string();
        assert!(err.starts_with("PGPORT="), "{err}");
    }

    #[test]
    fn blank_token_means_no_token() {
        assert!(config(&[("API_TOKEN", " ")]).unwrap().api_token.is_none());
        assert_eq!(
            config(&[("API_TOKEN", "s3cret")])
                .unwrap()
                .api_token
                .as_deref(),
            Some("s3cret")
        );
    }
}
