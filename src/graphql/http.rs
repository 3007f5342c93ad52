//! HTTP endpoints of the GraphQL API: POST `/graphql` (JSON or multipart upload), GET
//! `/graphql` (a query in the URL, else GraphiQL, served from `/static/vendor`), and
//! `/graphql/ws` (graphql-transport-ws). How HTTP carries GraphQL is in [`over_http`].

use std::sync::Arc;

use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, MultipartOptions};
use async_graphql::{BatchRequest, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Extension;
use axum::extract::{Request, State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::TryStreamExt;

use super::over_http::{self, Exchange, Media};
use super::{AppSchema, limits};
use crate::app::AppState;
use crate::error::AppError;
use crate::http::{Access, Gate};

/// State of the GraphQL routes.
#[derive(Clone)]
pub struct GraphqlState {
    pub app: AppState,
    pub schema: AppSchema,
}

/// Executes a query, mutation or multipart upload sent with POST.
pub async fn execute(State(gql): State<GraphqlState>, request: Request) -> Response {
    let Some(media) = Media::negotiate(request.headers()) else {
        return Media::not_acceptable();
    };
    // Set by the route's guard; the schema refuses mutations to read-only callers.
    let access = crate::http::doors::access_of(request.extensions());
    match receive(request, gql.app.config.limits.max_upload_bytes).await {
        Ok(batch) => run(&gql, media, batch, access, false).await,
        Err(e) => {
            let status = match e {
                AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            };
            over_http::error_response(media, status, &e)
        }
    }
}

/// Reads a POST body: JSON ([`over_http::from_json`]), or the multipart request spec for
/// uploads, whose files are limited while streaming (the parser stops reading at
/// `MAX_UPLOAD_BYTES`).
async fn receive(request: Request, limit: usize) -> Result<BatchRequest, AppError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let multipart = content_type.as_deref().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    if !multipart {
        let body = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|e| AppError::BadInput(format!("the request body could not be read: {e}")))?;
        return over_http::from_json(&body);
    }
    let body = request
        .into_body()
        .into_data_stream()
        .map_err(|e| std::io::Error::other(e.to_string()));
    let reader = tokio_util::compat::TokioAsyncReadCompatExt::compat(
        tokio_util::io::StreamReader::new(body),
    );
    let options = MultipartOptions::default()
        .max_file_size(limit)
        .max_num_files(4);
    let batch = async_graphql::http::receive_batch_body(content_type, reader, options)
        .await
        .map_err(|e| multipart_error(e, limit))?;
    for request in batch.iter() {
        over_http::check_query(request, "the `operations` part", "field")?;
    }
    Ok(batch)
}

/// A multipart request that could not be read. async-graphql's parser stops at the first file
/// over the limit without saying which, so the limit is said as REST says it.
fn multipart_error(e: async_graphql::ParseRequestError, limit: usize) -> AppError {
    use async_graphql::ParseRequestError as P;
    match e {
        P::PayloadTooLarge => crate::service::datasets::too_large("a file of the request", limit),
        P::InvalidRequest(e) => AppError::BadInput(format!(
            "the `operations` part is not a GraphQL request ({e}): send a JSON object with \
             `query` and `variables`, or an array of them"
        )),
        other => AppError::BadInput(format!("not a GraphQL multipart request: {other}")),
    }
}

/// GET `/graphql`: a query in the URL's parameters (see [`over_http`]) is run, with an `ETag`;
/// without one, a browser gets GraphiQL.
pub async fn get(State(gql): State<GraphqlState>, request: Request) -> Response {
    if !crate::http::Surface::is_graphql_get(request.uri()) {
        return graphiql().await.into_response();
    }
    let Some(media) = Media::negotiate(request.headers()) else {
        return Media::not_acceptable();
    };
    let access = crate::http::doors::access_of(request.extensions());
    let answer = match over_http::from_query_string(request.uri().query().unwrap_or_default()) {
        Ok(query) => run(&gql, media, BatchRequest::Single(query), access, true).await,
        Err(e) => over_http::error_response(media, StatusCode::BAD_REQUEST, &e),
    };
    over_http::cacheable(request.headers(), answer).await
}

/// Runs a batch within the request limits, as `access`, and answers it in `media`.
async fn run(
    gql: &GraphqlState,
    media: Media,
    batch: BatchRequest,
    access: Option<Access>,
    over_get: bool,
) -> Response {
    let batch = match within_limits(batch) {
        Ok(batch) => batch,
        Err(e) => return over_http::error_response(media, StatusCode::BAD_REQUEST, &e),
    };
    let batch = match access {
        Some(access) => batch.data(access),
        None => batch,
    };
    let (batch, exchanges) = Exchange::attach(batch, over_get);
    let response = gql.schema.execute_batch(batch).await;
    over_http::respond(media, response, &exchanges)
}

/// Most files one request may carry, over all the queries of a batch.
const MAX_FILES: usize = 4;

/// Refuses batches longer than [`limits::MAX_BATCH`] and requests with more than [`MAX_FILES`]
/// files; gives the queries of a batch one shared complexity budget.
fn within_limits(batch: BatchRequest) -> Result<BatchRequest, AppError> {
    let files: usize = batch.iter().map(|r| r.uploads.len()).sum();
    if files > MAX_FILES {
        return Err(AppError::BadInput(format!(
            "the request carries {files} files; at most {MAX_FILES} are accepted in one request"
        )));
    }
    match batch {
        BatchRequest::Batch(requests) if requests.len() > limits::MAX_BATCH => {
            Err(AppError::BadInput(format!(
                "the batch holds {} queries; at most {} are accepted in one request",
                requests.len(),
                limits::MAX_BATCH
            )))
        }
        BatchRequest::Batch(requests) => {
            let budget = limits::BatchBudget::new(super::MAX_COMPLEXITY);
            Ok(BatchRequest::Batch(
                requests
                    .into_iter()
                    .map(|r| r.data(budget.clone()))
                    .collect(),
            ))
        }
        single => Ok(single),
    }
}

/// GraphiQL, with its scripts from our own `/static`, so it works without internet access.
pub async fn graphiql() -> Response {
    use askama::Template;
    match GraphiqlPage.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::Internal(e.into()).into_response(),
    }
}

/// GraphiQL's page: a template so that it shares the app's brand mark.
#[derive(askama::Template)]
#[template(path = "graphiql.html")]
struct GraphiqlPage;

/// Subscriptions over websockets. With `API_TOKEN` set, the token comes in the upgrade
/// request's `Authorization` header, the pages' session cookie, or `connection_init`'s payload
/// (`{"Authorization": "Bearer <token>"}`), since browsers cannot set websocket headers. The
/// access found goes into the connection's data, where the schema checks mutations against it.
pub async fn websocket(
    State(gql): State<GraphqlState>,
    Extension(gate): Extension<Arc<Gate>>,
    protocol: GraphQLProtocol,
    from_request: Option<Extension<Access>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let from_request = from_request.map(|Extension(access)| access);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, gql.schema.clone(), protocol)
                .on_connection_init(move |payload| async move {
                    match from_request.or_else(|| gate.identify_payload(&payload)) {
                        Some(access) => {
                            let mut data = Data::default();
                            data.insert(access);
                            Ok(data)
                        }
                        None => Err(async_graphql::Error::new(
                            AppError::Unauthenticated.to_string(),
                        )),
                    }
                })
                .serve()
        })
}
