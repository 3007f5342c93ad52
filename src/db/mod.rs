//! PostgreSQL access: the connection pool, database creation and the embedded migrations.
//!
//! Table modules hold the queries, returning `QueryResult`; `service` turns them into
//! operations with user-facing errors.

pub mod assignments;
pub mod copy;
pub mod datasets;
pub mod explain;
pub mod local_cluster;
pub mod notify;
pub mod runs;
pub mod schema;
pub mod scorings;
pub mod segment_labels;
pub mod stored;
pub mod text;

use anyhow::Context;
use diesel::sql_types::{Bool, Text};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Builds the pool. Connections are made lazily; call [`check`] to fail fast.
pub fn pool(database_url: &str, size: usize) -> anyhow::Result<DbPool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(database_url);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(std::time::Duration::from_secs(10)))
        .create_timeout(Some(std::time::Duration::from_secs(10)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("could not build the database pool")
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

/// Creates the database named in `database_url` if it does not exist, by connecting to the
/// server's `postgres` maintenance database. Without this, a fresh machine would need a manual
/// `CREATE DATABASE` before the first start.
pub async fn ensure_database(database_url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    let name = url.path().trim_start_matches('/').to_string();
    anyhow::ensure!(!name.is_empty(), "DATABASE_URL names no database");
    if AsyncPgConnection::establish(database_url).await.is_ok() {
        return Ok(());
    }
    let mut admin_url = url.clone();
    admin_url.set_path("/postgres");
    let mut conn = AsyncPgConnection::establish(admin_url.as_str())
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {}", redact(&url)))?;
    let exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(&name)
            .get_result::<Exists>(&mut conn)
            .await?
            .exists;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match diesel::sql_query(format!("CREATE DATABASE {quoted}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another replica may have created it between our check and our CREATE.
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e).context(format!("could not create database {name}")),
        }
    }
    Ok(())
}

/// Runs pending embedded migrations. Runs on a multi-threaded runtime (the harness blocks in
/// place).
pub async fn migrate(pool: &DbPool) -> anyhow::Result<()> {
    let conn = pool.get().await.context("cannot connect to the database")?;
    let mut harness = AsyncMigrationHarness::new(conn);
    let applied = harness
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    for version in applied {
        tracing::info!(%version, "applied migration");
    }
    Ok(())
}

/// Refreshes the planner's statistics of `table` after a bulk write (an upload's rows, a run's
/// assignments). Many small servers run without autovacuum, and statistics taken when a table
/// was small make the planner misjudge every later query on it. A failure here costs speed,
/// not data, so it is logged, not returned.
pub async fn analyze(conn: &mut AsyncPgConnection, table: &'static str) {
    let started = std::time::Instant::now();
    match diesel::sql_query(format!("ANALYZE {table}"))
        .execute(conn)
        .await
    {
        Ok(_) => tracing::debug!(table, seconds = started.elapsed().as_secs_f64(), "analyzed"),
        Err(e) => tracing::warn!(table, error = %e, "could not refresh table statistics"),
    }
}

/// The largest id `table` has handed out (its `id` sequence's last value; `None` before the
/// first), deleted rows included, so a list can tell a cursor it gave from a made-up one.
pub async fn last_id(
    conn: &mut AsyncPgConnection,
    table: &'static str,
) -> diesel::QueryResult<Option<i64>> {
    use diesel::sql_types::{BigInt, Nullable};
    diesel::select(
        diesel::dsl::sql::<Nullable<BigInt>>("pg_sequence_last_value(pg_get_serial_sequence(")
            .bind::<Text, _>(table)
            .sql(", 'id'))"),
    )
    .get_result(conn)
    .await
}

/// The URL without its password, for messages.
pub fn redact(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}
