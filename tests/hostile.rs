//! Hostile and careless requests over real HTTP: none may crash the server, slip past a limit,
//! echo a huge argument back, or leave a stored run that cannot be read.

mod common;

use common::{TestApp, json_body};
use futures::{SinkExt, StreamExt};
use proptest::strategy::{Strategy, ValueTree};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A GraphQL query whose argument nests `n` list or object literals.
fn nested_query(n: usize, object: bool) -> String {
    let (open, close) = if object { ("{a: ", "}") } else { ("[", "]") };
    format!(
        "{{ runs(datasetId: {}1{}) {{ totalCount }} }}",
        open.repeat(n),
        close.repeat(n)
    )
}

fn first_message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

async fn alive(app: &TestApp) {
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "the server must survive");
}

/// The issue's reproduction (2,000 nested `[` in a 4 KB body overflowed the stack and aborted
/// the process), on every GraphQL entry point and with object literals too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_queries_are_refused_on_every_entry_point() {
    let app = TestApp::start().await;
    for object in [false, true] {
        let query = nested_query(2_000, object);
        // JSON POST.
        let body = app.graphql(&query, json!({})).await;
        assert!(
            first_message(&body).contains("nests brackets more than 64 deep"),
            "{body}"
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        // Multipart `operations`.
        let form = reqwest::multipart::Form::new()
            .text("operations", json!({ "query": query }).to_string())
            .text("map", "{}");
        let body: Value = json_body(app.client.post(app.url("/graphql")).multipart(form)).await;
        assert!(first_message(&body).contains("nests brackets"), "{body}");
        // GET, the query in the URL.
        let body: Value = json_body(
            app.client
                .get(app.url("/graphql"))
                .query(&[("query", &query)]),
        )
        .await;
        assert!(first_message(&body).contains("nests brackets"), "{body}");
        alive(&app).await;
    }

    // The websocket's `subscribe`.
    let mut ws = common::graphql_ws(&app.base).await;
    let send = |v: Value| Message::Text(v.to_string().into());
    let subscription = format!(
        "subscription {{ runProgress(runId: {}\"1\"{}) {{ status }} }}",
        "[".repeat(2_000),
        "]".repeat(2_000)
    );
    ws.send(send(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": subscription } }),
    ))
    .await
    .unwrap();
    let mut refused = None;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["type"] == "error" || v["type"] == "next" {
            refused = Some(v);
            break;
        }
    }
    let refused = refused.expect("an answer to the subscription");
    assert!(
        refused
            .to_string()
            .contains("nests brackets more than 64 deep"),
        "{refused}"
    );
    alive(&app).await;

    // Ordinary nesting is still fine.
    let body = app.graphql(&nested_query(3, false), json!({})).await;
    assert!(!first_message(&body).contains("nests brackets"), "{body}");
    app.stop().await;
}

/// A batch cannot multiply a single request's allowance: at most 10 queries, one complexity
/// budget for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_capped_and_share_one_complexity_budget() {
    let app = TestApp::start().await;
    let batch = |n: usize, query: &str| json!(vec![json!({ "query": query }); n]);
    let small = "{ datasets(first: 1) { totalCount } }";
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&batch(11, small))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        first_message(&body),
        "the batch holds 11 queries; at most 10 are accepted in one request"
    );

    let answers: Value =
        json_body(app.client.post(app.url("/graphql")).json(&batch(10, small))).await;
    assert_eq!(answers.as_array().unwrap().len(), 10);
    assert!(answers[9]["errors"].is_null(), "{answers}");

    // Each of these costs 7,001 of the limit of 20,000: two fit, the third does not.
    let costly = "{ datasets(first: 1000) { totalCount pageInfo { hasNextPage endCursor } nodes { id name } } }";
    let answers: Value =
        json_body(app.client.post(app.url("/graphql")).json(&batch(3, costly))).await;
    let refused: Vec<bool> = answers
        .as_array()
        .unwrap()
        .iter()
        .map(|a| !a["errors"].is_null())
        .collect();
    assert_eq!(refused, [false, false, true], "{answers}");
    assert!(
        first_message(&answers[2]).contains("share a complexity limit of 20000"),
        "{answers}"
    );
    app.stop().await;
}

/// Errors quote at most a short prefix of what was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_arguments_are_not_echoed_back() {
    let app = TestApp::start().await;
    let huge = "x".repeat(5_000_000);
    for query in [
        format!("{{ dataset(id: \"{huge}\") {{ id }} }}"),
        format!(
            "{{ runs(status: {}) {{ totalCount }} }}",
            huge.to_uppercase()
        ),
        format!("{{ {huge} }}"),
    ] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        let text = resp.text().await.unwrap();
        assert!(text.len() < 1_000, "{} bytes: {}", text.len(), &text[..300]);
        assert!(text.contains("characters)"), "{text}");
    }
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{}", "9".repeat(10_000))))
        .send()
        .await
        .unwrap();
    assert!(resp.text().await.unwrap().len() < 1_000);
    app.stop().await;
}

/// The multipart request may carry at most 4 files; a REST upload honours `name` wherever it
/// comes and refuses a second file instead of dropping it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_parts_are_honoured_or_refused() {
    let app = TestApp::start().await;
    let csv = "a,b\n1,2\n3,4\n5,7\n";
    let file = || reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("t.csv");
    let mut form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({ "query": "mutation($f: [Upload!]!) { a: uploadDataset(file: $f) { id } }", "variables": { "f": [null, null, null, null, null] } }).to_string(),
        )
        .text(
            "map",
            json!({ "0": ["variables.f.0"], "1": ["variables.f.1"], "2": ["variables.f.2"], "3": ["variables.f.3"], "4": ["variables.f.4"] }).to_string(),
        );
    for i in 0..5 {
        form = form.part(i.to_string(), file());
    }
    let resp = app
        .client
        .post(app.url("/graphql"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        first_message(&body),
        "the request carries 5 files; at most 4 are accepted in one request"
    );

    // `name` after `file` is honoured.
    let form = reqwest::multipart::Form::new()
        .part("file", file())
        .text("name", "March customers");
    let dataset: Value = json_body(
        app.client
            .post(app.url("/api/v1/datasets/upload"))
            .multipart(form),
    )
    .await;
    assert_eq!(dataset["name"], "March customers", "{dataset}");

    // A second `file` is refused, and nothing of it is stored.
    let form = reqwest::multipart::Form::new()
        .part("file", file())
        .part("file", file().file_name("u.csv"));
    let resp = app
        .client
        .post(app.url("/api/v1/datasets/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "the upload has a second `file` part (u.csv after t.csv); send one CSV per upload"
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "1");
    app.stop().await;
}

/// Trains through REST and returns the finished run.
async fn train(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Reads run `id` and its dataset through every interface; each must answer without an error.
async fn read_everywhere(app: &TestApp, dataset: i64, id: i64) -> Value {
    let run: Value = app.get_json(&format!("/api/v1/clustering/runs/{id}")).await;
    assert_eq!(run["id"], id, "REST run {id}: {run}");
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { status damage segments { name size numeric { feature mean median z missing } } metrics { silhouetteScore } } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "GraphQL run {id}: {body}");
    for path in [
        format!("/runs/{id}"),
        format!("/runs/{id}/segments"),
        format!("/datasets/{dataset}"),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    body["data"]["run"].clone()
}

/// Every list that holds the dataset's runs answers, with `expected` runs in it.
async fn lists_answer(app: &TestApp, dataset: i64, expected: usize) {
    let runs: Value = app
        .get_json(&format!("/api/v1/clustering/runs?dataset_id={dataset}"))
        .await;
    assert_eq!(runs.as_array().map(Vec::len), Some(expected), "{runs}");
    let body = app
        .graphql(
            "query($id: ID!) { runs(datasetId: $id, first: 100) { totalCount nodes { id status damage segments { numeric { mean } } } } dataset(id: $id) { runs(first: 100) { nodes { id } } } }",
            json!({ "id": dataset.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["runs"]["totalCount"], expected);
    let resp = app
        .client
        .get(app.url(&format!("/datasets/{dataset}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// The issue's reproductions: segments whose members all lack a numeric value made a run no
/// list could read (NaN mean stored as null); now the profile says "no values".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_without_values_read_back_everywhere() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload(
            "gaps.csv",
            b"spend,visits\n1,\n1.1,\n50,5\n51,6\n52,7\n100,8\n101,9\n",
        )
        .await;
    assert_eq!(status, 201, "{dataset}");
    let id = dataset["id"].as_i64().unwrap();
    let (status, run) = train(
        &app,
        json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 }),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    let gap = run["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["numeric"][1]["missing"] == 2)
        .unwrap_or_else(|| panic!("a segment of the two customers without visits: {run}"));
    assert_eq!(gap["numeric"][1]["mean"], Value::Null);
    let read = read_everywhere(&app, id, run["id"].as_i64().unwrap()).await;
    assert!(read["damage"].is_null());
    let page = app.get_text(&format!("/runs/{}/segments", run["id"])).await;
    assert!(page.contains("no values (2 missing)"), "{page}");

    // k = n - 1 and single linkage on the same table.
    let (status, run) = train(
        &app,
        json!({ "dataset_id": id, "linkage": "single", "n_clusters": 6 }),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    lists_answer(&app, id, 2).await;

    // The sample customers with single linkage and 6 segments.
    let sample = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sample_data/ethiopian_supermarket_customers.csv"
    ))
    .unwrap();
    let (_, dataset) = app.upload("sample.csv", &sample).await;
    let sample_id = dataset["id"].as_i64().unwrap();
    let (status, run) = train(
        &app,
        json!({ "dataset_id": sample_id, "linkage": "single", "n_clusters": 6 }),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    read_everywhere(&app, sample_id, run["id"].as_i64().unwrap()).await;
    app.stop().await;
}

/// Uploads a table of five customers in two clear groups; returns the dataset id.
async fn five_customers(app: &TestApp) -> i64 {
    let (status, dataset) = app
        .upload("t.csv", b"spend,visits\n1,2\n1.1,3\n50,5\n51,6\n52,7\n")
        .await;
    assert_eq!(status, 201, "{dataset}");
    dataset["id"].as_i64().unwrap()
}

/// The five customers of [`five_customers`] in two segments: the dataset's id and the run.
async fn two_segment_run(app: &TestApp) -> (i64, Value) {
    let dataset = five_customers(app).await;
    let (status, run) = train(
        app,
        json!({ "dataset_id": dataset, "linkage": "ward", "n_clusters": 2 }),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    (dataset, run)
}

/// A run stored by a faulty version (results that no longer decode) is reported as damaged on
/// its own; the lists around it keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_run_never_breaks_a_list() {
    let app = TestApp::start().await;
    let id = five_customers(&app).await;
    let mut runs = Vec::new();
    for k in [2, 3] {
        let (status, run) = train(
            &app,
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": k }),
        )
        .await;
        assert_eq!(status, 201, "{run}");
        runs.push(run["id"].as_i64().unwrap());
    }
    app.db
        .text(&format!(
            "UPDATE clustering_runs SET profiles = '[{{\"segment\": \"zero\"}}]' WHERE id = {} RETURNING 'ok' AS v",
            runs[0]
        ))
        .await;
    lists_answer(&app, id, 2).await;
    let damaged = read_everywhere(&app, id, runs[0]).await;
    assert!(
        damaged["damage"].as_str().unwrap().starts_with(&format!(
            "the stored results of run {} cannot be read: its segment profiles",
            runs[0]
        )),
        "{damaged}"
    );
    let rest: Value = app
        .get_json(&format!("/api/v1/clustering/runs/{}", runs[0]))
        .await;
    assert!(rest["damage"].as_str().is_some(), "{rest}");
    let page = app.get_text(&format!("/runs/{}", runs[0])).await;
    assert!(page.contains("results cannot be shown"), "{page}");
    let healthy = read_everywhere(&app, id, runs[1]).await;
    assert!(healthy["damage"].is_null());
    app.stop().await;
}

/// A run whose stored stage this version does not know (a newer version wrote it, with the
/// `CHECK` constraint that would refuse it dropped) is `INTERNAL` in every interface, and a
/// follower hearing an unreadable progress notification about it ends with `INTERNAL` too,
/// rather than dropping the news.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_this_version_cannot_read_is_internal_everywhere() {
    let app = TestApp::start().await;
    let dataset = five_customers(&app).await;
    // Running on another (live) worker: this server's worker leaves it alone.
    let id = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, stage, worker, \
             heartbeat_at, started_at) VALUES ({dataset}, 'ward', 2, 'running', 'linkage', \
             'elsewhere', now(), now()) RETURNING id::text AS v"
        ))
        .await;
    let mut ws = common::subscribe_progress(&app.base, &id, "status stage").await;
    let mut next = async || loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(20), ws.next())
            .await
            .expect("the subscription answers")
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        if v["type"] != "ping" {
            return v;
        }
    };
    let first = next().await;
    assert_eq!(
        first["payload"]["data"]["runProgress"]["stage"], "linkage",
        "{first}"
    );

    app.db
        .execute("ALTER TABLE clustering_runs DROP CONSTRAINT clustering_runs_stage_check")
        .await;
    app.db
        .text(&format!(
            "UPDATE clustering_runs SET stage = 'annealing' WHERE id = {id} RETURNING 'ok' AS v"
        ))
        .await;
    let payload = json!({ "run_id": id.parse::<i64>().unwrap(), "status": "running", "stage": "annealing", "fraction": 0.5, "message": "Annealing" });
    app.db
        .text(&format!(
            "SELECT pg_notify('segmentiq_progress', '{payload}') IS NULL AS v"
        ))
        .await;
    let error = next().await;
    assert_eq!(error["type"], "next", "{error}");
    assert_eq!(
        error["payload"]["errors"][0]["extensions"]["code"], "INTERNAL",
        "{error}"
    );
    assert_eq!(next().await["type"], "complete");

    let resp = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "INTERNAL", "{body}");
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { stage } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INTERNAL",
        "{body}"
    );
    let page = app
        .client
        .get(app.url(&format!("/runs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 500);
    alive(&app).await;
    app.stop().await;
}

const METHODS: [&str; 7] = [
    "ward", "complete", "average", "single", "weighted", "centroid", "median",
];

/// Small tables with gaps (numbers, categories, repeated and constant values).
fn small_table() -> impl Strategy<Value = String> {
    let cell = |choices: Vec<&'static str>| proptest::sample::select(choices);
    (3usize..=6)
        .prop_flat_map(move |n| {
            proptest::collection::vec(
                (
                    cell(vec!["", "1", "2", "2", "10", "-3.5", "1000"]),
                    cell(vec!["", "", "4", "4", "0", "7.25"]),
                    cell(vec!["", "Adama", "Adama", "Bahir Dar", "Hawassa"]),
                ),
                n,
            )
        })
        .prop_map(|rows| {
            let mut csv = String::from("spend,visits,city\n");
            for (a, b, c) in rows {
                csv.push_str(&format!("{a},{b},{c}\n"));
            }
            csv
        })
}

/// Property: over small random tables with gaps, every linkage and every k from 2 to n, each
/// run that succeeds reads back through REST, GraphQL and the pages, and so do the lists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_successful_run_on_small_tables_with_gaps_reads_back() {
    let app = TestApp::start().await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = small_table();
    let cases: usize = std::env::var("HOSTILE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut succeeded = 0;
    for _ in 0..cases {
        let csv = strategy.new_tree(&mut runner).unwrap().current();
        let (status, dataset) = app.upload("gaps.csv", csv.as_bytes()).await;
        if status != 201 {
            // Refused tables must say why, with a 4xx.
            assert!((400..500).contains(&status), "{csv}: {dataset}");
            continue;
        }
        let id = dataset["id"].as_i64().unwrap();
        let n = dataset["row_count"].as_i64().unwrap();
        let mut queued = Vec::new();
        for method in METHODS {
            for k in 2..=n {
                let resp = app
                    .client
                    .post(app.url("/api/v1/clustering/train?wait=0"))
                    .json(&json!({ "dataset_id": id, "linkage": method, "n_clusters": k }))
                    .send()
                    .await
                    .unwrap();
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap();
                assert!(status < 500, "{csv} {method} k={k}: {body}");
                if status < 300 {
                    queued.push(body["id"].as_i64().unwrap());
                }
            }
        }
        for &run in &queued {
            let done = app.wait_for_run(run).await;
            match done["status"].as_str() {
                Some("succeeded") => {
                    succeeded += 1;
                    read_everywhere(&app, id, run).await;
                }
                _ => assert!(done["error"].as_str().is_some(), "{csv}: {done}"),
            }
        }
        lists_answer(&app, id, queued.len()).await;
    }
    assert!(
        succeeded > 0,
        "no run succeeded: the property tested nothing"
    );
    app.stop().await;
}

/// A cut above the tree's top is refused as one segment is elsewhere; results of one-customer
/// segments succeed but say so on every interface.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn degenerate_results_are_refused_or_named() {
    let app = TestApp::start().await;
    let id = five_customers(&app).await;
    let (status, run) = train(
        &app,
        json!({ "dataset_id": id, "linkage": "ward", "distance_threshold": 1e300 }),
    )
    .await;
    assert_eq!(status, 422, "{run}");
    assert!(
        run["detail"]
            .as_str()
            .unwrap()
            .starts_with("a cut at height 1e300 leaves every customer in one segment: the tree's last merge is at"),
        "{run}"
    );

    let (status, run) = train(
        &app,
        json!({ "dataset_id": id, "linkage": "average", "n_clusters": 5 }),
    )
    .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(
        run["metrics"]["warnings"][0],
        "every segment holds a single customer: there are no groups to describe; ask for fewer segments"
    );
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { metrics { warnings } } }",
            json!({ "id": run["id"].to_string() }),
        )
        .await;
    assert_eq!(
        body["data"]["run"]["metrics"]["warnings"],
        run["metrics"]["warnings"]
    );
    let page = app.get_text(&format!("/runs/{}", run["id"])).await;
    assert!(
        page.contains("every segment holds a single customer"),
        "{page}"
    );

    // A sound run carries no warnings at all.
    let (_, run) = train(
        &app,
        json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 2 }),
    )
    .await;
    assert!(run["metrics"].get("warnings").is_none(), "{run}");
    app.stop().await;
}

/// The sweep's reproduction: a number near 1e155 overflowed its column's standard deviation,
/// stored as `null`, and from then on every list of datasets failed. Now the upload is refused
/// where the number is, nothing is stored, and a dataset stored that way by an earlier version
/// lists and shows everywhere (without that column's summary).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_too_large_to_compute_with_never_break_a_list() {
    let app = TestApp::start().await;
    let id = five_customers(&app).await;
    let (status, body) = app
        .upload(
            "h.csv",
            b"customer_id,age,spend\nC1,1,1e155\nC2,2,3\nC3,3,4\n",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["detail"],
        "h.csv: line 2, column 3 (`spend`) holds 1e155, larger than SegmentIQ computes with (numbers at most 1e100 in size); correct the value, or empty the cell to mark it missing"
    );
    assert_eq!(
        app.db.scalar("SELECT count(*)::text FROM datasets").await,
        "1"
    );

    app.db
        .execute(&format!(
            "UPDATE datasets SET columns = jsonb_set(columns, '{{0,numeric,std}}', 'null') WHERE id = {id}"
        ))
        .await;
    let list: Value = app.get_json("/api/v1/datasets").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let one: Value = app.get_json(&format!("/api/v1/datasets/{id}")).await;
    assert!(one["columns"][0]["numeric"].is_null(), "{one}");
    assert!(one["columns"][1]["numeric"]["std"].is_number(), "{one}");
    let body = app
        .graphql(
            "{ datasets { totalCount nodes { columns { name numeric { std } } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    for path in ["/".to_string(), format!("/datasets/{id}")] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    lists_answer(&app, id, 0).await;
    app.stop().await;
}

/// The sweep's reproduction: thousands of aliased root fields, each resolved at once on its own
/// pooled connection, queued for the whole pool; every other client waited behind all of them
/// (and past the pool's 10 s, got 503 while the query's own fields were `UNAVAILABLE`). Now one
/// request holds a quarter of the pool at most and waits for itself: it answers whole, and ten
/// other requests one after another are all answered while it is still working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wide_query_cannot_take_the_whole_pool() {
    let app = TestApp::start_with(&[("DB_POOL_SIZE", "4")]).await;
    let (dataset, run) = two_segment_run(&app).await;
    let fields: Vec<String> = (0..3_000)
        .map(|i| format!("a{i}: run(id: $id) {{ id segments {{ name }} }}"))
        .collect();
    let query = format!("query($id: ID!) {{ {} }}", fields.join(" "));
    let id = run["id"].to_string();
    let answered = std::sync::atomic::AtomicBool::new(false);
    let wide = async {
        let body = app.graphql(&query, json!({ "id": id })).await;
        answered.store(true, std::sync::atomic::Ordering::SeqCst);
        body
    };
    let others = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        for i in 0..10 {
            let resp = app
                .client
                .get(app.url(&format!("/api/v1/datasets/{dataset}")))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
            assert!(
                !answered.load(std::sync::atomic::Ordering::SeqCst),
                "request {i} waited for the whole wide query"
            );
        }
    };
    let (body, ()) = tokio::join!(wide, others);
    assert!(body["errors"].is_null(), "{}", &body["errors"]);
    assert_eq!(body["data"].as_object().map(|d| d.len()), Some(3_000));
    assert_eq!(body["data"]["a2999"]["id"], id.as_str());
    app.stop().await;
}

/// A request and what it must get: status, and a piece of the message.
struct Refused {
    path: String,
    status: u16,
    says: &'static str,
}

fn refused(path: impl Into<String>, status: u16, says: &'static str) -> Refused {
    Refused {
        path: path.into(),
        status,
        says,
    }
}

/// Query-string values a handler cannot take are refused by name in the interface's own error
/// shape (REST's `{"detail", "code"}` with 422, the pages' error page), never axum's plain-text
/// 400 in serde's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_parameters_are_named_in_the_interfaces_shape() {
    let app = TestApp::start().await;
    let run = app.finished_run(30, json!({ "n_clusters": 3 })).await;
    let id = run["id"].as_i64().unwrap();
    let runs = "/api/v1/clustering/runs";
    let rest = [
        refused(
            format!("{runs}?dataset_id=abc"),
            422,
            "the query parameter `dataset_id` takes a whole number, not `abc`",
        ),
        refused(
            format!("{runs}/{id}/assignments?limit=-1"),
            422,
            "the query parameter `limit` takes a whole number, 0 or more, not `-1`",
        ),
        refused(
            format!("{runs}/{id}/assignments?offset=-1"),
            422,
            "the query parameter `offset` takes a whole number, 0 or more, not `-1`",
        ),
        refused(
            format!("{runs}/{id}/assignments?cluster=abc"),
            422,
            "the query parameter `cluster` takes a whole number, not `abc`",
        ),
        refused(
            format!("{runs}/{id}/assignments.csv?cluster=abc"),
            422,
            "the query parameter `cluster` takes a whole number, not `abc`",
        ),
        refused(
            "/api/v1/clustering/scorings/1/rows?limit=-1",
            422,
            "the query parameter `limit` takes a whole number, 0 or more, not `-1`",
        ),
        refused(
            format!("{runs}/{id}/charts/dendrogram.svg?layout=narrow&layout=wide"),
            422,
            "the query parameter `layout` is given twice; give it once",
        ),
    ];
    for case in rest {
        let resp = app.client.get(app.url(&case.path)).send().await.unwrap();
        assert_eq!(resp.status(), case.status, "{}", case.path);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "BAD_USER_INPUT", "{}: {body}", case.path);
        assert_eq!(body["detail"], case.says, "{}: {body}", case.path);
    }
    for (wait, says) in [
        ("-1", "takes a whole number, 0 or more, not `-1`"),
        ("1.5", "takes a whole number, not `1.5`"),
        ("", "takes a whole number, not an empty value"),
    ] {
        let resp = app
            .client
            .post(app.url(&format!("/api/v1/clustering/train?wait={wait}")))
            .json(&json!({ "dataset_id": run["dataset_id"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "wait={wait}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["detail"],
            format!("the query parameter `wait` {says}"),
            "{body}"
        );
    }
    // Nothing was queued by the refused trains.
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM clustering_runs").await,
        "1"
    );

    // Pages: the error page, whole or as htmx's partial.
    for htmx in [false, true] {
        let (status, headers, html) = app.get_page(&format!("/runs/{id}/compare"), htmx).await;
        assert_eq!(status, 422, "{html}");
        assert!(
            headers[reqwest::header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{headers:?}"
        );
        assert!(
            html.contains("The query parameter `with` is missing."),
            "{html}"
        );
    }
    let (status, _, html) = app
        .get_page(&format!("/runs/{id}/customers.csv?segment=x"), false)
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("The query parameter `segment` takes a whole number, not `x`."),
        "{html}"
    );
    app.stop().await;
}

/// The customers' CSV of a run without results, or of a segment the run does not have, is
/// refused like the run's other downloads instead of a `200` file holding only a header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_downloads_are_checked_before_the_first_byte() {
    let app = TestApp::start().await;
    let run = app.finished_run(30, json!({ "n_clusters": 3 })).await;
    let id = run["id"].as_i64().unwrap();
    let failed: i64 = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status) \
             VALUES ({}, 'ward', 2, 'failed') RETURNING id::text AS v",
            run["dataset_id"]
        ))
        .await
        .parse()
        .unwrap();
    let rest = |path: String| format!("/api/v1/clustering/runs/{path}");
    let cases = [
        (
            rest(format!("{failed}/assignments.csv")),
            409,
            format!(
                "run {failed} is failed; its customers can be downloaded once it has succeeded"
            ),
        ),
        (
            rest(format!("{id}/assignments.csv?cluster=77")),
            422,
            format!("run {id} has segments 0 to 2; there is no segment 77"),
        ),
        (
            format!("/runs/{failed}/customers.csv"),
            409,
            format!(
                "run {failed} is failed; its customers can be downloaded once it has succeeded"
            ),
        ),
        (
            format!("/runs/{id}/customers.csv?segment=77"),
            422,
            format!("run {id} has segments 0 to 2; there is no segment 77"),
        ),
    ];
    for (path, status, says) in cases {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status(), status, "{path}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(&says), "{path}: {text}");
    }
    // The segment the run has still downloads.
    let resp = app
        .client
        .get(app.url(&rest(format!("{id}/assignments.csv?cluster=2"))))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    app.stop().await;
}

/// Cursors are base64 of a key; one that decodes to a key this list never handed out (negative,
/// past the last id, past the largest row index) is refused like garbage, not wrapped round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_cursors_are_refused() {
    use base64::Engine;
    let app = TestApp::start().await;
    let run = app.finished_run(30, json!({ "n_clusters": 3 })).await;
    let id = run["id"].as_i64().unwrap();
    let cursor = |key: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key);
    for key in [
        i64::MAX.to_string(),
        "-5".to_string(),
        "4294967296".to_string(),
    ] {
        let after = cursor(&key);
        let not_a_cursor = format!("`{after}` is not a cursor from this list");
        for query in [
            format!(
                r#"{{ assignments(runId: "{id}", first: 2, after: "{after}") {{ nodes {{ rowIndex }} }} }}"#
            ),
            format!(r#"{{ datasets(first: 2, after: "{after}") {{ nodes {{ id }} }} }}"#),
            format!(r#"{{ runs(first: 2, after: "{after}") {{ nodes {{ id }} }} }}"#),
        ] {
            let body = app.graphql(&query, json!({})).await;
            assert!(
                first_message(&body).starts_with(&not_a_cursor),
                "{query}: {body}"
            );
        }
    }
    // A cursor the list did hand out still works: after the newest run, an empty page.
    let after = cursor(&id.to_string());
    let query = format!(r#"{{ runs(first: 1, after: "{after}") {{ nodes {{ id }} }} }}"#);
    let body = app.graphql(&query, json!({})).await;
    assert_eq!(body["errors"], Value::Null, "{body}");
    assert_eq!(body["data"]["runs"]["nodes"], json!([]), "{body}");
    app.stop().await;
}

/// POST /graphql bodies that are not GraphQL requests are told what is wrong, in GraphQL's
/// words, with 400 whatever the `Accept`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_bodies_that_are_not_requests_are_named() {
    let app = TestApp::start().await;
    let cases = [
        (
            "{}",
            "the body needs a `query` field holding the GraphQL document",
        ),
        (r#"{"query":""}"#, "the body needs a `query` field"),
        ("[]", "the body is an empty batch"),
        (
            r#"{"query":null}"#,
            "the body: `query` must be a string holding the GraphQL document, not null",
        ),
        (
            r#"{"query":"{ datasets { totalCount } }","variables":"{}"}"#,
            "the body: `variables` must be an object of the variables' values, or null, not a JSON string",
        ),
        (
            r#"[{"query":"{ datasets { totalCount } }"}, 7]"#,
            "request 1 of the batch is a JSON number, not a GraphQL request",
        ),
        (
            r#"{"query":"subscription { runProgress(runId: \"1\") { status } }"}"#,
            "subscriptions are not accepted over POST: subscribe over the websocket at /graphql/ws",
        ),
    ];
    for (body, says) in cases {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let answer: Value = resp.json().await.unwrap();
        assert!(first_message(&answer).starts_with(says), "{body}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{body}"
        );
        // The subscription is a GraphQL answer (200 as `application/json`); the rest never
        // were requests.
        let expected = if body.contains("subscription") {
            200
        } else {
            400
        };
        assert_eq!(status, expected, "{body}: {answer}");
    }
    // REST's train body must be an object.
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("the body is a JSON array; send a JSON object"),
        "{body}"
    );
    app.stop().await;
}

/// A file mapped onto a variable that is not an `Upload` is refused by name, instead of
/// async-graphql's placeholder text being stored as the dataset's name; an upload over the
/// limit says the limit as REST does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_uploads_map_files_onto_upload_variables_only() {
    let app = TestApp::start_with(&[("MAX_UPLOAD_BYTES", "20000")]).await;
    let csv = common::customers_csv(10);
    let part = || reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("a.csv");
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            r#"{"query":"mutation($f: Upload!, $n: String) { uploadDataset(file: $f, name: $n) { id name } }","variables":{"f":null,"n":null}}"#,
        )
        .text("map", r#"{"0":["variables.n"],"1":["variables.f"]}"#)
        .part("0", part())
        .part("1", part());
    let body: Value = json_body(app.client.post(app.url("/graphql")).multipart(form)).await;
    assert_eq!(
        first_message(&body),
        "the multipart `map` puts a file in the variable `$n`, which is declared `String`, not \
         `Upload`; map files only onto `Upload` variables",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "0");

    let big = common::customers_csv(2_000);
    let body = app
        .graphql_upload(
            "mutation($file: Upload!) { uploadDataset(file: $file) { id } }",
            "big.csv",
            big.as_bytes(),
            None,
        )
        .await;
    assert_eq!(
        first_message(&body),
        "a file of the request is larger than the upload limit of 19.5 KiB (MAX_UPLOAD_BYTES)",
        "{body}"
    );
    app.stop().await;
}

/// The sweep's reproductions: the pages' forms answered a body they could not read with the
/// framework's plain text (a missing or repeated field, a JSON body) and stored `%FF` as U+FFFD.
/// Now each is a 422 page naming the field, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_forms_refuse_what_they_cannot_read_on_a_page() {
    let app = TestApp::start().await;
    let (dataset, run) = two_segment_run(&app).await;
    let id = run["id"].as_i64().unwrap();
    let label = format!("/runs/{id}/segments/0");
    for (path, content_type, body, says) in [
        (
            label.as_str(),
            "application/x-www-form-urlencoded",
            "name=x",
            "the form field `note` is missing",
        ),
        (
            label.as_str(),
            "application/x-www-form-urlencoded",
            "name=x&name=y&note=",
            "the form field `name` is given twice; give it once",
        ),
        (
            label.as_str(),
            "application/x-www-form-urlencoded",
            "name=ab%FFcd&note=",
            "the form holds bytes that are not UTF-8 text",
        ),
        (
            label.as_str(),
            "application/json",
            "{\"name\": \"x\"}",
            "this address takes a form (application/x-www-form-urlencoded)",
        ),
        (
            &format!("/datasets/{dataset}/runs"),
            "application/json",
            "{}",
            "this address takes a form",
        ),
    ] {
        let resp = app
            .client
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{path} {body}");
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(kind.starts_with("text/html"), "{path} {body}: {kind}");
        // The page starts the message with a capital.
        let page = resp.text().await.unwrap().to_lowercase();
        assert!(page.contains(&says.to_lowercase()), "{path} {body}: {page}");
    }
    let stored: Value = app.get_json(&format!("/api/v1/clustering/runs/{id}")).await;
    let name = stored["segments"][0]["name"].as_str().unwrap();
    assert!(
        !name.contains('\u{FFFD}') && name != "x" && name != "y",
        "{name}"
    );
    app.stop().await;
}
