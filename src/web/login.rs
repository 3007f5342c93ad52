//! `/login` and `/logout`: browsers sign in with a token and get the session cookie
//! ([`crate::http::session`]); scripts skip this and send `Authorization: Bearer`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{ConnectInfo, Request, State};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::http::Form;
use crate::http::Query;
use crate::http::doors::{access_of, local_next};
use crate::http::{Access, Gate};
use crate::web::render::{Hx, page};
use crate::web::routes;

#[derive(Template)]
#[template(path = "pages/login.html", blocks = ["title", "content"])]
pub struct LoginPage {
    tokens_required: bool,
    /// The token the viewer is signed in with, in words.
    signed_in: Option<&'static str>,
    next: String,
    error: Option<String>,
    session_hours: u64,
    login_action: &'static str,
    logout_action: &'static str,
}
page!(LoginPage);

impl LoginPage {
    fn new(state: &AppState, gate: &Gate, access: Option<Access>, next: String) -> LoginPage {
        LoginPage {
            tokens_required: gate.tokens_required(),
            signed_in: access.map(Access::token_name),
            next,
            error: None,
            session_hours: state.config.access.session_hours,
            login_action: routes::LOGIN,
            logout_action: routes::LOGOUT,
        }
    }
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /login[?next=/path]`: the form, or who the viewer is signed in as.
pub async fn page(
    hx: Hx,
    State(state): State<AppState>,
    Extension(gate): Extension<Arc<Gate>>,
    Query(q): Query<NextQuery>,
    request: Request,
) -> Response {
    let access = access_of(request.extensions());
    let page = LoginPage::new(&state, &gate, access, local_next(q.next.as_deref()));
    hx.render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// `POST /login` (form fields `token`, `next`): a right token sets the session cookie and goes
/// on to `next`; a wrong one shows the form again with the reason and sets nothing. Each client
/// address has `LOGIN_ATTEMPTS_PER_MINUTE` attempts a minute, so tokens cannot be guessed.
pub async fn sign_in(
    hx: Hx,
    State(state): State<AppState>,
    Extension(gate): Extension<Arc<Gate>>,
    connection: Option<Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<SignIn>,
) -> Response {
    let next = local_next(form.next.as_deref());
    if !gate.tokens_required() {
        return Redirect::to(&next).into_response();
    }
    let mut page = LoginPage::new(&state, &gate, None, next.clone());
    // Without a peer address (a router served without connection info) all share one budget.
    let ip = connection.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.0.ip());
    if !gate.allow_login_attempt(ip) {
        return too_many_attempts(hx, &state, page);
    }
    let granted = gate
        .check_token(form.token.trim())
        .and_then(|access| Some((access, gate.fingerprint(access)?)));
    let Some((access, fingerprint)) = granted else {
        tracing::warn!(%ip, "sign-in with a wrong token");
        page.error = Some(WRONG_TOKEN.into());
        return hx.render(&page, StatusCode::UNAUTHORIZED);
    };
    tracing::info!(access = access.tag(), %ip, "signed in");
    let jar = gate.sessions.start(access, fingerprint);
    (jar, Redirect::to(&next)).into_response()
}

const WRONG_TOKEN: &str = "That is neither the full-access token (API_TOKEN) nor the read-only \
                           token (API_READ_TOKEN). Check it for typos and try again.";

/// The form again, saying when the address may try again (429 with `Retry-After`).
fn too_many_attempts(hx: Hx, state: &AppState, mut page: LoginPage) -> Response {
    page.error = Some(format!(
        "Too many sign-in attempts from your address; wait a minute and try again \
         (the limit is {} a minute).",
        state.config.access.login_attempts_per_minute
    ));
    let mut response = hx.render(&page, StatusCode::TOO_MANY_REQUESTS);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    response
}

/// `POST /logout`: removes the session cookie and shows the sign-in form.
pub async fn sign_out(Extension(gate): Extension<Arc<Gate>>, headers: HeaderMap) -> Response {
    (gate.sessions.end(&headers), Redirect::to(routes::LOGIN)).into_response()
}
