//! Limits that hold on every GraphQL entry point (JSON POST, multipart `operations`, GET and the
//! websocket `subscribe`), because they are checked inside the schema's own request pipeline:
//!
//! * **Nesting** of brackets in the query text (`{`, `[`, `(`) is bounded *before* the parser
//!   runs. async-graphql's parser recurses once per nested list or object literal without a
//!   limit of its own, so a 4 KB query of nested `[` would overflow the stack and abort the
//!   process. Selection sets are limited again, more tightly, by the depth limit.
//! * **Depth** of the API's own fields is at most [`MAX_DEPTH`](super::MAX_DEPTH), measured
//!   through fragments. Introspection (`__schema`, `__type` and everything under them) is
//!   measured apart, against [`MAX_INTROSPECTION_DEPTH`](super::MAX_INTROSPECTION_DEPTH): the
//!   standard introspection query of GraphiQL, graphql-js and codegen tools nests deeper than
//!   any sensible data query, and its shape is fixed by the schema, not by the caller's data.
//! * **Complexity** is at most [`MAX_COMPLEXITY`](super::MAX_COMPLEXITY); a refused query is
//!   told its cost, the limit and what to change.
//! * **Batches** (a JSON array of queries in one request) are capped at [`MAX_BATCH`] queries
//!   and their complexity is counted together: the whole batch gets the budget of one query, so
//!   a batch cannot do more work than a single request may.
//! * **Database connections**: a query resolves its root fields concurrently, so 4,000 aliased
//!   `run(id:)` fields (well inside the complexity limit) would each take a pooled connection
//!   and starve every other client and the run worker. Each request holds at most
//!   [`connections_per_request`] at a time ([`AppState::for_one_request`]) and waits for itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
    NextValidation,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerError, ServerResult, ValidationResult, Variables};

use crate::app::AppState;

/// Deepest bracket nesting accepted in a query's text. The standard introspection query nests
/// about 12 deep; the parser's stack lasts for well over a thousand.
pub const MAX_NESTING: usize = 64;

/// Most queries in one batch request.
pub const MAX_BATCH: usize = 10;

/// The complexity still available to the queries of one batch request (shared by them).
pub struct BatchBudget(AtomicUsize);

impl BatchBudget {
    pub fn new(limit: usize) -> Arc<BatchBudget> {
        Arc::new(BatchBudget(AtomicUsize::new(limit)))
    }

    /// Takes `cost` from the budget; false (and nothing taken) when it does not fit.
    fn charge(&self, cost: usize) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimits)
    }
}

/// Pooled connections one GraphQL request may hold at once: a quarter of the pool, so a
/// request however wide leaves three quarters to everyone else, and one that resolves a thing
/// at a time never notices.
pub fn connections_per_request(pool_size: usize) -> usize {
    (pool_size / 4).max(1)
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimits {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = match ctx.data_opt::<AppState>() {
            Some(state) => {
                request.data(state.for_one_request(connections_per_request(state.config.pool_size)))
            }
            None => request,
        };
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if let Some(error) = too_deep(query, MAX_NESTING) {
            return Err(error);
        }
        let document = next.run(ctx, query, variables).await?;
        check_depth(&document)?;
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if result.complexity > super::MAX_COMPLEXITY {
            return Err(vec![ServerError::new(
                format!(
                    "this query's complexity is {}, above the limit of {}: each field costs 1 \
                     and a list multiplies its fields by its `first`; ask for a smaller `first` \
                     and follow `pageInfo.endCursor` with `after`, or select fewer fields",
                    result.complexity,
                    super::MAX_COMPLEXITY
                ),
                None,
            )]);
        }
        if let Some(budget) = ctx.data_opt::<Arc<BatchBudget>>()
            && !budget.charge(result.complexity)
        {
            return Err(vec![ServerError::new(
                format!(
                    "this query's complexity ({}) does not fit in what is left of the batch's \
                     budget: the queries of one batch request share a complexity limit of {}; \
                     send fewer or smaller queries per batch",
                    result.complexity,
                    super::MAX_COMPLEXITY
                ),
                None,
            )]);
        }
        Ok(result)
    }
}

/// Field depths below a selection set: of the API's own fields, and of paths through
/// introspection.
#[derive(Clone, Copy, Default)]
struct Depths {
    own: usize,
    introspection: usize,
}

impl Depths {
    fn max(self, other: Depths) -> Depths {
        Depths {
            own: self.own.max(other.own),
            introspection: self.introspection.max(other.introspection),
        }
    }
}

/// Refuses a document whose operations nest fields deeper than the limits.
fn check_depth(document: &ExecutableDocument) -> ServerResult<()> {
    let mut walk = DepthWalk {
        document,
        fragments: HashMap::new(),
    };
    let depths = document
        .operations
        .iter()
        .map(|(_, op)| walk.selection(&op.node.selection_set.node, false))
        .fold(Depths::default(), Depths::max);
    let refuse = |what: &str, depth: usize, limit: usize| {
        Err(ServerError::new(
            format!(
                "this query nests {what} {depth} deep, above the limit of {limit}; ask for fewer \
                 levels and read nested data with a second query"
            ),
            None,
        ))
    };
    if depths.own > super::MAX_DEPTH {
        return refuse("fields", depths.own, super::MAX_DEPTH);
    }
    if depths.introspection > super::MAX_INTROSPECTION_DEPTH {
        return refuse(
            "introspection fields",
            depths.introspection,
            super::MAX_INTROSPECTION_DEPTH,
        );
    }
    Ok(())
}

/// Measures depths through fragments, each fragment once (so fragments that spread each other
/// twice per level cost linear, not exponential, time) and a fragment cycle counts as empty
/// (validation refuses cycles afterwards).
struct DepthWalk<'a> {
    document: &'a ExecutableDocument,
    /// Per fragment and whether it is entered inside introspection: its depths, or `None`
    /// while it is being measured.
    fragments: HashMap<(&'a str, bool), Option<Depths>>,
}

impl<'a> DepthWalk<'a> {
    fn selection(&mut self, set: &'a SelectionSet, in_introspection: bool) -> Depths {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let introspection = in_introspection || name == "__schema" || name == "__type";
                    let below = self.selection(&field.node.selection_set.node, introspection);
                    if introspection {
                        Depths {
                            own: 0,
                            introspection: below.introspection + 1,
                        }
                    } else {
                        Depths {
                            own: below.own + 1,
                            introspection: below.introspection
                                + usize::from(below.introspection > 0),
                        }
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.selection(&inline.node.selection_set.node, in_introspection)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), in_introspection)
                }
            })
            .fold(Depths::default(), Depths::max)
    }

    fn fragment(&mut self, name: &'a str, in_introspection: bool) -> Depths {
        let key = (name, in_introspection);
        if let Some(known) = self.fragments.get(&key) {
            return known.unwrap_or_default();
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Depths::default();
        };
        self.fragments.insert(key, None);
        let depths = self.selection(&fragment.node.selection_set.node, in_introspection);
        self.fragments.insert(key, Some(depths));
        depths
    }
}

/// The error for a query whose brackets nest deeper than `limit`, naming where.
fn too_deep(query: &str, limit: usize) -> Option<ServerError> {
    let (line, column) = first_too_deep(query, limit)?;
    Some(ServerError::new(
        format!(
            "the query nests brackets more than {limit} deep (at line {line}, column {column}); \
             flatten the list or object literal, or pass it as a variable"
        ),
        Some(async_graphql::Pos { line, column }),
    ))
}

/// Line and column (1-based, in characters) of the first bracket that opens level `limit + 1`,
/// skipping strings, block strings and comments, where brackets are text.
fn first_too_deep(query: &str, limit: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1usize, 0usize);
    let mut chars = query.chars().peekable();
    // Inside a string: Some(true) for a block string `"""`, Some(false) for `"`.
    let mut string: Option<bool> = None;
    let mut comment = false;
    let mut quotes = 0usize; // consecutive `"` seen, to recognise `"""`
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
            column = 0;
        } else {
            column += 1;
        }
        if comment {
            comment = c != '\n' && c != '\r';
            continue;
        }
        match string {
            Some(block) => {
                if c == '\\' {
                    // An escape: the next character is text (`\"`, `\"""` in block strings).
                    if let Some(escaped) = chars.next() {
                        column += 1;
                        if escaped == '\n' {
                            line += 1;
                            column = 0;
                        }
                    }
                    quotes = 0;
                    continue;
                }
                if c == '"' {
                    quotes += 1;
                    if !block || quotes == 3 {
                        string = None;
                        quotes = 0;
                    }
                } else {
                    quotes = 0;
                    if !block && c == '\n' {
                        string = None; // an unterminated string; the parser will say so
                    }
                }
            }
            None => match c {
                '#' => comment = true,
                '"' => {
                    let block = chars.peek() == Some(&'"') && {
                        let mut ahead = chars.clone();
                        ahead.next();
                        ahead.peek() == Some(&'"')
                    };
                    if block {
                        chars.next();
                        chars.next();
                        column += 2;
                    }
                    string = Some(block);
                    quotes = 0;
                }
                '{' | '[' | '(' => {
                    depth += 1;
                    if depth > limit {
                        return Some((line, column));
                    }
                }
                '}' | ']' | ')' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!(
            "{{ runs(datasetId: {}1{}) {{ totalCount }} }}",
            open.repeat(n),
            close.repeat(n)
        )
    }

    #[test]
    fn counts_lists_objects_and_selections() {
        assert_eq!(first_too_deep(&nested("[", "]", 10), 64), None);
        // `{` of the operation, `(` of the arguments, then the lists.
        assert_eq!(first_too_deep(&nested("[", "]", 62), 64), None);
        assert_eq!(first_too_deep(&nested("[", "]", 63), 64), Some((1, 81)));
        assert!(first_too_deep(&nested("{a: ", "}", 2000), 64).is_some());
        assert!(first_too_deep(&"{ a ".repeat(100), 64).is_some());
    }

    #[test]
    fn brackets_in_strings_and_comments_are_text() {
        let q = format!(
            "{{ a(x: \"{}\", y: \"\"\"{}\\\"\"\"{}\"\"\") }} # {}\n{{ b }}",
            "[".repeat(100),
            "{".repeat(100),
            "(".repeat(100),
            "[".repeat(100)
        );
        assert_eq!(first_too_deep(&q, 3), None);
        // An escaped quote does not end the string.
        assert_eq!(
            first_too_deep(&format!("{{ a(x: \"\\\"{}\") }}", "[".repeat(9)), 3),
            None
        );
    }

    #[test]
    fn reports_the_line_of_the_bracket() {
        let q = "{\n  a(x:\n    [[[1]]])\n}";
        assert_eq!(first_too_deep(q, 4), Some((3, 7)));
    }

    #[test]
    fn batch_budget_is_shared() {
        let budget = BatchBudget::new(10);
        assert!(budget.charge(6));
        assert!(!budget.charge(5));
        assert!(budget.charge(4));
        assert!(!budget.charge(1));
    }
}
