//! The segment of every customer, paged for BI tools.

use async_graphql::{Context, ID, Json, Object, SimpleObject};

use super::ids;
use super::types::{Conn, connection};
use crate::service::{self, PageRequest, assignments::Assignment};

/// One customer row with its segment.
#[derive(SimpleObject)]
#[graphql(name = "Assignment")]
pub struct AssignmentObject {
    /// Position of the row in the uploaded file (0 = first data row).
    row_index: i32,
    /// Segment number: 0 is the largest segment.
    cluster: i32,
    /// How well the row fits its segment (-1..1).
    silhouette: Option<f64>,
    /// The original row, typed (numbers as numbers, missing cells as null).
    payload: Json<serde_json::Value>,
}

impl From<Assignment> for AssignmentObject {
    fn from(a: Assignment) -> Self {
        AssignmentObject {
            row_index: a.row_index,
            cluster: a.cluster,
            silhouette: a.silhouette,
            payload: Json(a.payload),
        }
    }
}

#[derive(Default)]
pub struct AssignmentQuery;

#[Object]
impl AssignmentQuery {
    /// A run's assignments in row order; page with `first` (at most 1000) and `after`
    /// (the previous page's `pageInfo.endCursor`). Empty until the run succeeds.
    #[graphql(complexity = "super::types::page_cost(first, child_complexity)")]
    async fn assignments(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        cluster: Option<i32>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<AssignmentObject>> {
        let run_id = ids::parse(&run_id, "run")?;
        let page = PageRequest {
            first: super::types::first(first)?,
            after,
        };
        let rows = service::assignments::list(ids::state(ctx)?, run_id, cluster, &page).await?;
        Ok(connection(rows, AssignmentObject::from))
    }
}
