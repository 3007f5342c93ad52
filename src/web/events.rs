//! `GET /runs/{id}/events`: a run's progress as server-sent events, for the progress bar.
//!
//! Each `progress` event carries the progress fragment as HTML, which the htmx SSE extension
//! swaps into the page. The events come from [`service::progress::follow`]: the current state
//! first, then every change, ending after a final status. The stream then sends `done`, on
//! which the page closes the connection and loads the results (or the failure).

use std::convert::Infallible;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt, stream};

use crate::app::AppState;
use crate::db::notify::ProgressEvent;
use crate::error::AppResult;
use crate::service;
use crate::web::downloads::PlainError;
use crate::web::parse_id;
use crate::web::run::status::{ProgressPartial, ProgressView};

/// A refusal (no such run) is a plain status: `EventSource` cannot show a body, the status
/// tells it to stop, and the page shows the rest.
pub async fn run_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, PlainError> {
    let events = service::progress::follow(&state, parse_id("run", &id)?).await?;
    let sse = Sse::new(sse_events(events)).keep_alive(KeepAlive::default());
    Ok(sse.into_response())
}

/// The progress events, then `done`. A run that cannot be read ends the stream early (the error
/// is logged where it was found); `done` makes the page load the run, which shows the error.
fn sse_events(
    events: impl Stream<Item = AppResult<ProgressEvent>> + Send,
) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    let done = stream::once(async {
        // Any data will do: browsers drop events whose data is empty.
        Ok(Event::default().event("done").data("end"))
    });
    events
        .take_while(|event| std::future::ready(event.is_ok()))
        .filter_map(|event| std::future::ready(event.ok().map(|e| Ok(progress_event(&e)))))
        .chain(done)
}

/// The progress bar as an HTML fragment, with the status badge updated out of band.
fn progress_event(event: &ProgressEvent) -> Event {
    let mut view = ProgressView::new(event);
    view.oob = true;
    let html = ProgressPartial { p: view }.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "progress fragment failed to render");
        String::new()
    });
    // SSE data lines cannot carry a carriage return; newlines are split into data lines.
    Event::default()
        .event("progress")
        .data(html.replace('\r', ""))
}
