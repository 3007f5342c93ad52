//! Test harness: a fresh PostgreSQL database per test, cloned from a migrated template, and a
//! real HTTP server on a free local port.

#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use segmentiq::app::AppState;
use segmentiq::config::Config;
use tokio::sync::Mutex;

/// The server the tests use: `TEST_DATABASE_URL`'s server (default: the local one).
/// Sends a request and parses the JSON body, whatever the status.
pub async fn json_body<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    request.send().await.unwrap().json().await.unwrap()
}

pub fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@localhost:5432".into())
}

const TEMPLATE: &str = "segmentiq_test_template";

/// Serialises template creation across the tests of one binary; an advisory lock does the same
/// across test binaries running at once.
static TEMPLATE_READY: OnceLock<Mutex<bool>> = OnceLock::new();

pub async fn admin() -> AsyncPgConnection {
    AsyncPgConnection::establish(&format!("{}/postgres", server_url()))
        .await
        .expect("PostgreSQL must be running for these tests (see README)")
}

async fn ensure_template() {
    let mut ready = TEMPLATE_READY
        .get_or_init(|| Mutex::new(false))
        .lock()
        .await;
    if *ready {
        return;
    }
    let mut conn = admin().await;
    diesel::sql_query("SELECT pg_advisory_lock(724319)")
        .execute(&mut conn)
        .await
        .unwrap();
    // Always rebuild the template once per test binary, so it matches this build's migrations.
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    diesel::sql_query(format!("CREATE DATABASE {TEMPLATE}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!("{}/{TEMPLATE}", server_url());
    let pool = segmentiq::db::pool(&url, 1).unwrap();
    segmentiq::db::migrate(&pool).await.unwrap();
    pool.close();
    drop(pool);
    diesel::sql_query("SELECT pg_advisory_unlock(724319)")
        .execute(&mut conn)
        .await
        .unwrap();
    *ready = true;
}

/// A fresh migrated database; dropped by [`TestDb::drop_now`] or left for inspection on failure.
#[derive(Clone)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

pub async fn fresh_db() -> TestDb {
    ensure_template().await;
    let name = format!(
        "segmentiq_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let mut conn = admin().await;
    diesel::sql_query("SELECT pg_advisory_lock(724319)")
        .execute(&mut conn)
        .await
        .unwrap();
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    // CREATE DATABASE ... TEMPLATE needs no other session on the template: hold the lock.
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut conn)
        .await
        .unwrap();
    diesel::sql_query("SELECT pg_advisory_unlock(724319)")
        .execute(&mut conn)
        .await
        .unwrap();
    TestDb {
        url: format!("{}/{name}", server_url()),
        name,
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl TestDb {
    pub async fn drop_now(self) {
        let mut conn = admin().await;
        let _ = diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await;
    }

    /// Runs a query returning one text value, for checks that bypass the API.
    pub async fn scalar(&self, sql: &str) -> String {
        self.text(&format!("SELECT ({sql})::text AS v")).await
    }

    /// Runs a statement that returns no rows (`ALTER TABLE ...`), for states the API cannot make.
    pub async fn execute(&self, sql: &str) {
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs a statement that returns one row with a text column `v` (e.g. `INSERT ... RETURNING
    /// id::text AS v`), for setting up states the API cannot make.
    pub async fn text(&self, sql: &str) -> String {
        #[derive(diesel::QueryableByName)]
        struct One {
            #[diesel(sql_type = Text)]
            v: String,
        }
        let mut conn = AsyncPgConnection::establish(&self.url).await.unwrap();
        diesel::sql_query(sql)
            .get_result::<One>(&mut conn)
            .await
            .unwrap()
            .v
    }
}

/// A running server on its own database.
pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub state: AppState,
    pub client: reqwest::Client,
    owns_db: bool,
    server: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

pub fn config_for(db: &TestDb, extra: &[(&str, &str)]) -> Config {
    let url = db.url.clone();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |name| {
        if name == "DATABASE_URL" {
            return Some(url.clone());
        }
        extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap()
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(&[]).await
    }

    /// Starts a server with extra configuration variables (e.g. `MAX_UPLOAD_BYTES`).
    pub async fn start_with(vars: &[(&str, &str)]) -> TestApp {
        let db = fresh_db().await;
        let mut app = Self::start_on(&db, vars).await;
        app.owns_db = true;
        app
    }

    /// Starts another server on an existing database (a second replica).
    pub async fn start_on(db: &TestDb, vars: &[(&str, &str)]) -> TestApp {
        let db = db.clone();
        let config = config_for(&db, vars);
        let pool = segmentiq::db::pool(&config.database_url, 4).unwrap();
        let state = AppState::new(pool, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_state = state.clone();
        let server = tokio::spawn(async move {
            segmentiq::server::serve(server_state, listener, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            db,
            state,
            client: reqwest::Client::new(),
            owns_db: false,
            server,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs a path and parses the JSON body, whatever the status.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        json_body(self.client.get(self.url(path))).await
    }

    /// GETs a path and returns the body as text, whatever the status (pages, CSV).
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Posts a GraphQL query and returns the whole response body.
    pub async fn graphql(&self, query: &str, variables: serde_json::Value) -> serde_json::Value {
        json_body(
            self.client
                .post(self.url("/graphql"))
                .json(&serde_json::json!({ "query": query, "variables": variables })),
        )
        .await
    }

    /// Uploads CSV text through the REST API; returns (status, body).
    pub async fn upload(&self, filename: &str, csv: &[u8]) -> (u16, serde_json::Value) {
        let part = reqwest::multipart::Part::bytes(csv.to_vec()).file_name(filename.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let resp = self
            .client
            .post(self.url("/api/v1/datasets/upload"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Uploads CSV text through the GraphQL multipart request spec with `query`, a mutation
    /// taking `$file: Upload!` (and `$name: String`, when the query declares it); returns the
    /// whole response body.
    pub async fn graphql_upload(
        &self,
        query: &str,
        filename: &str,
        csv: &[u8],
        name: Option<&str>,
    ) -> serde_json::Value {
        let operations = serde_json::json!({
            "query": query,
            "variables": { "file": null, "name": name }
        });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text(
                "map",
                serde_json::json!({ "0": ["variables.file"] }).to_string(),
            )
            .part(
                "0",
                reqwest::multipart::Part::bytes(csv.to_vec()).file_name(filename.to_string()),
            );
        json_body(self.client.post(self.url("/graphql")).multipart(form)).await
    }

    /// Queues a run through REST `train`; with `wait`, answers when the run ends (as the API
    /// does by default), otherwise at once. Returns (status, body).
    pub async fn train(&self, body: serde_json::Value, wait: bool) -> (u16, serde_json::Value) {
        let path = if wait {
            "/api/v1/clustering/train"
        } else {
            "/api/v1/clustering/train?wait=0"
        };
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Trains a run of dataset `dataset_id` with `settings` through REST and waits for it to
    /// end; returns the run.
    pub async fn trained(
        &self,
        dataset_id: &serde_json::Value,
        settings: serde_json::Value,
    ) -> serde_json::Value {
        let mut body = settings;
        body["dataset_id"] = dataset_id.clone();
        let (status, run) = self.train(body, true).await;
        assert_eq!(status, 201, "{run}");
        run
    }

    /// Uploads [`customers_csv`]`(rows)` and trains a run of it with `settings`; returns the
    /// run (its `dataset_id` names the upload).
    pub async fn finished_run(
        &self,
        rows: usize,
        settings: serde_json::Value,
    ) -> serde_json::Value {
        let (status, dataset) = self
            .upload("customers.csv", customers_csv(rows).as_bytes())
            .await;
        assert_eq!(status, 201, "{dataset}");
        self.trained(&dataset["id"], settings).await
    }

    /// GETs a page as a browser would (the whole page) or as htmx (a partial); returns
    /// (status, headers, body).
    pub async fn get_page(
        &self,
        path: &str,
        htmx: bool,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self.client.get(self.url(path));
        if htmx {
            request = request.header("HX-Request", "true");
        }
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// Posts a form without following redirects, as htmx or as a plain browser.
    pub async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        htmx: bool,
    ) -> reqwest::Response {
        let request = no_redirects().post(self.url(path)).form(fields);
        send_as(request, htmx).await
    }

    /// Uploads a file through the page's drop zone (`POST /datasets`), without following
    /// redirects, as htmx or as a plain browser.
    pub async fn upload_page(&self, filename: &str, csv: &[u8], htmx: bool) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(csv.to_vec()).file_name(filename.to_string());
        let request = no_redirects()
            .post(self.url("/datasets"))
            .multipart(reqwest::multipart::Form::new().part("file", part));
        send_as(request, htmx).await
    }

    /// A run's status as stored, bypassing the API.
    pub async fn status_of(&self, id: i64) -> String {
        self.db
            .scalar(&format!(
                "SELECT status FROM clustering_runs WHERE id = {id}"
            ))
            .await
    }

    /// Waits until a run's stored status is `wanted`.
    pub async fn wait_for_status(&self, id: i64, wanted: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let status = self.status_of(id).await;
            if status == wanted {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {id} is {status}, expected {wanted}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until a run reaches a final status (via REST polling) and returns it.
    pub async fn wait_for_run(&self, id: i64) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let run: serde_json::Value = self
                .get_json(&format!("/api/v1/clustering/runs/{id}"))
                .await;
            if matches!(
                run["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return run;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "run {id} did not finish: {run}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        self.state.pool.close();
        if self.owns_db {
            self.db.drop_now().await;
        }
    }
}

/// A client that does not follow redirects, to see where a form post sends the browser.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn send_as(mut request: reqwest::RequestBuilder, htmx: bool) -> reqwest::Response {
    if htmx {
        request = request.header("HX-Request", "true");
    }
    request.send().await.unwrap()
}

/// The path htmx is told to load next (`HX-Location: {"path": ..., "target": "#main"}`).
pub fn hx_location(resp: &reqwest::Response) -> String {
    let header = resp
        .headers()
        .get("hx-location")
        .unwrap_or_else(|| panic!("no HX-Location in {:?}", resp.headers()));
    let value: serde_json::Value = serde_json::from_str(header.to_str().unwrap()).unwrap();
    assert_eq!(value["target"], "#main");
    value["path"].as_str().unwrap().to_string()
}

/// A websocket client connection to a test server.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a graphql-transport-ws connection to the server at `base` and sends
/// `connection_init`; the caller reads the ack (or the refusal) itself.
pub async fn graphql_ws(base: &str) -> Ws {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let mut request = format!("{}/graphql/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        serde_json::json!({"type": "connection_init", "payload": {}}).to_string(),
    ))
    .await
    .unwrap();
    ws
}

/// A graphql-transport-ws connection, acknowledged, subscribed (as id `1`) to run `run_id`'s
/// `runProgress` with `fields` selected; the caller reads the messages.
pub async fn subscribe_progress(base: &str, run_id: &str, fields: &str) -> Ws {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = graphql_ws(base).await;
    let ack = ws.next().await.unwrap().unwrap();
    assert!(ack.to_text().unwrap().contains("connection_ack"), "{ack:?}");
    let query = format!("subscription($id: ID!) {{ runProgress(runId: $id) {{ {fields} }} }}");
    ws.send(Message::text(
        serde_json::json!({
            "id": "1", "type": "subscribe",
            "payload": { "query": query, "variables": { "id": run_id } }
        })
        .to_string(),
    ))
    .await
    .unwrap();
    ws
}

/// A small customer table with clear segments.
pub fn customers_csv(rows: usize) -> String {
    let mut out = String::from("customer_id,age,gender,region,total_spend,visit_frequency\n");
    let regions = ["Addis Ababa", "Oromia", "Amhara", "Tigray"];
    for i in 0..rows {
        let group = i % 3;
        let age = 20 + group * 15 + (i * 7) % 9;
        let spend = 2000.0 + group as f64 * 4000.0 + ((i * 37) % 500) as f64;
        let visits = 2 + group * 4 + (i % 3);
        let gender = if i % 2 == 0 { "Female" } else { "Male" };
        out.push_str(&format!(
            "C{i:05},{age},{gender},{},{spend:.1},{visits}\n",
            regions[(i + group) % regions.len()]
        ));
    }
    out
}
