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
    /// `MAX_EXACT_ROWS`: runs on datasets with more rows take the large-table path (customers
    /// grouped into micro-clusters first, the run marked approximate); default 100,000, where
    /// an exact Ward run with its exact silhouette still takes about a minute and a half on two
    /// cores and grows with the square of the rows (see `engine::microclusters`).
    pub max_exact_rows: usize,
    /// Who may read and change what: tokens, sessions, other origins.
    pub access: AccessConfig,
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

/// Access control (see `crate::http`). With no token set everyone who reaches the server has
/// full access, as on one analyst's own machine; cross-site changes are refused either way.
#[derive(Clone, Debug, Default)]
pub struct AccessConfig {
    /// `API_TOKEN`: when set, every door that shows or changes customer data (GraphQL, REST,
    /// pages, charts, downloads, event streams) needs this token or a session signed in with it.
    pub api_token: Option<String>,
    /// `API_READ_TOKEN`: a second, read-only token for BI dashboards: queries, GETs,
    /// subscriptions and downloads, but no uploads, runs, cancels or deletes. Needs `API_TOKEN`.
    pub api_read_token: Option<String>,
    /// `SESSION_SECRET`: key material (at least 32 characters) for the pages' session cookie.
    /// Unset, the key is derived from the tokens, so every replica with the same tokens accepts
    /// the same cookies, and changing a token signs everybody out.
    pub session_secret: Option<String>,
    /// `SESSION_HOURS`: how long a page sign-in lasts (default 12).
    pub session_hours: u64,
    /// `PUBLIC_URL`: the address browsers use (e.g. `https://segments.example.com`), when a
    /// proxy in front changes the `Host` header; requests from this origin count as same-site.
    pub public_url: Option<url::Url>,
    /// `COOKIE_SECURE`: send the session cookie over HTTPS only (default: true when
    /// `PUBLIC_URL` starts with `https://`).
    pub cookie_secure: bool,
    /// `ALLOWED_ORIGINS`: comma-separated origins (`https://bi.example.com`) of dashboards that
    /// may call the APIs from the browser with a token (CORS); every other origin is refused.
    pub allowed_origins: Vec<String>,
    /// `LOGIN_ATTEMPTS_PER_MINUTE`: sign-in attempts one client address may make (default 10).
    pub login_attempts_per_minute: u32,
}

/// Limits on what a user may send.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `MAX_UPLOAD_BYTES`: largest CSV accepted (default 256 MiB: two million customers of a
    /// dozen columns take about 110 MB). Uploads are cut off while streaming, as soon as they
    /// pass this size.
    pub max_upload_bytes: usize,
    /// `MAX_ROWS`: most data rows in one dataset (default 2,000,000: a large chain's loyalty
    /// base; above `MAX_EXACT_ROWS` runs take the large-table path).
    pub max_rows: usize,
    /// `MAX_COLUMNS`: most columns in one dataset (default 200).
    pub max_columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_upload_bytes: 256 * 1024 * 1024,
            max_rows: 2_000_000,
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
        let access = access(&lookup)?;
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
            max_exact_rows: positive(
                &lookup,
                "MAX_EXACT_ROWS",
                crate::engine::pipeline::DEFAULT_MAX_EXACT_ROWS,
            )?,
            access,
            worker_id,
            local_postgres,
        })
    }
}

fn access(lookup: &impl Fn(&str) -> Option<String>) -> Result<AccessConfig, ConfigError> {
    let set = |name: &str| lookup(name).filter(|t| !t.trim().is_empty());
    let api_token = set("API_TOKEN");
    let api_read_token = set("API_READ_TOKEN");
    if let Some(read) = &api_read_token {
        let reason = match &api_token {
            None => Some("needs API_TOKEN too: without it everyone has full access anyway"),
            Some(full) if full == read => Some("must differ from API_TOKEN"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(ConfigError {
                name: "API_READ_TOKEN",
                value: "(hidden)".into(),
                reason: reason.into(),
            });
        }
    }
    let session_secret = set("SESSION_SECRET");
    if session_secret.as_ref().is_some_and(|s| s.len() < 32) {
        return Err(ConfigError {
            name: "SESSION_SECRET",
            value: "(hidden)".into(),
            reason: "must be at least 32 characters (e.g. `openssl rand -hex 32`)".into(),
        });
    }
    let public_url = match set("PUBLIC_URL") {
        None => None,
        Some(raw) => match url::Url::parse(raw.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
            _ => {
                return Err(ConfigError {
                    name: "PUBLIC_URL",
                    value: raw,
                    reason: "expected the address browsers use, like https://segments.example.com"
                        .into(),
                });
            }
        },
    };
    let https = public_url.as_ref().is_some_and(|u| u.scheme() == "https");
    let mut allowed_origins = Vec::new();
    for raw in set("ALLOWED_ORIGINS").iter().flat_map(|v| v.split(',')) {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        match origin_of(raw) {
            Some(origin) => allowed_origins.push(origin),
            None => {
                return Err(ConfigError {
                    name: "ALLOWED_ORIGINS",
                    value: raw.into(),
                    reason: "expected origins like https://bi.example.com (scheme, host and \
                             optional port; no path), separated by commas"
                        .into(),
                });
            }
        }
    }
    Ok(AccessConfig {
        api_token,
        api_read_token,
        session_secret,
        session_hours: positive(lookup, "SESSION_HOURS", 12)? as u64,
        public_url,
        cookie_secure: parse(lookup, "COOKIE_SECURE", https)?,
        allowed_origins,
        login_attempts_per_minute: u32::try_from(positive(
            lookup,
            "LOGIN_ATTEMPTS_PER_MINUTE",
            10,
        )?)
        .unwrap_or(u32::MAX),
    })
}

/// `scheme://host[:port]` as browsers send it in `Origin`, or `None` when `raw` is not an origin.
pub fn origin_of(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let bare = matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
    (matches!(url.scheme(), "http" | "https") && url.has_host() && bare)
        .then(|| url.origin().ascii_serialization())
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
        assert!(c.access.api_token.is_none());
        assert!(!c.access.cookie_secure);
        assert_eq!(c.access.session_hours, 12);
        // A chain's whole loyalty base fits (about 110 MB for two million customers).
        assert_eq!(c.limits.max_rows, 2_000_000);
        assert_eq!(c.limits.max_upload_bytes, 256 << 20);
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
        assert!(
            config(&[("API_TOKEN", " ")])
                .unwrap()
                .access
                .api_token
                .is_none()
        );
        assert_eq!(
            config(&[("API_TOKEN", "s3cret")])
                .unwrap()
                .access
                .api_token
                .as_deref(),
            Some("s3cret")
        );
    }

    #[test]
    fn access_settings_are_checked() {
        let err = config(&[("API_READ_TOKEN", "r")]).unwrap_err().to_string();
        assert!(err.contains("needs API_TOKEN"), "{err}");
        let err = config(&[("API_TOKEN", "same"), ("API_READ_TOKEN", "same")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must differ"), "{err}");
        assert!(
            !err.contains("same\""),
            "a token leaked into the message: {err}"
        );
        let err = config(&[("SESSION_SECRET", "short")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("SESSION_SECRET="), "{err}");
        let err = config(&[("ALLOWED_ORIGINS", "https://bi.example.com/path")])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("ALLOWED_ORIGINS="), "{err}");
        let c = config(&[
            ("PUBLIC_URL", "https://segments.example.com"),
            (
                "ALLOWED_ORIGINS",
                "https://bi.example.com, http://localhost:3000/",
            ),
        ])
        .unwrap();
        assert!(
            c.access.cookie_secure,
            "an https PUBLIC_URL makes the cookie Secure"
        );
        assert_eq!(
            c.access.allowed_origins,
            ["https://bi.example.com", "http://localhost:3000"]
        );
    }
}
