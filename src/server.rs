//! Assembling and running the HTTP server: routes, layers, background tasks, shutdown.

use std::time::Duration;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::{Extension, Router};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

use crate::app::AppState;
use crate::config::Config;
use crate::graphql::http::GraphqlState;
use crate::http::{Door, DoorInfo, Gate, Routes, Surface};
use crate::{db, graphql, jobs, rest, web};

/// Health checks: open, they say nothing about customers.
fn health_routes() -> Routes<AppState> {
    Routes::new(Surface::Api)
        .get("/healthz", Door::Open, || async { "ok" })
        .get("/readyz", Door::Open, ready)
}

/// GraphQL: GET is a query in the URL or else GraphiQL, a page (sign in first); queries and
/// mutations over POST (mutations need the full token, which the schema checks per
/// operation); subscriptions over websockets.
fn graphql_routes() -> Routes<GraphqlState> {
    Routes::new(Surface::GraphiqlOrQuery)
        .get("/graphql", Door::Read, graphql::http::get)
        .surface(Surface::Graphql)
        .post("/graphql", Door::Read, graphql::http::execute)
        .surface(Surface::Socket)
        .get("/graphql/ws", Door::Read, graphql::http::websocket)
}

/// Every route of the service with the access it needs, as `build_router` registers them: the
/// access tests walk this list, so a new route is tested the day it is added.
pub fn doors() -> Vec<DoorInfo> {
    let mut doors = graphql_routes().doors("");
    doors.extend(rest::routes().doors("/api/v1"));
    doors.extend(web::routes().doors(""));
    doors.extend(health_routes().doors(""));
    doors
}

/// Every route of the service.
pub fn build_router(state: AppState) -> Router {
    // Who may use which door: tokens, session key, allowed origins, sign-in rate limit. Handlers
    // that need it (sign-in, GraphQL over websockets) take it as an `Extension`.
    let gate = Arc::new(Gate::new(&state.config.access));
    let health = health_routes().into_router(&gate);
    let limits = state.config.limits;
    // Room for multipart framing and other form fields around the file itself.
    let body_bytes = limits.max_upload_bytes + 1024 * 1024;
    let body_limit = DefaultBodyLimit::max(body_bytes);
    let gql = GraphqlState {
        app: state.clone(),
        schema: graphql::build_schema(Some(state.clone())),
    };
    let graphql_routes = graphql_routes()
        .into_router(&gate)
        .with_state(gql)
        // The GraphQL handler reads the body itself (DefaultBodyLimit does not apply): cap it
        // at the upload limit plus room for the multipart framing.
        .layer(RequestBodyLimitLayer::new(body_bytes));
    let allowed_origins = state.config.access.allowed_origins.clone();
    let router = Router::new()
        .merge(graphql_routes)
        .nest("/api/v1", rest::router(state.clone(), &gate))
        .merge(web::router(state.clone(), &gate))
        .merge(health.with_state(state))
        .layer(body_limit)
        .layer(Extension(gate))
        .layer(axum::middleware::map_response(
            crate::error::add_retry_after,
        ))
        .layer(CompressionLayer::new());
    crate::http::headers::layer(router, &allowed_origins).layer(TraceLayer::new_for_http())
}

/// Ready when the database answers.
async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    use diesel_async::RunQueryDsl;
    let check = async {
        let mut conn = state.pool.get().await.ok()?;
        diesel::sql_query("SELECT 1").execute(&mut conn).await.ok()
    };
    match tokio::time::timeout(Duration::from_secs(3), check).await {
        Ok(Some(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// Connects, creates and migrates the database; fails with one sentence if it cannot.
pub async fn prepare(config: &Config) -> anyhow::Result<db::DbPool> {
    db::ensure_database(&config.database_url).await?;
    let pool = db::pool(&config.database_url, config.pool_size)?;
    db::migrate(&pool).await?;
    Ok(pool)
}

/// Serves until `shutdown` completes (SIGTERM or Ctrl-C in `main`): in-flight requests finish,
/// running runs are re-queued for another process.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listen = tokio::spawn(db::notify::listen(
        state.config.database_url.clone(),
        state.hub.clone(),
        state.wake_worker.clone(),
        state.shutdown.clone(),
    ));
    let worker = tokio::spawn(jobs::worker::run(state.clone()));
    let token = state.shutdown.clone();
    let on_signal = token.clone();
    let app = build_router(state);
    tracing::info!(addr = %listener.local_addr()?, "serving");
    // The peer address keys the sign-in rate limit.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing requests, re-queuing running runs");
            on_signal.cancel();
        })
        .await?;
    token.cancel();
    let _ = worker.await;
    let _ = listen.await;
    Ok(())
}
