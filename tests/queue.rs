//! The run queue: cancellation, stale runs, graceful shutdown, and two server processes sharing
//! one database.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{TestApp, customers_csv, fresh_db, json_body};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Rows enough that Ward linkage, silhouette and the k-sweep take seconds.
const BIG: usize = 20_000;

async fn train(app: &TestApp, dataset_id: &Value, linkage: &str, k: usize) -> i64 {
    let (_, body) = app
        .train(
            json!({ "dataset_id": dataset_id, "linkage": linkage, "n_clusters": k }),
            false,
        )
        .await;
    body["id"].as_i64().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_run_stops_it_quickly() {
    let app = TestApp::start().await;
    let (_, dataset) = app.upload("big.csv", customers_csv(BIG).as_bytes()).await;
    let id = train(&app, &dataset["id"], "ward", 4).await;
    app.wait_for_status(id, "running", Duration::from_secs(30))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let asked = tokio::time::Instant::now();
    let body = app
        .graphql(
            "mutation($id: ID!) { cancelRun(id: $id) { id status } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    app.wait_for_status(id, "cancelled", Duration::from_secs(5))
        .await;
    assert!(asked.elapsed() < Duration::from_secs(5));
    assert_eq!(
        app.db
            .scalar(&format!(
                "SELECT count(*) FROM cluster_assignments WHERE run_id = {id}"
            ))
            .await,
        "0"
    );

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_a_dead_process_are_requeued_and_finished() {
    let first = TestApp::start().await;
    let (_, dataset) = first.upload("c.csv", customers_csv(40).as_bytes()).await;
    // A run some process claimed before it died: stale heartbeat.
    let id: i64 = first.db.text(&format!(
        "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, worker, started_at, heartbeat_at) \
         VALUES ({}, 'complete', 3, 'running', 'dead-host:1', now() - interval '1 hour', now() - interval '1 hour') RETURNING id::text AS v",
        dataset["id"]
    )).await.parse().unwrap();
    // A replica starting now sweeps stale runs first.
    let second = TestApp::start_on(&first.db, &[]).await;
    let run = second.wait_for_run(id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        first
            .db
            .scalar(&format!(
                "SELECT count(*) FROM cluster_assignments WHERE run_id = {id}"
            ))
            .await,
        "40"
    );
    second.stop().await;
    first.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_requeues_the_running_run() {
    let db = fresh_db().await;
    let app = TestApp::start_on(&db, &[]).await;
    let (_, dataset) = app.upload("big.csv", customers_csv(BIG).as_bytes()).await;
    let id = train(&app, &dataset["id"], "ward", 4).await;
    app.wait_for_status(id, "running", Duration::from_secs(30))
        .await;
    app.stop().await;
    let status = db
        .scalar(&format!(
            "SELECT status || '/' || coalesce(worker, '-') FROM clustering_runs WHERE id = {id}"
        ))
        .await;
    assert_eq!(status, "queued/-");
    db.drop_now().await;
}

/// A `segmentiq serve` child process.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Wrapped at once so `Drop` kills and reaps it on every path, panics included.
        let mut server = Server {
            child: Command::new(env!("CARGO_BIN_EXE_segmentiq"))
                .arg("serve")
                .env("DATABASE_URL", database_url)
                .env("BIND_ADDR", format!("127.0.0.1:{port}"))
                .env("RUST_LOG", "segmentiq=warn")
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
            base: format!("http://127.0.0.1:{port}"),
        };
        let base = server.base.clone();
        let client = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let exited = server.child.try_wait().ok().flatten();
        panic!("server on port {port} did not become ready (exit status: {exited:?})");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_trained_on_one_process_is_watched_from_another() {
    let db = fresh_db().await;
    let a = Server::start(&db.url).await;
    let b = Server::start(&db.url).await;
    let client = reqwest::Client::new();

    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(customers_csv(8_000).into_bytes()).file_name("c.csv"),
    );
    let dataset: Value = json_body(
        client
            .post(format!("{}/api/v1/datasets/upload", a.base))
            .multipart(form),
    )
    .await;
    let body: Value = client
        .post(format!("{}/graphql", a.base))
        .json(&json!({
            "query": "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
            "variables": { "input": { "datasetId": dataset["id"].to_string(), "linkage": "WARD", "nClusters": 4 } }
        }))
        .send().await.unwrap().json().await.unwrap();
    let run_id = body["data"]["trainRun"]["id"].as_str().unwrap().to_string();

    let mut ws = common::graphql_ws(&b.base).await;
    ws.send(Message::text(json!({
        "id": "p", "type": "subscribe",
        "payload": { "query": "subscription($id: ID!) { runProgress(runId: $id) { status stage fraction } }", "variables": { "id": run_id } }
    }).to_string())).await.unwrap();
    let mut statuses = vec![];
    let mut stages: Vec<String> = vec![];
    let watch = async {
        while let Some(Ok(msg)) = ws.next().await {
            let Ok(v) = serde_json::from_str::<Value>(msg.to_text().unwrap_or("")) else {
                continue;
            };
            match v["type"].as_str() {
                Some("next") => {
                    let progress = &v["payload"]["data"]["runProgress"];
                    statuses.push(progress["status"].as_str().unwrap().to_string());
                    if let Some(stage) = progress["stage"].as_str() {
                        if stages.last().map(String::as_str) != Some(stage) {
                            stages.push(stage.to_string());
                        }
                    }
                }
                Some("complete") => break,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), watch)
        .await
        .expect("run finished within two minutes");
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("SUCCEEDED"),
        "{statuses:?}"
    );
    assert!(
        statuses.len() >= 2,
        "progress crossed processes before the end: {statuses:?}"
    );
    // Every stage reported is one the progress bar knows, and the last before the end is the
    // worker storing the results (the bar's last chip).
    let known: Vec<&str> = segmentiq::engine::Stage::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert!(
        stages.iter().all(|s| known.contains(&s.as_str())),
        "{stages:?}"
    );
    assert_eq!(
        stages.last().map(String::as_str),
        Some("storing"),
        "{stages:?}"
    );
    let assigned = db
        .scalar(&format!(
            "SELECT count(*) FROM cluster_assignments WHERE run_id = {run_id}"
        ))
        .await;
    assert_eq!(assigned, "8000");
    drop(a);
    drop(b);
    db.drop_now().await;
}
