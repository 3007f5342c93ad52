//! Queries on `cluster_assignments`, joined with `dataset_rows` for the original row.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Array, BigInt, Float8, Integer, Jsonb, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::cluster_assignments;

/// Rows per insert statement; see `datasets::ROW_BATCH`.
const ASSIGNMENT_BATCH: usize = 20_000;

/// Writes every assignment of a run. Called inside the transaction that marks it succeeded.
pub async fn insert_all(
    conn: &mut AsyncPgConnection,
    run_id: i64,
    labels: &[i32],
    silhouettes: &[Option<f64>],
) -> QueryResult<()> {
    for (chunk, (labels, silhouettes)) in labels
        .chunks(ASSIGNMENT_BATCH)
        .zip(silhouettes.chunks(ASSIGNMENT_BATCH))
        .enumerate()
    {
        let start = chunk * ASSIGNMENT_BATCH;
        let indexes: Vec<i32> = (start..start + labels.len()).map(|i| i as i32).collect();
        diesel::sql_query(
            "INSERT INTO cluster_assignments (run_id, row_index, cluster_label, silhouette) \
             SELECT $1, i, l, s FROM unnest($2::int4[], $3::int4[], $4::float8[]) AS t(i, l, s)",
        )
        .bind::<BigInt, _>(run_id)
        .bind::<Array<Integer>, _>(indexes)
        .bind::<Array<Integer>, _>(labels.to_vec())
        .bind::<Array<Nullable<Float8>>, _>(silhouettes.to_vec())
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// One customer with its segment.
#[derive(QueryableByName, Clone, Debug)]
pub struct AssignmentRow {
    #[diesel(sql_type = Integer)]
    pub row_index: i32,
    #[diesel(sql_type = Integer)]
    pub cluster_label: i32,
    #[diesel(sql_type = Nullable<Float8>)]
    pub silhouette: Option<f64>,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
}

/// A page of a run's assignments in row order: after `after` (exclusive), skipping `offset`,
/// at most `limit`, optionally one segment only.
///
/// The statement is written so that its plan does not depend on table statistics, which are
/// stale on servers without autovacuum: the page is cut from `cluster_assignments` first (its
/// primary key serves `run_id` in row order), and each of those rows then fetches its payload
/// by the full primary key of `dataset_rows`, with the run's dataset id as a bound value. The
/// `LIMIT 1` keeps the lateral subquery from being flattened into an ordinary join, which the
/// planner could otherwise turn into a scan of every row of the dataset (a hash join, or a
/// nested loop on `dataset_id` alone when the statistics predate the dataset): a page reads as
/// many payloads as it returns, whatever the statistics say.
#[derive(Clone, Debug)]
pub struct PageQuery {
    pub run_id: i64,
    /// The run's dataset, looked up beforehand (see above).
    pub dataset_id: i64,
    pub cluster: Option<i32>,
    pub after: Option<i32>,
    pub offset: i64,
    pub limit: i64,
}

impl PageQuery {
    /// The statement with its bind values, for [`PageQuery::fetch`] and for `EXPLAIN`
    /// ([`super::explain::plan`]).
    pub fn query(&self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut filters = String::new();
        let mut next = 3;
        let mut placeholder = |filters: &mut String, condition: &str| {
            filters.push_str(&format!(" AND {condition} ${next}"));
            next += 1;
        };
        if self.cluster.is_some() {
            placeholder(&mut filters, "cluster_label =");
        }
        if self.after.is_some() {
            placeholder(&mut filters, "row_index >");
        }
        let sql = format!(
            "SELECT a.row_index, a.cluster_label, a.silhouette, r.payload \
             FROM (SELECT row_index, cluster_label, silhouette FROM cluster_assignments \
                   WHERE run_id = $1{filters} \
                   ORDER BY row_index LIMIT ${} OFFSET ${}) AS a \
             CROSS JOIN LATERAL (SELECT payload FROM dataset_rows \
                   WHERE dataset_id = $2 AND row_index = a.row_index LIMIT 1) AS r \
             ORDER BY a.row_index",
            next,
            next + 1
        );
        let mut query = diesel::sql_query(sql)
            .into_boxed()
            .bind::<BigInt, _>(self.run_id)
            .bind::<BigInt, _>(self.dataset_id);
        if let Some(cluster) = self.cluster {
            query = query.bind::<Integer, _>(cluster);
        }
        if let Some(after) = self.after {
            query = query.bind::<Integer, _>(after);
        }
        query
            .bind::<BigInt, _>(self.limit)
            .bind::<BigInt, _>(self.offset)
    }

    pub async fn fetch(&self, conn: &mut AsyncPgConnection) -> QueryResult<Vec<AssignmentRow>> {
        self.query().load(conn).await
    }
}

pub async fn count(
    conn: &mut AsyncPgConnection,
    run_id: i64,
    cluster: Option<i32>,
) -> QueryResult<i64> {
    let mut query = cluster_assignments::table
        .filter(cluster_assignments::run_id.eq(run_id))
        .count()
        .into_boxed();
    if let Some(cluster) = cluster {
        query = query.filter(cluster_assignments::cluster_label.eq(cluster));
    }
    query.get_result(conn).await
}

/// Labels and silhouettes of every row in row order, for renders.
pub async fn labels(
    conn: &mut AsyncPgConnection,
    run_id: i64,
) -> QueryResult<Vec<(i32, Option<f64>)>> {
    cluster_assignments::table
        .filter(cluster_assignments::run_id.eq(run_id))
        .order(cluster_assignments::row_index)
        .select((
            cluster_assignments::cluster_label,
            cluster_assignments::silhouette,
        ))
        .load(conn)
        .await
}
