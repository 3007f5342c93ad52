//! Queries on `datasets` and `dataset_rows`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{dataset_rows, datasets};

/// A dataset without its raw file (which can be large and is rarely needed).
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = datasets)]
pub struct DatasetRow {
    pub id: i64,
    pub name: String,
    pub filename: String,
    pub byte_size: i64,
    pub row_count: i32,
    pub column_profiles: serde_json::Value,
    pub deleting: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = datasets)]
pub struct NewDataset<'a> {
    pub name: &'a str,
    pub filename: &'a str,
    pub byte_size: i64,
    pub row_count: i32,
    pub column_profiles: serde_json::Value,
    pub raw_file: &'a [u8],
}

/// Rows per `INSERT ... SELECT unnest(...)` statement: large enough to amortise round trips,
/// small enough to keep each message a few megabytes.
const ROW_BATCH: usize = 5_000;

/// Inserts the dataset and all its rows in one transaction, so a failed upload leaves nothing
/// behind.
pub async fn insert_with_rows(
    conn: &mut AsyncPgConnection,
    dataset: NewDataset<'_>,
    rows: Vec<serde_json::Value>,
) -> QueryResult<DatasetRow> {
    use diesel_async::AsyncConnection;
    conn.transaction(async move |conn| {
        let created = diesel::insert_into(datasets::table)
            .values(&dataset)
            .returning(DatasetRow::as_returning())
            .get_result(conn)
            .await?;
        let mut start = 0usize;
        let mut rows = rows;
        while !rows.is_empty() {
            let rest = rows.split_off(rows.len().min(ROW_BATCH));
            let indexes: Vec<i32> = (start..start + rows.len()).map(|i| i as i32).collect();
            start += rows.len();
            diesel::sql_query(
                "INSERT INTO dataset_rows (dataset_id, row_index, payload) \
                     SELECT $1, i, p FROM unnest($2::int4[], $3::jsonb[]) AS t(i, p)",
            )
            .bind::<BigInt, _>(created.id)
            .bind::<Array<Integer>, _>(indexes)
            .bind::<Array<Jsonb>, _>(rows)
            .execute(conn)
            .await?;
            rows = rest;
        }
        Ok(created)
    })
    .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<DatasetRow>> {
    datasets::table
        .find(id)
        .select(DatasetRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn raw_file(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<Vec<u8>>> {
    datasets::table
        .find(id)
        .select(datasets::raw_file)
        .first(conn)
        .await
        .optional()
}

/// A page of datasets, newest first, after the cursor id (exclusive).
pub async fn page(
    conn: &mut AsyncPgConnection,
    after: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DatasetRow>> {
    let mut query = datasets::table
        .select(DatasetRow::as_select())
        .filter(datasets::deleting.eq(false))
        .order(datasets::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(datasets::id.lt(after));
    }
    query.load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    datasets::table
        .filter(datasets::deleting.eq(false))
        .count()
        .get_result(conn)
        .await
}

/// First `limit` parsed rows, for previews.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    id: i64,
    limit: i64,
) -> QueryResult<Vec<serde_json::Value>> {
    dataset_rows::table
        .filter(dataset_rows::dataset_id.eq(id))
        .order(dataset_rows::row_index)
        .select(dataset_rows::payload)
        .limit(limit)
        .load(conn)
        .await
}

/// Marks the dataset as being deleted; returns false if it does not exist. Runs queued after
/// this point are refused, and the worker drops runs of datasets being deleted.
pub async fn mark_deleting(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    diesel::update(datasets::table.find(id))
        .set(datasets::deleting.eq(true))
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Deletes the dataset; rows, runs and assignments go with it (ON DELETE CASCADE).
pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    diesel::delete(datasets::table.find(id))
        .execute(conn)
        .await
        .map(|n| n == 1)
}
