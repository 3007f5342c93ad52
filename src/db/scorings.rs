//! Queries on `scorings` and `scored_rows`: new customers placed in a finished run's segments.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Jsonb};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{scored_rows, scorings};

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

#[derive(Insertable)]
#[diesel(table_name = scorings)]
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

/// One placed customer as stored.
#[derive(Clone, Debug)]
pub struct NewScoredRow {
    pub cluster: i32,
    pub remarks: Vec<String>,
    pub payload: serde_json::Value,
}

/// Rows per insert statement; see `datasets::ROW_BATCH`.
const ROW_BATCH: usize = 5_000;

/// Inserts the scoring and all its rows in one transaction, so a failed upload leaves nothing
/// behind.
pub async fn insert_with_rows(
    conn: &mut AsyncPgConnection,
    scoring: NewScoring<'_>,
    rows: Vec<NewScoredRow>,
) -> QueryResult<ScoringRow> {
    conn.transaction(async move |conn| {
        let created = diesel::insert_into(scorings::table)
            .values(&scoring)
            .returning(ScoringRow::as_returning())
            .get_result(conn)
            .await?;
        let mut rows = rows.into_iter().peekable();
        let mut start = 0usize;
        while rows.peek().is_some() {
            // The rows move into the statement's arrays, batch by batch, without copies.
            let (mut labels, mut remarks, mut payloads) = (Vec::new(), Vec::new(), Vec::new());
            for row in rows.by_ref().take(ROW_BATCH) {
                labels.push(row.cluster);
                // PostgreSQL arrays are rectangular, so each row's remarks travel as one JSON
                // array.
                remarks.push(serde_json::Value::from(row.remarks));
                payloads.push(row.payload);
            }
            let indexes: Vec<i32> = (start..start + labels.len()).map(|i| i as i32).collect();
            start += labels.len();
            diesel::sql_query(
                "INSERT INTO scored_rows (scoring_id, row_index, cluster_label, remarks, payload) \
                 SELECT $1, i, l, ARRAY(SELECT jsonb_array_elements_text(m)), p \
                 FROM unnest($2::int4[], $3::int4[], $4::jsonb[], $5::jsonb[]) AS t(i, l, m, p)",
            )
            .bind::<BigInt, _>(created.id)
            .bind::<Array<Integer>, _>(indexes)
            .bind::<Array<Integer>, _>(labels)
            .bind::<Array<Jsonb>, _>(remarks)
            .bind::<Array<Jsonb>, _>(payloads)
            .execute(conn)
            .await?;
        }
        Ok(created)
    })
    .await
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

    /// How many rows the query selects on all its pages.
    pub async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        let mut query = scored_rows::table
            .filter(scored_rows::scoring_id.eq(self.scoring_id))
            .into_boxed();
        if let Some(cluster) = self.cluster {
            query = query.filter(scored_rows::cluster_label.eq(cluster));
        }
        query.count().get_result(conn).await
    }
}
