//! Queries on `cluster_assignments`, joined with `dataset_rows` for the original row.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Float8, Integer, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{cluster_assignments, clustering_runs, dataset_rows};

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
#[derive(Queryable, Clone, Debug)]
pub struct AssignmentRow {
    pub row_index: i32,
    pub cluster_label: i32,
    pub silhouette: Option<f64>,
    pub payload: serde_json::Value,
}

/// A page of a run's assignments in row order, after `after` (exclusive), optionally one
/// segment only.
pub async fn page(
    conn: &mut AsyncPgConnection,
    run_id: i64,
    cluster: Option<i32>,
    after: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<AssignmentRow>> {
    let mut query = cluster_assignments::table
        .inner_join(clustering_runs::table)
        .inner_join(
            dataset_rows::table.on(dataset_rows::dataset_id
                .eq(clustering_runs::dataset_id)
                .and(dataset_rows::row_index.eq(cluster_assignments::row_index))),
        )
        .filter(cluster_assignments::run_id.eq(run_id))
        .select((
            cluster_assignments::row_index,
            cluster_assignments::cluster_label,
            cluster_assignments::silhouette,
            dataset_rows::payload,
        ))
        .order(cluster_assignments::row_index)
        .limit(limit)
        .into_boxed();
    if let Some(cluster) = cluster {
        query = query.filter(cluster_assignments::cluster_label.eq(cluster));
    }
    if let Some(after) = after {
        query = query.filter(cluster_assignments::row_index.gt(after));
    }
    query.load(conn).await
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
