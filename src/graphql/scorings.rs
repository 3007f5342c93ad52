//! New customers placed in a finished run's segments ("scorings").

use async_graphql::{Context, ID, Json, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use super::datasets::upload_of;
use super::ids;
use super::runs::RunObject;
use super::types::{Conn, connection};
use crate::service::scorings::{self, ScoredRow, Scoring};
use crate::service::{self, PageRequest};

/// An upload of new customers placed in the segments of a finished run with its model, without
/// clustering again.
pub struct ScoringObject(pub Scoring);

#[Object(name = "Scoring")]
impl ScoringObject {
    async fn id(&self) -> ID {
        ids::to_id(self.0.id)
    }
    /// The run whose segments the customers were placed in.
    async fn run(&self, ctx: &Context<'_>) -> async_graphql::Result<RunObject> {
        Ok(RunObject(
            service::runs::get(ids::state(ctx)?, self.0.run_id).await?,
        ))
    }
    /// Display name (defaults to the file name without `.csv`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }
    /// Data rows placed (the header is not counted).
    async fn row_count(&self) -> i64 {
        self.0.row_count
    }
    /// The uploaded file's columns, in order.
    async fn columns(&self) -> &[String] {
        &self.0.headers
    }
    /// Customers placed in each segment, segment 0 first.
    async fn segment_sizes(&self) -> &[i64] {
        &self.0.segment_sizes
    }
    /// What did not fit the run exactly: cells filled with the run's values, category levels
    /// the run never saw (with their rows), columns the run did not use.
    async fn notes(&self) -> &[String] {
        &self.0.notes
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The placed customers in row order, one segment or all; page with `first` (at most 1000)
    /// and `after`.
    #[graphql(complexity = "super::types::page_cost(first, child_complexity)")]
    async fn rows(
        &self,
        ctx: &Context<'_>,
        cluster: Option<i32>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<ScoredRowObject>> {
        let page = PageRequest {
            first: super::types::first(first)?,
            after,
        };
        let rows = scorings::rows(ids::state(ctx)?, &self.0, cluster, &page).await?;
        Ok(connection(rows, ScoredRowObject::from))
    }
}

/// One new customer with the segment it was placed in.
#[derive(SimpleObject)]
#[graphql(name = "ScoredRow")]
pub struct ScoredRowObject {
    /// Position of the row in the uploaded file (0 = first data row).
    row_index: i32,
    /// The run's segment number.
    cluster: i32,
    /// What was done to place this row: a cell filled with the run's value, a level the run
    /// never saw. Empty when the row fit the run exactly.
    remarks: Vec<String>,
    /// The uploaded row, typed (numbers as numbers, missing cells as null).
    payload: Json<serde_json::Value>,
}

impl From<ScoredRow> for ScoredRowObject {
    fn from(r: ScoredRow) -> Self {
        ScoredRowObject {
            row_index: r.row_index,
            cluster: r.cluster,
            remarks: r.remarks,
            payload: Json(r.payload),
        }
    }
}

#[derive(Default)]
pub struct ScoringQuery;

#[Object]
impl ScoringQuery {
    /// One scoring by id.
    async fn scoring(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ScoringObject> {
        let id = ids::parse(&id, "scoring")?;
        Ok(ScoringObject(scorings::get(ids::state(ctx)?, id).await?))
    }
}

#[derive(Default)]
pub struct ScoringMutation;

#[Object]
impl ScoringMutation {
    /// Places new customers (a CSV, GraphQL multipart request) in the segments of a succeeded
    /// run, as its model does, without clustering again; the result is stored. A file without
    /// a column the run used, or with words in one of its numeric columns, is refused naming
    /// the columns and rows, and nothing is stored.
    async fn score_customers(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        file: Upload,
        name: Option<String>,
    ) -> async_graphql::Result<ScoringObject> {
        let run_id = ids::parse(&run_id, "run")?;
        let upload = upload_of(ctx, file, name)?;
        let scoring = scorings::score(ids::state(ctx)?, run_id, upload).await?;
        Ok(ScoringObject(scoring))
    }

    /// Deletes a scoring with its rows. Returns the deleted id.
    async fn delete_scoring(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let key = ids::parse(&id, "scoring")?;
        scorings::delete(ids::state(ctx)?, key).await?;
        Ok(id)
    }
}
