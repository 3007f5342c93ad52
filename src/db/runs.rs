//! Queries on `clustering_runs`, which is both the run record and the work queue.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use serde::{Deserialize, Serialize};

use super::schema::{clustering_runs, datasets};
use super::text::{Name, Named, read_name, write_name};
use crate::engine::{Method, Metric, Stage};

/// Where a run is in its life. Stored by name; the migration's `CHECK` lists the same five.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, AsExpression, FromSqlRow,
)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Nothing more will happen to the run.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a status a caller asked for (a list filter); stored statuses are read by `FromSql`.
impl std::str::FromStr for RunStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RunStatus::from_name(s).ok_or_else(|| {
            format!(
                "unknown run status `{s}`; expected queued, running, succeeded, failed or cancelled"
            )
        })
    }
}

impl Name for RunStatus {
    const WHAT: &'static str = "run status";
    const ALL: &'static [Self] = &RunStatus::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl ToSql<Text, Pg> for RunStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        write_name(*self, out)
    }
}

impl FromSql<Text, Pg> for RunStatus {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        read_name(bytes)
    }
}

/// A run without its binary artifacts (linkage matrix, map points).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = clustering_runs)]
pub struct RunRow {
    pub id: i64,
    pub dataset_id: i64,
    pub linkage: Named<Method>,
    pub metric: Named<Metric>,
    pub n_clusters: Option<i32>,
    /// The run chooses its number of segments.
    pub auto_clusters: bool,
    pub distance_threshold: Option<f64>,
    pub use_pca: bool,
    pub pca_components: Option<i32>,
    pub pca_variance: Option<f64>,
    pub params: serde_json::Value,
    pub feature_config: Option<serde_json::Value>,
    pub metrics: Option<serde_json::Value>,
    pub profiles: Option<serde_json::Value>,
    pub k_sweep: Option<serde_json::Value>,
    pub timings: Option<serde_json::Value>,
    pub status: RunStatus,
    pub stage: Option<Named<Stage>>,
    pub progress: f64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Insertable, Clone, Debug)]
#[diesel(table_name = clustering_runs)]
pub struct NewRun {
    pub dataset_id: i64,
    pub linkage: Named<Method>,
    pub metric: Named<Metric>,
    pub n_clusters: Option<i32>,
    pub auto_clusters: bool,
    pub distance_threshold: Option<f64>,
    pub use_pca: bool,
    pub pca_components: Option<i32>,
    pub pca_variance: Option<f64>,
    pub params: serde_json::Value,
}

/// Inserts a queued run unless its dataset is missing or being deleted (checked in the same
/// statement, with the dataset row locked, so a concurrent delete cannot slip between).
pub async fn insert_queued(
    conn: &mut AsyncPgConnection,
    run: NewRun,
) -> QueryResult<Option<RunRow>> {
    use diesel_async::AsyncConnection;
    conn.transaction(async move |conn| {
        let open = datasets::table
            .find(run.dataset_id)
            .select(datasets::deleting)
            .for_share()
            .first::<bool>(conn)
            .await
            .optional()?;
        if open != Some(false) {
            return Ok(None);
        }
        let created = diesel::insert_into(clustering_runs::table)
            .values(&run)
            .returning(RunRow::as_returning())
            .get_result(conn)
            .await?;
        super::notify::wake_workers(conn).await?;
        Ok(Some(created))
    })
    .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<RunRow>> {
    clustering_runs::table
        .find(id)
        .select(RunRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Filters for listing runs.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub dataset_id: Option<i64>,
    pub status: Option<RunStatus>,
}

fn filtered(filter: &RunFilter) -> clustering_runs::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = clustering_runs::table.into_boxed();
    if let Some(dataset_id) = filter.dataset_id {
        query = query.filter(clustering_runs::dataset_id.eq(dataset_id));
    }
    if let Some(status) = &filter.status {
        query = query.filter(clustering_runs::status.eq(*status));
    }
    query
}

/// A page of runs, newest first, after the cursor id (exclusive).
pub async fn page(
    conn: &mut AsyncPgConnection,
    filter: &RunFilter,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RunRow>> {
    let mut query = filtered(filter)
        .select(RunRow::as_select())
        .order(clustering_runs::id.desc())
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(clustering_runs::id.lt(after));
    }
    query.load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection, filter: &RunFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

/// Run counts per dataset, for dataset lists.
pub async fn count_by_dataset(
    conn: &mut AsyncPgConnection,
    dataset_ids: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    clustering_runs::table
        .filter(clustering_runs::dataset_id.eq_any(dataset_ids))
        .group_by(clustering_runs::dataset_id)
        .select((clustering_runs::dataset_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// The stored linkage matrix and map points of a run.
pub async fn artifacts(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<Option<(Option<Vec<u8>>, Option<Vec<u8>>)>> {
    clustering_runs::table
        .find(id)
        .select((clustering_runs::linkage_matrix, clustering_runs::map_points))
        .first(conn)
        .await
        .optional()
}

/// A run's model as stored: `None` for no such run, `Some(None)` for a run without one (not
/// succeeded, or succeeded before runs kept models).
pub async fn model(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> QueryResult<Option<Option<serde_json::Value>>> {
    clustering_runs::table
        .find(id)
        .select(clustering_runs::model)
        .first(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(clustering_runs::table.find(id))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Cancels a queued run at once, or asks the worker running it to stop. Returns the run as it
/// is after the request, or `None` if it does not exist.
pub async fn request_cancel(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<RunRow>> {
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::status.eq(RunStatus::Queued)),
    )
    .set((
        clustering_runs::status.eq(RunStatus::Cancelled),
        clustering_runs::finished_at.eq(diesel::dsl::now),
        clustering_runs::stage.eq(None::<Named<Stage>>),
    ))
    .execute(conn)
    .await?;
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::status.eq(RunStatus::Running)),
    )
    .set(clustering_runs::cancel_requested.eq(true))
    .execute(conn)
    .await?;
    find(conn, id).await
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Claims the oldest queued run for `worker`, skipping rows other workers have locked.
pub async fn claim_next(conn: &mut AsyncPgConnection, worker: &str) -> QueryResult<Option<i64>> {
    diesel::sql_query(
        "UPDATE clustering_runs SET status = 'running', worker = $1, started_at = now(), \
             heartbeat_at = now(), stage = NULL, progress = 0, error = NULL \
         WHERE id = (SELECT id FROM clustering_runs WHERE status = 'queued' \
                     ORDER BY created_at, id FOR UPDATE SKIP LOCKED LIMIT 1) \
         RETURNING id",
    )
    .bind::<Text, _>(worker)
    .get_result::<Claimed>(conn)
    .await
    .optional()
    .map(|c| c.map(|c| c.id))
}

/// Refreshes the heartbeat of a run this worker holds and reports whether a cancel was asked.
/// Returns `None` when the run is no longer this worker's (deleted, or re-queued elsewhere).
pub async fn heartbeat(
    conn: &mut AsyncPgConnection,
    id: i64,
    worker: &str,
) -> QueryResult<Option<bool>> {
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::worker.eq(worker))
            .filter(clustering_runs::status.eq(RunStatus::Running)),
    )
    .set(clustering_runs::heartbeat_at.eq(diesel::dsl::now))
    .returning(clustering_runs::cancel_requested)
    .get_result(conn)
    .await
    .optional()
}

/// Records progress of a running run.
pub async fn set_progress(
    conn: &mut AsyncPgConnection,
    id: i64,
    stage: Stage,
    progress: f64,
) -> QueryResult<()> {
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::status.eq(RunStatus::Running)),
    )
    .set((
        clustering_runs::stage.eq(Named(stage)),
        clustering_runs::progress.eq(progress),
    ))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Ends a run this worker holds with a failure or cancellation.
pub async fn finish_unsuccessfully(
    conn: &mut AsyncPgConnection,
    id: i64,
    worker: &str,
    final_status: RunStatus,
    error: Option<&str>,
) -> QueryResult<bool> {
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::worker.eq(worker))
            .filter(clustering_runs::status.eq(RunStatus::Running)),
    )
    .set((
        clustering_runs::status.eq(final_status),
        clustering_runs::error.eq(error),
        clustering_runs::finished_at.eq(diesel::dsl::now),
        clustering_runs::heartbeat_at.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Puts a run this worker holds back in the queue (graceful shutdown).
pub async fn requeue(conn: &mut AsyncPgConnection, id: i64, worker: &str) -> QueryResult<bool> {
    diesel::update(
        clustering_runs::table
            .find(id)
            .filter(clustering_runs::worker.eq(worker))
            .filter(clustering_runs::status.eq(RunStatus::Running)),
    )
    .set((
        clustering_runs::status.eq(RunStatus::Queued),
        clustering_runs::worker.eq(None::<String>),
        clustering_runs::stage.eq(None::<Named<Stage>>),
        clustering_runs::progress.eq(0.0),
        clustering_runs::heartbeat_at.eq(None::<DateTime<Utc>>),
        clustering_runs::started_at.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// Re-queues running runs whose heartbeat is older than `stale_after_secs`: their process died.
pub async fn requeue_stale(
    conn: &mut AsyncPgConnection,
    stale_after_secs: f64,
) -> QueryResult<Vec<i64>> {
    diesel::sql_query(
        "UPDATE clustering_runs SET status = 'queued', worker = NULL, stage = NULL, progress = 0, \
             heartbeat_at = NULL, started_at = NULL \
         WHERE status = 'running' AND cancel_requested = FALSE \
           AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $1)) \
         RETURNING id",
    )
    .bind::<Double, _>(stale_after_secs)
    .load::<Claimed>(conn)
    .await
    .map(|rows| rows.into_iter().map(|c| c.id).collect())
}

/// Stale runs that were asked to cancel are simply ended.
pub async fn cancel_stale(
    conn: &mut AsyncPgConnection,
    stale_after_secs: f64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE clustering_runs SET status = 'cancelled', finished_at = now(), heartbeat_at = NULL \
         WHERE status = 'running' AND cancel_requested = TRUE \
           AND (heartbeat_at IS NULL OR heartbeat_at < now() - make_interval(secs => $1))",
    )
    .bind::<Double, _>(stale_after_secs)
    .execute(conn)
    .await
}

/// Everything a successful run stores, written with its assignments in one transaction. Kept
/// in memory until it is stored, so a lost connection means a retry, not a recomputation.
pub struct RunResults {
    pub documents: super::stored::Documents,
    pub timings: serde_json::Value,
    pub linkage_matrix: Vec<u8>,
    pub map_points: Vec<u8>,
    /// `engine::model::Model` as JSON.
    pub model: serde_json::Value,
    pub labels: Vec<i32>,
    pub silhouettes: Vec<Option<f64>>,
}

/// Stores a run's results and its assignments and marks it succeeded, all or nothing. Returns
/// false (and writes nothing) when the run is no longer this worker's. The assignments stream in
/// with `COPY`, so the whole transaction runs on a connection of its own ([`super::copy`]).
pub async fn complete(
    database_url: &str,
    id: i64,
    worker: &str,
    results: &RunResults,
) -> Result<bool, tokio_postgres::Error> {
    let client = super::copy::begin(database_url).await?;
    let documents = &results.documents;
    let json = |v: Option<&serde_json::Value>| v.map(|v| v.to_string());
    // Called as a function: diesel's `RunQueryDsl::execute` would otherwise be picked.
    let updated = tokio_postgres::Client::execute(
        &client,
        "UPDATE clustering_runs SET status = $3, stage = NULL, progress = 1.0, \
                 feature_config = $4::text::jsonb, metrics = $5::text::jsonb, \
                 profiles = $6::text::jsonb, k_sweep = $7::text::jsonb, \
                 timings = $8::text::jsonb, linkage_matrix = $9, map_points = $10, \
                 model = $11::text::jsonb, finished_at = now(), heartbeat_at = NULL \
             WHERE id = $1 AND worker = $2 AND status = $12",
        &[
            &id,
            &worker,
            &RunStatus::Succeeded.as_str(),
            &json(documents.feature_config.as_ref()),
            &json(documents.metrics.as_ref()),
            &json(documents.profiles.as_ref()),
            &json(documents.k_sweep.as_ref()),
            &results.timings.to_string(),
            &results.linkage_matrix,
            &results.map_points,
            &results.model.to_string(),
            &RunStatus::Running.as_str(),
        ],
    )
    .await?;
    if updated == 0 {
        return Ok(false);
    }
    super::assignments::copy_all(&client, id, &results.labels, &results.silhouettes).await?;
    super::copy::commit(client).await?;
    Ok(true)
}
