//! Queries on `cluster_assignments`, joined with `dataset_rows` for the original row.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Float8, Integer, Jsonb, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::cluster_assignments;

/// Writes every assignment of a run with `COPY`. Called inside the transaction that marks it
/// succeeded ([`super::runs::complete`]); the rows are a few bytes each, so they are encoded
/// as they are sent.
pub async fn copy_all(
    client: &tokio_postgres::Client,
    run_id: i64,
    labels: &[i32],
    silhouettes: &[Option<f64>],
) -> Result<u64, tokio_postgres::Error> {
    let rows = labels.iter().zip(silhouettes).enumerate();
    let chunks = super::copy::chunks(rows, 4, |e, (i, (&label, &silhouette))| {
        e.int8(run_id);
        e.int4(i as i32);
        e.int4(label);
        e.float8(silhouette);
    });
    super::copy::copy_in(
        client,
        "COPY cluster_assignments (run_id, row_index, cluster_label, silhouette) \
         FROM STDIN (FORMAT binary)",
        futures::stream::iter(chunks),
    )
    .await
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

/// What a page of assignments is sorted by. Every order ends in row order, so a page boundary
/// always falls in the same place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Row,
    Segment,
    /// The row's silhouette; rows without one come last.
    Fit,
    /// A column of the original row, compared as PostgreSQL compares JSON values (numbers by
    /// value, text alphabetically); missing cells come last.
    Column(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Order {
    pub key: SortKey,
    pub descending: bool,
}

/// Rows whose `column` contains `text`, ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub column: String,
    pub text: String,
}

impl Search {
    /// The `ILIKE` pattern: the text with its wildcards escaped, anywhere in the cell.
    fn pattern(&self) -> String {
        let mut pattern = String::from("%");
        for c in self.text.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        pattern
    }
}

/// A page of a run's assignments: after `after` (exclusive; row order only), skipping
/// `offset`, at most `limit`, optionally one segment only or the rows a search finds, in
/// `order`.
///
/// In the orders that need only `cluster_assignments` (row, segment, fit) and without a search,
/// the statement is written so that its plan does not depend on table statistics, which are
/// stale on servers without autovacuum: the page is cut from `cluster_assignments` first (its
/// primary key serves `run_id` in row order), and each of those rows then fetches its payload
/// by the full primary key of `dataset_rows`, with the run's dataset id as a bound value. The
/// `LIMIT 1` keeps the lateral subquery from being flattened into an ordinary join, which the
/// planner could otherwise turn into a scan of every row of the dataset (a hash join, or a
/// nested loop on `dataset_id` alone when the statistics predate the dataset): a page reads as
/// many payloads as it returns, whatever the statistics say. Sorting by a column of the row, or
/// searching one, needs every payload of the run and joins them.
#[derive(Clone, Debug, Default)]
pub struct PageQuery {
    pub run_id: i64,
    /// The run's dataset, looked up beforehand (see above).
    pub dataset_id: i64,
    pub cluster: Option<i32>,
    pub search: Option<Search>,
    pub after: Option<i32>,
    pub order: Order,
    pub offset: i64,
    pub limit: i64,
}

impl PageQuery {
    /// Whether the statement reads the payloads of every selected row rather than the page's.
    fn joins_payloads(&self) -> bool {
        self.search.is_some() || matches!(self.order.key, SortKey::Column(_))
    }

    /// The `WHERE` conditions after `run_id = $1`, numbering placeholders from `$3` in the
    /// order [`PageQuery::bind_filters`] binds them; `next` is left at the next free number.
    fn filters(&self, next: &mut usize) -> String {
        let mut param = || {
            *next += 1;
            format!("${}", *next - 1)
        };
        let mut sql = String::new();
        if self.cluster.is_some() {
            sql.push_str(&format!(" AND a.cluster_label = {}", param()));
        }
        if self.after.is_some() {
            sql.push_str(&format!(" AND a.row_index > {}", param()));
        }
        if self.search.is_some() {
            sql.push_str(&format!(" AND r.payload ->> {} ILIKE {}", param(), param()));
        }
        sql
    }

    fn bind_filters(
        &self,
        query: BoxedSqlQuery<'static, Pg, SqlQuery>,
    ) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut query = query
            .bind::<BigInt, _>(self.run_id)
            .bind::<BigInt, _>(self.dataset_id);
        if let Some(cluster) = self.cluster {
            query = query.bind::<Integer, _>(cluster);
        }
        if let Some(after) = self.after {
            query = query.bind::<Integer, _>(after);
        }
        if let Some(search) = &self.search {
            query = query
                .bind::<Text, _>(search.column.clone())
                .bind::<Text, _>(search.pattern());
        }
        query
    }

    /// The `ORDER BY` list, taking a placeholder for a column's name.
    fn order_by(&self, next: &mut usize) -> String {
        let direction = if self.order.descending { " DESC" } else { "" };
        match &self.order.key {
            SortKey::Row => format!("a.row_index{direction}"),
            SortKey::Segment => format!("a.cluster_label{direction}, a.row_index"),
            SortKey::Fit => format!("a.silhouette{direction} NULLS LAST, a.row_index"),
            SortKey::Column(_) => {
                let cell = format!("r.payload -> ${next}");
                *next += 1;
                format!(
                    "coalesce(jsonb_typeof({cell}), 'null') = 'null', {cell}{direction}, a.row_index"
                )
            }
        }
    }

    /// The statement with its bind values, for [`PageQuery::fetch`] and for `EXPLAIN`
    /// ([`super::explain::plan`]).
    pub fn query(&self) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
        let mut next = 3;
        let filters = self.filters(&mut next);
        let order = self.order_by(&mut next);
        let (limit, offset) = (next, next + 1);
        let sql = if self.joins_payloads() {
            format!(
                "SELECT a.row_index, a.cluster_label, a.silhouette, r.payload \
                 FROM cluster_assignments AS a JOIN dataset_rows AS r \
                   ON r.dataset_id = $2 AND r.row_index = a.row_index \
                 WHERE a.run_id = $1{filters} \
                 ORDER BY {order} LIMIT ${limit} OFFSET ${offset}"
            )
        } else {
            format!(
                "SELECT a.row_index, a.cluster_label, a.silhouette, r.payload \
                 FROM (SELECT row_index, cluster_label, silhouette FROM cluster_assignments AS a \
                       WHERE a.run_id = $1{filters} \
                       ORDER BY {order} LIMIT ${limit} OFFSET ${offset}) AS a \
                 CROSS JOIN LATERAL (SELECT payload FROM dataset_rows \
                       WHERE dataset_id = $2 AND row_index = a.row_index LIMIT 1) AS r \
                 ORDER BY {order}"
            )
        };
        let mut query = self.bind_filters(diesel::sql_query(sql).into_boxed());
        if let SortKey::Column(column) = &self.order.key {
            query = query.bind::<Text, _>(column.clone());
        }
        query
            .bind::<BigInt, _>(self.limit)
            .bind::<BigInt, _>(self.offset)
    }

    pub async fn fetch(&self, conn: &mut AsyncPgConnection) -> QueryResult<Vec<AssignmentRow>> {
        self.query().load(conn).await
    }

    /// How many rows the query selects on all its pages (`after`, `offset` and `limit` aside).
    pub async fn count(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        let query = PageQuery {
            after: None,
            ..self.clone()
        };
        let filters = query.filters(&mut 3);
        let join = if query.search.is_some() {
            " JOIN dataset_rows AS r ON r.dataset_id = $2 AND r.row_index = a.row_index"
        } else {
            ""
        };
        let sql = format!(
            "SELECT count(*) AS count FROM cluster_assignments AS a{join} \
             WHERE a.run_id = $1{filters}"
        );
        let counted: Count = query
            .bind_filters(diesel::sql_query(sql).into_boxed())
            .get_result(conn)
            .await?;
        Ok(counted.count)
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
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
