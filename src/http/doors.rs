//! Every route of the service in tables that say what each needs (a [`Door`]), so the router
//! and the access tests are built from the same list and a new route cannot be added without
//! saying who may use it.
//!
//! Each route gets a guard (a `route_layer`) that, in order: refuses changes from another site
//! ([`origin`](crate::http::origin)); refuses CSRF-simple GraphQL bodies; identifies the caller
//! ([`Gate::identify`](crate::http::Gate::identify)); and lets them through when their access
//! opens the door, with their [`Access`] in the request's extensions for the handler.

use axum::Router;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;

use std::sync::Arc;

use crate::error::AppError;
use crate::http::access::Presented;
use crate::http::{Access, Gate, origin};

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Door {
    /// Anyone: static files, health checks, the sign-in page.
    Open,
    /// Either token (or a session signed in with either): reading customer data.
    Read,
    /// The full-access token: uploading, training, cancelling, deleting.
    Write,
}

/// How a refusal is answered, by the kind of client that uses the route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// Pages, charts, downloads, event streams: browsers are sent to `/login`, errors are pages.
    Page,
    /// `/api/v1`: the REST error shape.
    Api,
    /// `POST /graphql`: the GraphQL error shape.
    Graphql,
    /// `/graphql/ws`: like GraphQL, except that a browser's token may come later, in
    /// `connection_init`, which the handler checks.
    Socket,
    /// `GET /graphql`: GraphiQL for a browser (a [`Page`](Surface::Page): sign in first), or a
    /// query in the URL's parameters ([`Graphql`](Surface::Graphql): scripts get 401, not a
    /// redirect).
    GraphiqlOrQuery,
}

impl Surface {
    /// Whether a GET to `/graphql` carries a query (a `query` or `extensions` parameter)
    /// rather than asking for GraphiQL.
    pub fn is_graphql_get(uri: &axum::http::Uri) -> bool {
        uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .any(|(key, _)| key == "query" || key == "extensions")
        })
    }

    /// The surface of this request: [`GraphiqlOrQuery`](Surface::GraphiqlOrQuery) resolved.
    fn of(self, request: &Request) -> Surface {
        match self {
            Surface::GraphiqlOrQuery if Self::is_graphql_get(request.uri()) => Surface::Graphql,
            Surface::GraphiqlOrQuery => Surface::Page,
            other => other,
        }
    }
}

/// One route as the access tests see it.
#[derive(Clone, Debug)]
pub struct DoorInfo {
    pub method: Method,
    pub path: String,
    pub door: Door,
    pub surface: Surface,
}

struct Entry<S> {
    method: Method,
    path: &'static str,
    door: Door,
    surface: Surface,
    handler: MethodRouter<S>,
}

/// How a refusal is shown on a [`Surface::Page`]: the pages' error page, which the web layer
/// provides ([`Routes::pages`]), so this shared layer does not depend on it.
pub type PageRefusal = fn(&HeaderMap, AppError) -> Response;

/// How the route a request came to shows a refusal: REST's JSON error, the pages' error page,
/// GraphQL's error shape. The guard leaves it in the request's extensions, so extractors that
/// refuse after the guard (such as [`Query`](super::query::Query)) answer in the same shape.
#[derive(Clone, Copy)]
pub struct Refusal {
    surface: Surface,
    pages: PageRefusal,
}

impl Refusal {
    /// The refusal of the route that `extensions` belong to; REST's JSON error for a request
    /// that did not pass a guard.
    pub fn of(extensions: &axum::http::Extensions) -> Refusal {
        extensions.get::<Refusal>().copied().unwrap_or(Refusal {
            surface: Surface::Api,
            pages: plain_refusal,
        })
    }

    pub fn answer(&self, headers: &HeaderMap, error: AppError) -> Response {
        match self.surface {
            Surface::Page => (self.pages)(headers, error),
            Surface::Api => error.into_response(),
            Surface::Graphql | Surface::Socket | Surface::GraphiqlOrQuery => {
                graphql_error(error.status(), &error)
            }
        }
    }
}

/// Until the web layer provides its own: the status and the message as plain text.
fn plain_refusal(_: &HeaderMap, error: AppError) -> Response {
    (error.status(), error.to_string()).into_response()
}

/// A table of routes; [`Routes::into_router`] registers them with their guards.
pub struct Routes<S> {
    surface: Surface,
    entries: Vec<Entry<S>>,
    pages: PageRefusal,
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// A table whose routes answer refusals as `surface`.
    pub fn new(surface: Surface) -> Self {
        Routes {
            surface,
            entries: Vec::new(),
            pages: plain_refusal,
        }
    }

    /// Refusals on page routes are shown by `pages`.
    pub fn pages(mut self, pages: PageRefusal) -> Self {
        self.pages = pages;
        self
    }

    /// The routes added after this answer refusals as `surface`.
    pub fn surface(mut self, surface: Surface) -> Self {
        self.surface = surface;
        self
    }

    pub fn get<H: Handler<T, S>, T: 'static>(self, path: &'static str, door: Door, h: H) -> Self {
        self.push(Method::GET, path, door, axum::routing::get(h))
    }

    pub fn post<H: Handler<T, S>, T: 'static>(self, path: &'static str, door: Door, h: H) -> Self {
        self.push(Method::POST, path, door, axum::routing::post(h))
    }

    pub fn put<H: Handler<T, S>, T: 'static>(self, path: &'static str, door: Door, h: H) -> Self {
        self.push(Method::PUT, path, door, axum::routing::put(h))
    }

    pub fn delete<H: Handler<T, S>, T: 'static>(
        self,
        path: &'static str,
        door: Door,
        h: H,
    ) -> Self {
        self.push(Method::DELETE, path, door, axum::routing::delete(h))
    }

    fn push(mut self, method: Method, path: &'static str, door: Door, h: MethodRouter<S>) -> Self {
        self.entries.push(Entry {
            method,
            path,
            door,
            surface: self.surface,
            handler: h,
        });
        self
    }

    /// The table, with `prefix` (where the router is nested) before each path.
    pub fn doors(&self, prefix: &str) -> Vec<DoorInfo> {
        self.entries
            .iter()
            .map(|e| DoorInfo {
                method: e.method.clone(),
                path: format!("{prefix}{}", e.path),
                door: e.door,
                surface: e.surface,
            })
            .collect()
    }

    /// The router, each route behind the guard for its door.
    pub fn into_router(self, gate: &Arc<Gate>) -> Router<S> {
        let pages = self.pages;
        self.entries.into_iter().fold(Router::new(), |router, e| {
            let guard = Guard {
                gate: gate.clone(),
                door: e.door,
                surface: e.surface,
                pages,
            };
            let layer = axum::middleware::from_fn_with_state(guard, check);
            router.route(e.path, e.handler.route_layer(layer))
        })
    }
}

#[derive(Clone)]
struct Guard {
    gate: Arc<Gate>,
    door: Door,
    surface: Surface,
    pages: PageRefusal,
}

async fn check(State(mut g): State<Guard>, mut request: Request, next: Next) -> Response {
    g.surface = g.surface.of(&request);
    let gate = &g.gate;
    let headers = request.headers();
    let changes = !request.method().is_safe() || is_websocket_upgrade(headers);
    if changes {
        if let Err(e) = origin::check(gate, headers) {
            return refuse(&g, headers, e);
        }
    }
    if g.surface == Surface::Graphql && request.method() == Method::POST {
        if let Err(e) = graphql_content_type(headers) {
            return graphql_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, &e);
        }
    }
    let presented = gate.identify(headers);
    let access = match (g.door, presented.access()) {
        (Door::Open, access) => access,
        (Door::Write, Some(a)) if !a.can_write() => {
            return refuse(&g, headers, a.refuse_write());
        }
        (_, Some(a)) => Some(a),
        // A browser's websocket sends its token in `connection_init`; the handler checks it.
        (_, None) if g.surface == Surface::Socket && presented == Presented::Nothing => None,
        (_, None) if g.surface == Surface::Page && presented == Presented::Nothing => {
            return to_login(&request);
        }
        (_, None) => return refuse(&g, headers, AppError::Unauthenticated),
    };
    if let Some(access) = access {
        request.extensions_mut().insert(access);
    }
    request.extensions_mut().insert(g.refusal());
    next.run(request).await
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// GraphQL over POST takes JSON (and the multipart request spec for uploads). A web page on
/// another site can send `text/plain` and form-encoded bodies without asking the browser's
/// permission (no CORS preflight), so those, and bodies without a type, are refused outright.
/// Multipart can be sent cross-site too; it is kept for uploads because the origin check above
/// refuses it from other sites, which is the GraphQL multipart spec's "same-origin or absent
/// Origin" alternative to requiring an `apollo-require-preflight` header (so curl uploads need
/// no extra header).
fn graphql_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let json =
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"));
    if json || mime == "multipart/form-data" {
        return Ok(());
    }
    let sent = if mime.is_empty() {
        "no Content-Type".to_string()
    } else {
        format!("Content-Type `{mime}`")
    };
    Err(AppError::BadInput(format!(
        "POST /graphql needs `Content-Type: application/json` (or `multipart/form-data` for \
         uploads), not {sent}: other types are refused because any web page could send them"
    )))
}

impl Guard {
    fn refusal(&self) -> Refusal {
        Refusal {
            surface: self.surface,
            pages: self.pages,
        }
    }
}

/// A refusal in the shape the route's clients read.
fn refuse(guard: &Guard, headers: &HeaderMap, error: AppError) -> Response {
    guard.refusal().answer(headers, error)
}

/// An error in GraphQL's response shape, for refusals before a query runs.
pub fn graphql_error(status: StatusCode, error: &AppError) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": error.to_string(), "extensions": { "code": error.code() } }]
    });
    (status, axum::Json(body)).into_response()
}

/// Sends a browser that is not signed in to `/login`, to come back to where it was going:
/// htmx gets `HX-Redirect` (a full-page load) with the page it is on, a page load a 303.
fn to_login(request: &Request) -> Response {
    let headers = request.headers();
    let htmx = headers.get("hx-request").is_some_and(|v| v == "true");
    let current = headers
        .get("hx-current-url")
        .and_then(|v| v.to_str().ok())
        .and_then(|u| url::Url::parse(u).ok())
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        });
    let here = request
        .uri()
        .path_and_query()
        .map_or("/".to_string(), |p| p.to_string());
    let next = match (htmx, current) {
        (true, Some(current)) => current,
        _ if request.method() == Method::GET || request.method() == Method::HEAD => here,
        _ => "/".to_string(),
    };
    let location = login_url(&next);
    if htmx {
        match HeaderValue::from_str(&location) {
            Ok(value) => (StatusCode::UNAUTHORIZED, [("hx-redirect", value)]).into_response(),
            Err(_) => Redirect::to("/login").into_response(),
        }
    } else {
        Redirect::to(&location).into_response()
    }
}

/// `/login?next=<path>`.
pub fn login_url(next: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login?next={encoded}")
}

/// Where to go after signing in: `next` when it is a path on this server, else the datasets
/// page, so a crafted link cannot send a user elsewhere (open redirect).
pub fn local_next(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && !next.starts_with("/login")
        && !next.starts_with("/logout");
    if local { next.to_string() } else { "/".into() }
}

/// The access of a request that passed its guard (none on open doors without credentials).
pub fn access_of(extensions: &axum::http::Extensions) -> Option<Access> {
    extensions.get::<Access>().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            local_next(Some("/runs/3/customers?segment=1")),
            "/runs/3/customers?segment=1"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/login?next=/",
            "/ok\r\nSet-Cookie: x",
            "",
        ] {
            assert_eq!(local_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_next(None), "/");
    }

    #[test]
    fn graphql_takes_json_and_multipart_only() {
        let with = |ct: Option<&str>| {
            let mut h = HeaderMap::new();
            if let Some(ct) = ct {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            }
            graphql_content_type(&h).is_ok()
        };
        assert!(with(Some("application/json")));
        assert!(with(Some("application/json; charset=utf-8")));
        assert!(with(Some("application/graphql-response+json")));
        assert!(with(Some("multipart/form-data; boundary=x")));
        assert!(!with(Some("text/plain")));
        assert!(!with(Some("application/x-www-form-urlencoded")));
        assert!(!with(None));
    }
}
