//! Limits that hold on every GraphQL entry point (JSON POST, multipart `operations`, GET and the
//! websocket `subscribe`), because they are checked inside the schema's own request pipeline:
//!
//! * **Nesting** of brackets in the query text (`{`, `[`, `(`) is bounded *before* the parser
//!   runs. async-graphql's parser recurses once per nested list or object literal without a
//!   limit of its own, so a 4 KB query of nested `[` would overflow the stack and abort the
//!   process. Selection sets are limited again, more tightly, by the depth limit.
//! * **Batches** (a JSON array of queries in one request) are capped at [`MAX_BATCH`] queries
//!   and their complexity is counted together: the whole batch gets the budget of one query, so
//!   a batch cannot do more work than a single request may.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerError, ServerResult, ValidationResult, Variables};

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

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimits {
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
        next.run(ctx, query, variables).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
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
