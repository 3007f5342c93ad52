//! Queries on `scorings` and `scored_rows`: new customers placed in a finished run's segments.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::copy;
use super::schema::{scored_rows, scorings};
use crate::engine::ingest;

#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = scorings)]
pub struct ScoringRow {
    pub id: i64,
    pub run_id: i64,
    pub name: String,
    pub filename: String,
    pub byte_size: i64,
    pub row_count: i32,
    pub headers: serde_json::Value,
    pub notes: serde_json::Value,
    pub segment_sizes: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub struct NewScoring<'a> {
    pub run_id: i64,
    pub name: &'a str,
    pub filename: &'a str,
    pub byte_size: i64,
    pub row_count: i32,
    pub headers: serde_json::Value,
    pub notes: serde_json::Value,
    pub segment_sizes: serde_json::Value,
}

/// Inserts the scoring and streams its rows in with `COPY`, in one transaction on a
/// connection of its own (as [`super::datasets::insert_with_rows`] does for a dataset), so a
/// failed upload leaves nothing behind. Row `i` of `table` is stored with `labels[i]` and
/// `remarks[i]`. Returns the new scoring's id.
pub async fn insert_with_rows(
    database_url: &str,
    scoring: NewScoring<'_>,
    table: ingest::Table,
    labels: Vec<usize>,
    remarks: Vec<Vec<String>>,
) -> Result<i64, tokio_postgres::Error> {
    let client = copy::begin(database_url).await?;
    let id: i64 = client
        .query_one(
            "INSERT INTO scorings (run_id, name, filename, byte_size, row_count, headers, notes, \
                 segment_sizes) \
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8::text::jsonb) \
             RETURNING id",
            &[
                &scoring.run_id,
                &scoring.name,
                &scoring.filename,
                &scoring.byte_size,
                &scoring.row_count,
                &scoring.headers.to_string(),
                &scoring.notes.to_string(),
                &scoring.segment_sizes.to_string(),
            ],
        )
        .await?
        .get(0);
    copy::copy_in_encoded_apart(
        &client,
        "COPY scored_rows (scoring_id, row_index, cluster_label, remarks, payload) \
         FROM STDIN (FORMAT binary)",
        move |feed| {
            let rows = table.json_rows();
            let placed = labels.into_iter().zip(remarks).enumerate();
            feed.send_all(copy::chunks(placed, 5, |e, (i, (label, remarks))| {
                e.int8(id);
                e.int4(i as i32);
                e.int4(label as i32);
                e.text_array(&remarks);
                e.jsonb(|out| rows.write(i, out));
            }));
        },
    )
    .await?;
    copy::commit(client).await?;
    Ok(id)
}

pub async fn find(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<ScoringRow>> {
    scorings::table
        .find(id)
        .select(ScoringRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A run's scorings, newest first.
pub async fn of_run(conn: &mut AsyncPgConnection, run_id: i64) -> QueryResult<Vec<ScoringRow>> {
    scorings::table
        .filter(scorings::run_id.eq(run_id))
        .order(scorings::id.desc())
        .select(ScoringRow::as_select())
        .load(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    let deleted = diesel::delete(scorings::table.find(id))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// One placed customer.
#[derive(Queryable, Selectable, Clone, Debug)]
#[diesel(table_name = scored_rows)]
pub struct ScoredRow {
    pub row_index: i32,
    pub cluster_label: i32,
    pub remarks: Vec<Option<String>>,
    pub payload: serde_json::Value,
}

/// A page of a scoring's rows in row order: one segment or all, after `after` (exclusive),
/// skipping `offset`, at most `limit`. The primary key and the label index serve both.
#[derive(Clone, Debug, Default)]
pub struct RowQuery {
    pub scoring_id: i64,
    pub cluster: Option<i32>,
    pub after: Option<i32>,
    pub offset: i64,
    pub limit: i64,
}

impl RowQuery {
    pub async fn fetch(&self, conn: &mut AsyncPgConnection) -> QueryResult<Vec<ScoredRow>> {
        let mut query = scored_rows::table
            .filter(scored_rows::scoring_id.eq(self.scoring_id))
            .into_boxed();
        if let Some(cluster) = self.cluster {
            query = query.filter(scored_rows::cluster_label.eq(cluster));
        }
        if let Some(after) = self.after {
            query = query.filter(scored_rows::row_index.gt(after));
        }
        query
            .order(scored_rows::row_index)
            .offset(self.offset)
            .limit(self.limit)
            .select(ScoredRow::as_select())
            .load(conn)
            .await
    }
}
