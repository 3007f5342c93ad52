//! GraphQL over HTTP, as its specification asks:
//!
//! * **GET** runs queries (`?query=...&operationName=...&variables=<JSON>&extensions=<JSON>`),
//!   so dashboards can use cacheable URLs; answers carry an `ETag` (a repeated request with
//!   `If-None-Match` gets `304`) and `Cache-Control: private, no-cache`. Mutations and
//!   subscriptions over GET are refused with `405` and `Allow: GET, POST`.
//! * **Media types**: the answer is `application/graphql-response+json` when `Accept` asks for
//!   it, else `application/json` (also for `*/*` and requests without `Accept`, as older clients
//!   expect); `Accept` naming neither is `406`.
//! * **Status codes**: with `application/graphql-response+json`, a request that never reached
//!   execution (syntax, validation, limits, variables) is `400` and one that ran is `200`, even
//!   with field errors. With `application/json` GraphQL answers are `200`, as legacy clients
//!   expect. In both, a request refused for its access is `401`/`403` and a body that is not a
//!   GraphQL request is `400`.

use super::codes::coded;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{BaseType, ExecutableDocument, OperationType, Type};
use async_graphql::{BatchResponse, Request, ServerError, ServerResult, Variables};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// The answer's media type, chosen from `Accept`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/json`: every GraphQL answer is `200`.
    Json,
    /// `application/graphql-response+json`: the status tells request errors (`400`) apart.
    GraphqlResponse,
}

impl Media {
    const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

    /// The media type `Accept` prefers (by `q`, ties to `application/graphql-response+json`),
    /// or `None` when it accepts neither.
    pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
            return Some(Media::Json);
        };
        let mut best: Option<(f32, Media)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let media = match name.as_str() {
                Self::GRAPHQL_RESPONSE => Media::GraphqlResponse,
                "application/json" | "application/*" | "*/*" => Media::Json,
                _ => continue,
            };
            let better = match best {
                None => true,
                Some((best_q, best_media)) => {
                    q > best_q
                        || (q == best_q
                            && media == Media::GraphqlResponse
                            && best_media == Media::Json)
                }
            };
            if q > 0.0 && better {
                best = Some((q, media));
            }
        }
        best.map(|(_, media)| media)
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Media::Json => HeaderValue::from_static("application/json"),
            Media::GraphqlResponse => HeaderValue::from_static(Self::GRAPHQL_RESPONSE),
        }
    }

    /// `406` for an `Accept` that names neither media type.
    pub fn not_acceptable() -> Response {
        let error = AppError::BadInput(format!(
            "`Accept` names no type this endpoint answers with: ask for `application/json` or \
             `{}`",
            Self::GRAPHQL_RESPONSE
        ));
        error_response(Media::Json, StatusCode::NOT_ACCEPTABLE, &error)
    }
}

/// What the HTTP layer and the schema tell each other about one request of a batch: whether
/// it came over GET (the schema refuses mutations then), and whether it reached execution
/// (for the status code).
#[derive(Default)]
pub struct Exchange {
    over_get: bool,
    /// The request carries files (a multipart upload).
    files: bool,
    executed: AtomicBool,
}

impl Exchange {
    /// Adds an exchange to each request of `batch`, returning them in order.
    pub fn attach(
        batch: async_graphql::BatchRequest,
        over_get: bool,
    ) -> (async_graphql::BatchRequest, Vec<Arc<Exchange>>) {
        let mut exchanges = Vec::new();
        let mut with = |request: Request| {
            let exchange = Arc::new(Exchange {
                over_get,
                files: !request.uploads.is_empty(),
                executed: AtomicBool::new(false),
            });
            exchanges.push(exchange.clone());
            request.data(exchange)
        };
        let batch = match batch {
            async_graphql::BatchRequest::Single(r) => async_graphql::BatchRequest::Single(with(r)),
            async_graphql::BatchRequest::Batch(rs) => {
                async_graphql::BatchRequest::Batch(rs.into_iter().map(&mut with).collect())
            }
        };
        (batch, exchanges)
    }
}

impl Exchange {
    /// Refuses what this request's transport cannot carry: mutations over GET, subscriptions
    /// over GET or POST (they need the websocket), and a file mapped onto a variable that is
    /// not an `Upload` (async-graphql would hand the variable its internal placeholder text).
    fn check(&self, document: &ExecutableDocument, variables: &Variables) -> ServerResult<()> {
        const SUBSCRIBE: &str = "subscribe over the websocket at /graphql/ws";
        for (_, op) in document.operations.iter() {
            let refused = match (op.node.ty, self.over_get) {
                (OperationType::Mutation, true) => Some(("mutations", "GET", "send it with POST")),
                (OperationType::Subscription, true) => Some(("subscriptions", "GET", SUBSCRIBE)),
                (OperationType::Subscription, false) => Some(("subscriptions", "POST", SUBSCRIBE)),
                _ => None,
            };
            if let Some((kind, method, how)) = refused {
                // Over GET the method is wrong (405, `Allow: GET, POST`); over POST the request.
                let code = if self.over_get {
                    METHOD_NOT_ALLOWED
                } else {
                    "BAD_USER_INPUT"
                };
                return Err(coded(
                    format!("{kind} are not accepted over {method}: {how}"),
                    code,
                ));
            }
            if !self.files {
                continue;
            }
            for definition in &op.node.variable_definitions {
                let definition = &definition.node;
                let ty = &definition.var_type.node;
                let has_file = variables.get(&definition.name.node).is_some_and(holds_file);
                if has_file && named_type(ty) != "Upload" {
                    return Err(coded(
                        format!(
                            "the multipart `map` puts a file in the variable `${}`, which is \
                             declared `{ty}`, not `Upload`; map files only onto `Upload` variables",
                            definition.name.node
                        ),
                        "BAD_USER_INPUT",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `value` is, or holds, the placeholder async-graphql puts where the multipart `map`
/// sends a file.
fn holds_file(value: &async_graphql::Value) -> bool {
    use async_graphql::Value;
    match value {
        Value::String(s) => s.starts_with("#__graphql_file__:"),
        Value::List(items) => items.iter().any(holds_file),
        Value::Object(fields) => fields.values().any(holds_file),
        _ => false,
    }
}

/// The named type under a variable's list and non-null wrappers.
fn named_type(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named_type(inner),
    }
}

/// The schema's side of [`Exchange`]: refuses what the transport cannot carry
/// ([`Exchange::check`]) and notes which requests reached execution.
pub struct Transport;

impl ExtensionFactory for Transport {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Transport)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Transport {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // Websocket requests have no exchange: subscriptions are what they are for.
        if let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() {
            exchange.check(&document, variables)?;
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> async_graphql::Response {
        if let Some(exchange) = ctx.data_opt::<Arc<Exchange>>() {
            exchange.executed.store(true, Ordering::Relaxed);
        }
        next.run(ctx, operation_name).await
    }
}

/// The code of an operation refused for the HTTP method it came with.
const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";

/// Reads a GET request's parameters (`query`, `operationName`, `variables`, `extensions`; the
/// last two JSON). A parameter given twice, or JSON that does not parse, is refused by name.
pub fn from_query_string(query_string: &str) -> Result<Request, AppError> {
    let mut fields: [(&str, Option<String>); 4] = [
        ("query", None),
        ("operationName", None),
        ("variables", None),
        ("extensions", None),
    ];
    for (key, value) in url::form_urlencoded::parse(query_string.as_bytes()) {
        if let Some((name, slot)) = fields.iter_mut().find(|(name, _)| *name == key) {
            if slot.is_some() {
                return Err(AppError::BadInput(format!(
                    "the `{name}` parameter is given twice"
                )));
            }
            *slot = Some(value.into_owned());
        }
    }
    let [
        (_, query),
        (_, operation_name),
        (_, variables),
        (_, extensions),
    ] = fields;
    let json = |name: &str, text: Option<String>| -> Result<Option<serde_json::Value>, AppError> {
        text.filter(|t| !t.is_empty())
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| AppError::BadInput(format!("the `{name}` parameter is not JSON: {e}")))
    };
    let mut request = Request::new(query.unwrap_or_default());
    request.operation_name = operation_name.filter(|n| !n.is_empty());
    if let Some(variables) = json("variables", variables)? {
        request.variables = Variables::from_json(variables);
    }
    if let Some(extensions) = json("extensions", extensions)? {
        let serde_json::Value::Object(map) = extensions else {
            return Err(AppError::BadInput(
                "the `extensions` parameter must be a JSON object".into(),
            ));
        };
        for (key, value) in map {
            let value = async_graphql::Value::from_json(value)
                .map_err(|e| AppError::BadInput(format!("the `extensions` parameter: {e}")))?;
            request.extensions.insert(key, value);
        }
    }
    check_query(&request, "GET /graphql", "parameter")?;
    Ok(request)
}

/// Refuses a request without a query (and without a persisted query's hash to stand for one),
/// which async-graphql would answer with its parser's trace of the empty document.
/// `what` names the request and `field` what a `query` is in its transport.
pub fn check_query(request: &Request, what: &str, field: &str) -> Result<(), AppError> {
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return Err(AppError::BadInput(format!(
            "{what} needs a `query` {field} holding the GraphQL document (or a persisted \
             query's hash in `extensions`)"
        )));
    }
    Ok(())
}

/// Reads a POST body of JSON: one request object, or a batch (a non-empty array of them). A
/// request is checked field by field, so a mistake is named in GraphQL's words rather than
/// serde's ("data did not match any variant of untagged enum BatchRequest").
pub fn from_json(body: &[u8]) -> Result<async_graphql::BatchRequest, AppError> {
    use async_graphql::BatchRequest;
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::BadInput(format!("the body is not JSON: {e}")))?;
    match value {
        serde_json::Value::Array(items) if items.is_empty() => Err(AppError::BadInput(
            "the body is an empty batch: send a request object, or an array of at least one".into(),
        )),
        serde_json::Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| request_from_json(item, &format!("request {i} of the batch")))
            .collect::<Result<_, _>>()
            .map(BatchRequest::Batch),
        single => request_from_json(single, "the body").map(BatchRequest::Single),
    }
}

/// Whether a request field holds a value of the kind GraphQL over HTTP asks for.
type Fits = fn(&serde_json::Value) -> bool;

/// One request of a POST body; `what` says where it stands, for messages.
fn request_from_json(value: serde_json::Value, what: &str) -> Result<Request, AppError> {
    use serde_json::Value;
    let Value::Object(fields) = &value else {
        return Err(AppError::BadInput(format!(
            "{what} is {}, not a GraphQL request: send an object such as \
             {{\"query\": \"{{ datasets {{ totalCount }} }}\"}}",
            crate::http::json_kind(&value)
        )));
    };
    // async-graphql also takes an empty array for `variables`, as some clients send it.
    let rules: [(&str, Fits, &str); 4] = [
        (
            "query",
            Value::is_string,
            "a string holding the GraphQL document",
        ),
        (
            "operationName",
            |v| v.is_string() || v.is_null(),
            "a string or null",
        ),
        (
            "variables",
            |v| v.is_object() || v.is_null() || v.as_array().is_some_and(Vec::is_empty),
            "an object of the variables' values, or null",
        ),
        (
            "extensions",
            |v| v.is_object() || v.is_null(),
            "an object or null",
        ),
    ];
    for (name, fits, wanted) in rules {
        if let Some(sent) = fields.get(name).filter(|v| !fits(v)) {
            return Err(AppError::BadInput(format!(
                "{what}: `{name}` must be {wanted}, not {}",
                crate::http::json_kind(sent)
            )));
        }
    }
    let request: Request = serde_json::from_value(value)
        .map_err(|e| AppError::BadInput(format!("{what} is not a GraphQL request: {e}")))?;
    check_query(&request, what, "field")?;
    Ok(request)
}

/// The HTTP answer to an executed batch.
pub fn respond(media: Media, response: BatchResponse, exchanges: &[Arc<Exchange>]) -> Response {
    let status = status(media, &response, exchanges);
    let failed = match &response {
        BatchResponse::Single(r) => r.is_err(),
        BatchResponse::Batch(rs) => rs.iter().any(|r| r.is_err()),
    };
    let body = match serde_json::to_vec(&response) {
        Ok(body) => body,
        Err(e) => {
            let error = AppError::Internal(anyhow::anyhow!("serialising a GraphQL answer: {e}"));
            error.log();
            return error_response(media, StatusCode::INTERNAL_SERVER_ERROR, &error);
        }
    };
    let mut answer = (status, body).into_response();
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    if failed {
        // An answer with errors (a transient `UNAVAILABLE`, a persisted query not yet known)
        // is never to be replayed from a cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    answer
}

/// The status of an answer: `403`/`405` when every operation was refused for that reason, `400`
/// for a request error in `application/graphql-response+json`, else `200`.
fn status(media: Media, response: &BatchResponse, exchanges: &[Arc<Exchange>]) -> StatusCode {
    let responses: Vec<&async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter().collect(),
    };
    let all_coded = |code: &str| {
        !responses.is_empty()
            && responses.iter().all(|r| {
                !r.errors.is_empty() && r.errors.iter().all(|e| error_code(e) == Some(code))
            })
    };
    if all_coded("FORBIDDEN") {
        return StatusCode::FORBIDDEN;
    }
    if all_coded(METHOD_NOT_ALLOWED) {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    // A persisted query's "send the whole query" is the protocol's normal course, not a
    // failure: 200 whatever the media type, as Apollo's servers answer it.
    if all_coded(super::persisted::NOT_FOUND_CODE) {
        return StatusCode::OK;
    }
    let unexecuted = exchanges
        .iter()
        .any(|e| !e.executed.load(Ordering::Relaxed));
    if media == Media::GraphqlResponse && unexecuted {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

/// An error in GraphQL's response shape, for requests refused before any query ran.
pub fn error_response(media: Media, status: StatusCode, error: &AppError) -> Response {
    let mut answer = crate::http::doors::graphql_error(status, error);
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    answer
}

/// Makes a GET answer cacheable by the client: an `ETag` from its body, `304 Not Modified` when
/// the request's `If-None-Match` holds it, and `Cache-Control: private, no-cache` (customer data:
/// no shared caches; revalidate every time, which costs the query but not the transfer). Error
/// answers (any status but 200, or a `Cache-Control` already set for errors) are not to be kept
/// at all.
pub async fn cacheable(request_headers: &HeaderMap, answer: Response) -> Response {
    let (mut parts, body) = answer.into_parts();
    parts.headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization, Cookie"),
    );
    if parts.status != StatusCode::OK || parts.headers.contains_key(header::CACHE_CONTROL) {
        parts
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let etag = format!("\"{}\"", &super::persisted::sha256_hex(&bytes)[..32]);
    parts.headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        parts.headers.insert(header::ETAG, value);
    }
    let matches = request_headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        });
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_TYPE);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> Option<Media> {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        Media::negotiate(&headers)
    }

    #[test]
    fn accept_chooses_the_media_type() {
        assert_eq!(accept(None), Some(Media::Json));
        assert_eq!(accept(Some("*/*")), Some(Media::Json));
        assert_eq!(accept(Some("application/json")), Some(Media::Json));
        assert_eq!(
            accept(Some("application/graphql-response+json")),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            accept(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            accept(Some("application/json, application/graphql-response+json")),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            accept(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Media::Json)
        );
        assert_eq!(
            accept(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Some(Media::Json)
        );
        assert_eq!(accept(Some("text/html")), None);
        assert_eq!(accept(Some("application/json;q=0")), None);
    }

    #[test]
    fn get_parameters_are_read_by_name() {
        let request = from_query_string(
            "query=query%20Q(%24n%3A%20Int)%20%7B%20a%20%7D&operationName=Q&variables=%7B%22n%22%3A1%7D",
        )
        .unwrap();
        assert_eq!(request.query, "query Q($n: Int) { a }");
        assert_eq!(request.operation_name.as_deref(), Some("Q"));
        assert_eq!(
            request.variables.into_value().into_json().unwrap(),
            serde_json::json!({ "n": 1 })
        );
        let refused = |qs: &str| from_query_string(qs).unwrap_err().to_string();
        assert!(refused("query=a&query=b").contains("`query` parameter is given twice"));
        assert!(refused("query=a&variables=%7B").contains("`variables` parameter is not JSON"));
        assert!(refused("extensions=%5B%5D").contains("must be a JSON object"));
        assert!(refused("operationName=Q").contains("needs a `query` parameter"));
        let persisted =
            from_query_string("extensions=%7B%22persistedQuery%22%3A%7B%22version%22%3A1%7D%7D")
                .unwrap();
        assert!(persisted.query.is_empty());
        assert!(persisted.extensions.contains_key("persistedQuery"));
    }
}
