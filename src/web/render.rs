//! Turning templates and errors into responses: a full page for a normal load, only the page's
//! `<main>` content for an htmx swap, and an error page or inline message instead of a bare
//! status text.

use std::convert::Infallible;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::error::AppError;
use crate::http::Access;

/// What kind of request a page handler answers, from htmx's request headers.
#[derive(Clone, Copy, Debug)]
pub struct Hx {
    /// htmx swaps the answer into `<main>`: send the content block only. A history restore
    /// (back/forward after htmx's cache was evicted) replaces the whole body, so it gets the full
    /// page even though htmx sent it.
    pub partial: bool,
    /// The viewer may upload, train, cancel and delete: pages show those controls only then
    /// (the server refuses the actions to others anyway).
    pub can_write: bool,
}

impl Hx {
    pub fn from_headers(headers: &axum::http::HeaderMap) -> Hx {
        let flag = |name: &str| headers.get(name).is_some_and(|v| v == "true");
        Hx {
            partial: flag("hx-request") && !flag("hx-history-restore-request"),
            can_write: false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Hx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Hx {
            can_write: crate::http::doors::access_of(&parts.extensions)
                .is_some_and(Access::can_write),
            ..Hx::from_headers(&parts.headers)
        })
    }
}

/// A page template that extends `base.html`: renders whole, or as `<title>` plus its content
/// block for htmx (which takes the title from the fragment and updates the tab's title).
pub trait Page: Template {
    fn render_partial(&self) -> askama::Result<String>;
}

/// Implements [`Page`] for templates declared with `blocks = ["title", "content"]`.
macro_rules! page {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::web::render::Page for $t {
            fn render_partial(&self) -> askama::Result<String> {
                use askama::Template;
                Ok(format!(
                    "<title>{}</title>\n{}",
                    self.as_title().render()?,
                    self.as_content().render()?
                ))
            }
        }
    )+};
}
pub(crate) use page;

/// A page handler's answer: the page, or a [`PageError`] that renders itself.
pub type PageResult = Result<Response, PageError>;

/// Why a page could not be shown, with what is needed to show that instead: the error page, or
/// only its `<main>` content for htmx, as the request asked. Handlers return it with `?` after
/// `.map_err(hx.fail())`, so no handler spells out its error page.
pub struct PageError {
    hx: Hx,
    error: AppError,
}

impl IntoResponse for PageError {
    /// The error as a page (inside `<main>` for htmx), with the error's status.
    fn into_response(self) -> Response {
        let PageError { hx, error } = self;
        log(&error);
        let status = error.status();
        let heading = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::UNAUTHORIZED => "Sign-in needed",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            s if s.is_server_error() => "Something went wrong",
            _ => "That did not work",
        };
        let page = ErrorPage {
            heading,
            message: sentence(&error.to_string()),
        };
        hx.render(&page, status)
    }
}

impl Hx {
    /// The page, whole or as the content htmx swaps in.
    pub fn ok<P: Page>(self, page: &P) -> Response {
        self.render(page, StatusCode::OK)
    }

    pub fn render<P: Page>(self, page: &P, status: StatusCode) -> Response {
        let html = if self.partial {
            page.render_partial()
        } else {
            page.render()
        };
        html_response(html, status)
    }

    /// A page with a layout of its own (the printable report), always sent whole: htmx is told
    /// to load `url` as a full page instead of swapping a whole document into `<main>`.
    pub fn standalone<T: Template>(self, page: &T, url: &str) -> Response {
        if self.partial {
            match HeaderValue::from_str(url) {
                Ok(value) => return ([("hx-redirect", value)], "").into_response(),
                Err(_) => return Redirect::to(url).into_response(),
            }
        }
        html_response(page.render(), StatusCode::OK)
    }

    /// `error`, to be shown as this request's error page.
    pub fn error(self, error: AppError) -> PageError {
        PageError { hx: self, error }
    }

    /// For `.map_err(hx.fail())?`: any failure of the call becomes this request's error page.
    pub fn fail(self) -> impl FnOnce(AppError) -> PageError {
        move |error| self.error(error)
    }

    /// After a form post: htmx is told to load `url` into `<main>` and push it to the history;
    /// a browser without JavaScript follows a 303.
    pub fn redirect(self, url: &str) -> Response {
        if self.partial {
            let location = serde_json::json!({ "path": url, "target": "#main" }).to_string();
            match HeaderValue::from_str(&location) {
                Ok(value) => ([("hx-location", value)], "").into_response(),
                Err(_) => Redirect::to(url).into_response(),
            }
        } else {
            Redirect::to(url).into_response()
        }
    }
}

/// Renders a fragment that is only ever swapped into a page (progress, a table, a form).
pub fn fragment<T: Template>(template: &T, status: StatusCode) -> Response {
    html_response(template.render(), status)
}

fn html_response(html: askama::Result<String>, status: StatusCode) -> Response {
    match html {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                // The same URL answers with a full page or a fragment: caches must keep them apart.
                (header::VARY, "HX-Request, HX-History-Restore-Request"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<!doctype html><title>Error · SegmentIQ</title><h1>Something went wrong</h1>\
                 <p>The page could not be drawn; the server log has details. <a href=\"/\">Back to your datasets</a></p>",
            )
                .into_response()
        }
    }
}

/// Server-side failures are logged here because the page only shows a generic sentence.
fn log(error: &AppError) {
    match error {
        AppError::Internal(e) => tracing::error!(error = ?e, "internal error on a page"),
        AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable for a page"),
        _ => {}
    }
}

/// Messages are written as clauses ("run 7 not found"); pages show them as sentences.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', ')']) {
        out.push('.');
    }
    out
}

#[derive(Template)]
#[template(path = "pages/error.html", blocks = ["title", "content"])]
pub struct ErrorPage {
    pub heading: &'static str,
    pub message: String,
}
page!(ErrorPage);

/// Answers paths no page has.
pub async fn not_found(hx: Hx) -> PageError {
    hx.error(AppError::NotFound(
        "there is no page at this address; it may have been deleted".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_become_sentences() {
        assert_eq!(sentence("run 7 not found"), "Run 7 not found.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }
}
