//! `EXPLAIN (FORMAT JSON)` of any query this crate builds, with its bind values, so a test (or
//! anyone diagnosing a slow page) sees the plan of the exact statement the code sends rather
//! than of a hand-copied twin.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Json;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// Wraps a query in `EXPLAIN`; loads as the plan's JSON document.
pub struct Explain<Q> {
    query: Q,
    analyze: bool,
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Json;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(if self.analyze {
            "EXPLAIN (ANALYZE, FORMAT JSON) "
        } else {
            "EXPLAIN (FORMAT JSON) "
        });
        self.query.walk_ast(out.reborrow())
    }
}

/// The plan PostgreSQL would choose for `query`. With `analyze`, the query also runs and the
/// plan carries actual row counts (`Actual Rows`, `Actual Loops`).
pub async fn plan<Q>(
    conn: &mut AsyncPgConnection,
    query: Q,
    analyze: bool,
) -> diesel::QueryResult<serde_json::Value>
where
    Q: QueryFragment<Pg> + Send,
{
    Explain { query, analyze }.get_result(conn).await
}
