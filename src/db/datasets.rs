//! Queries on `datasets` and `dataset_rows`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::copy;
use super::schema::{dataset_rows, datasets};
use crate::engine::ingest;

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

pub struct NewDataset<'a> {
    pub name: &'a str,
    pub filename: &'a str,
    pub byte_size: i64,
    pub row_count: i32,
    pub column_profiles: serde_json::Value,
    pub raw_file: &'a [u8],
}

/// Inserts the dataset and streams its rows in with `COPY`, in one transaction on a
/// connection of its own ([`super::copy`]), so a failed upload leaves nothing behind. Each row
/// is stored as the table's JSON object ([`ingest::JsonRows`]), written straight into the
/// stream on a blocking thread. Returns the new dataset's id.
pub async fn insert_with_rows(
    database_url: &str,
    dataset: NewDataset<'_>,
    table: ingest::Table,
) -> Result<i64, tokio_postgres::Error> {
    let client = copy::begin(database_url).await?;
    let columns = dataset.column_profiles.to_string();
    let id: i64 = client
        .query_one(
            "INSERT INTO datasets (name, filename, byte_size, row_count, columns, raw_file) \
             VALUES ($1, $2, $3, $4, $5::text::jsonb, $6) RETURNING id",
            &[
                &dataset.name,
                &dataset.filename,
                &dataset.byte_size,
                &dataset.row_count,
                &columns,
                &dataset.raw_file,
            ],
        )
        .await?
        .get(0);
    copy::copy_in_encoded_apart(
        &client,
        "COPY dataset_rows (dataset_id, row_index, payload) FROM STDIN (FORMAT binary)",
        move |feed| {
            let rows = table.json_rows();
            feed.send_all(copy::chunks(0..table.n_rows, 3, |e, i| {
                e.int8(id);
                e.int4(i as i32);
                e.jsonb(|out| rows.write(i, out));
            }));
        },
    )
    .await?;
    copy::commit(client).await?;
    Ok(id)
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
