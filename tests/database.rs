//! How SegmentIQ behaves when the database is not at its best: stale planner statistics (query
//! plans must not depend on them) and connections killed mid-operation (`pg_terminate_backend`
//! from an admin connection, as a restarting or failing-over server does).

mod common;

use std::time::Duration;

use common::{TestApp, admin, customers_csv, fresh_db, json_body};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use segmentiq::db::assignments::PageQuery;
use segmentiq::db::explain;
use serde_json::{Value, json};

const TABLES: [&str; 4] = [
    "datasets",
    "dataset_rows",
    "clustering_runs",
    "cluster_assignments",
];

async fn execute(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql)
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// A dataset of `rows` rows and a succeeded 4-segment run over it, written with plain SQL so no
/// ANALYZE follows (as rows written while autovacuum is off). Returns (dataset id, run id).
async fn load_run(conn: &mut AsyncPgConnection, rows: i64) -> (i64, i64) {
    let dataset = diesel::sql_query(
        "INSERT INTO datasets (name, filename, byte_size, row_count, columns, raw_file) \
         VALUES ('big', 'big.csv', 1, $1, '[]', '') RETURNING id",
    )
    .bind::<BigInt, _>(rows)
    .get_result::<Id>(conn)
    .await
    .unwrap()
    .id;
    diesel::sql_query(
        "INSERT INTO dataset_rows (dataset_id, row_index, payload) \
         SELECT $1, i, jsonb_build_object('customer_id', 'C' || i, 'age', 20 + i % 50, \
                'region', 'Addis Ababa', 'total_spend', i * 1.5) \
         FROM generate_series(0, $2 - 1) AS i",
    )
    .bind::<BigInt, _>(dataset)
    .bind::<BigInt, _>(rows)
    .execute(conn)
    .await
    .unwrap();
    let run = diesel::sql_query(
        "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status) \
         VALUES ($1, 'ward', 4, 'succeeded') RETURNING id",
    )
    .bind::<BigInt, _>(dataset)
    .get_result::<Id>(conn)
    .await
    .unwrap()
    .id;
    diesel::sql_query(
        "INSERT INTO cluster_assignments (run_id, row_index, cluster_label) \
         SELECT $1, i, i % 4 FROM generate_series(0, $2 - 1) AS i",
    )
    .bind::<BigInt, _>(run)
    .bind::<BigInt, _>(rows)
    .execute(conn)
    .await
    .unwrap();
    (dataset, run)
}

/// Every node of an `EXPLAIN (FORMAT JSON)` plan.
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut out = vec![&plan[0]["Plan"]];
    let mut i = 0;
    while i < out.len() {
        if let Some(children) = out[i]["Plans"].as_array() {
            out.extend(children);
        }
        i += 1;
    }
    out
}

/// The plan reads `dataset_rows` only through its primary key, both columns, and reads no more
/// payloads than the page has rows; no hash join anywhere.
fn assert_reads_only_the_page(plan: &Value, page_rows: u64) {
    let all = nodes(plan);
    let mut payload_reads = None;
    for node in &all {
        assert_ne!(node["Node Type"], "Hash Join", "{plan:#}");
        if node["Relation Name"] == "dataset_rows" {
            assert_eq!(node["Node Type"], "Index Scan", "{plan:#}");
            assert_eq!(node["Index Name"], "dataset_rows_pkey", "{plan:#}");
            let cond = node["Index Cond"].as_str().unwrap_or("");
            assert!(
                cond.contains("dataset_id") && cond.contains("row_index"),
                "{plan:#}"
            );
            let rows =
                node["Actual Rows"].as_f64().unwrap() * node["Actual Loops"].as_f64().unwrap();
            payload_reads = Some(rows.round() as u64);
        }
    }
    assert_eq!(payload_reads, Some(page_rows), "{plan:#}");
}

async fn check_pages(conn: &mut AsyncPgConnection, dataset_id: i64, run_id: i64) {
    for (cluster, after) in [(None, None), (None, Some(30_000)), (Some(2), Some(10_000))] {
        let query = PageQuery {
            run_id,
            dataset_id,
            cluster,
            after,
            limit: 1_001,
            ..PageQuery::default()
        };
        let plan = explain::plan(conn, query.query(), true).await.unwrap();
        assert_reads_only_the_page(&plan, 1_001);
        let rows = query.fetch(conn).await.unwrap();
        assert_eq!(rows.len(), 1_001);
        let first = after.map_or(0, |a| a + 1);
        assert!(rows[0].row_index >= first);
        assert!(rows.windows(2).all(|w| w[0].row_index < w[1].row_index));
        assert!(cluster.is_none_or(|c| rows.iter().all(|r| r.cluster_label == c)));
        assert_eq!(
            rows[0].payload["customer_id"],
            json!(format!("C{}", rows[0].row_index))
        );
    }
}

/// With autovacuum off, the statistics either do not exist yet or describe the tables as they
/// were before the last big upload. Both used to make the assignments page read every row of
/// the dataset (a bitmap scan of all of it; a nested loop on `dataset_id` alone, 1,000 rows
/// per page row). The page query now reads one payload per page row in both cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignment_pages_read_payloads_by_primary_key_whatever_the_statistics() {
    let db = fresh_db().await;
    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    for table in TABLES {
        execute(
            &mut conn,
            &format!("ALTER TABLE {table} SET (autovacuum_enabled = false)"),
        )
        .await;
    }

    // Never analyzed.
    let (dataset, run) = load_run(&mut conn, 50_000).await;
    check_pages(&mut conn, dataset, run).await;

    // Analyzed before the next upload: the statistics say every row belongs to the first one.
    execute(&mut conn, "ANALYZE").await;
    let (dataset, run) = load_run(&mut conn, 50_000).await;
    check_pages(&mut conn, dataset, run).await;
    drop(conn);
    db.drop_now().await;
}

async fn train(app: &TestApp, dataset: &Value) -> Value {
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .json(&json!({ "dataset_id": dataset["id"], "linkage": "ward", "n_clusters": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    resp.json().await.unwrap()
}

/// `limit=10` reads 10 payloads from the database, not a 1,000-row page cut down afterwards,
/// and an upload and a run's assignments leave fresh statistics behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_limit_reads_only_the_rows_asked_for_and_bulk_writes_refresh_statistics() {
    let app = TestApp::start().await;
    let analyzed = |table: &str| {
        format!(
            "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = '{table}'"
        )
    };
    // Autovacuum is not involved: `last_analyze` is set by ANALYZE statements only.
    let (status, dataset) = app
        .upload("customers.csv", customers_csv(1_500).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    assert_eq!(app.db.scalar(&analyzed("dataset_rows")).await, "true");
    assert_eq!(
        app.db.scalar(&analyzed("cluster_assignments")).await,
        "false"
    );
    let run = train(&app, &dataset).await;
    assert_eq!(
        app.db.scalar(&analyzed("cluster_assignments")).await,
        "true"
    );

    let run_id = run["id"].as_i64().unwrap();
    let base = format!("/api/v1/clustering/runs/{run_id}/assignments");
    let rows: Vec<Value> = app.get_json(&format!("{base}?limit=10&offset=1200")).await;
    let indexes: Vec<i64> = rows
        .iter()
        .map(|r| r["row_index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, (1200..1210).collect::<Vec<_>>());

    let stored = segmentiq::service::runs::get(&app.state, run_id)
        .await
        .unwrap();
    let download = segmentiq::service::assignments::Download::new(&stored, None, 1200, 10);
    let query = download.next_query().expect("a first page");
    assert_eq!((query.limit, query.offset), (10, 1200));
    let mut conn = app.state.pool.get().await.unwrap();
    let plan = explain::plan(&mut conn, query.query(), true).await.unwrap();
    assert_reads_only_the_page(&plan, 10);
    assert_eq!(plan[0]["Plan"]["Actual Rows"], 10, "{plan:#}");
    drop(conn);
    app.stop().await;
}

/// Terminates, from an admin connection, a backend of `database` whose running statement
/// starts with `statement` and is not in `done` (a terminated backend stays listed for a moment
/// while it exits); returns its pid.
async fn terminate(
    admin: &mut AsyncPgConnection,
    database: &str,
    statement: &str,
    done: &[i32],
) -> Option<i32> {
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        killed: bool,
    }
    diesel::sql_query(
        "SELECT pid, pg_terminate_backend(pid) AS killed FROM pg_stat_activity \
         WHERE datname = $1 AND state = 'active' AND query LIKE $2 || '%' \
           AND pid <> ALL($3) LIMIT 1",
    )
    .bind::<Text, _>(database)
    .bind::<Text, _>(statement)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(done)
    .get_result::<Killed>(admin)
    .await
    .ok()
    .filter(|k| k.killed)
    .map(|k| k.pid)
}

/// Sends `request` and terminates the connection that stores the upload's rows while it does.
async fn send_while_terminating(
    app: &TestApp,
    request: reqwest::RequestBuilder,
) -> reqwest::Response {
    let mut admin = admin().await;
    let sent = tokio::spawn(request.send());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut killed = false;
    while !killed && !sent.is_finished() && tokio::time::Instant::now() < deadline {
        killed = terminate(&mut admin, &app.db.name, "COPY dataset_rows", &[])
            .await
            .is_some();
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        killed,
        "the upload ended before its connection could be terminated"
    );
    sent.await.unwrap().unwrap()
}

/// An upload whose connection is lost while its rows are stored answers 503 with `Retry-After`
/// (REST) or `UNAVAILABLE` with `retryAfter` (GraphQL), stores nothing, and the same upload
/// works when sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_mid_upload_answers_503_and_stores_nothing() {
    let app = TestApp::start().await;
    let csv = customers_csv(150_000);
    let part = || reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("big.csv");

    let rest = app
        .client
        .post(app.url("/api/v1/datasets/upload"))
        .multipart(reqwest::multipart::Form::new().part("file", part()));
    let resp = send_while_terminating(&app, rest).await;
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(resp.headers()["retry-after"], "5");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "UNAVAILABLE", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("try again"),
        "{body}"
    );

    let operations = json!({
        "query": "mutation($file: Upload!) { uploadDataset(file: $file) { id rowCount } }",
        "variables": { "file": null }
    });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.file"] }).to_string())
        .part("0", part());
    let resp =
        send_while_terminating(&app, app.client.post(app.url("/graphql")).multipart(form)).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAVAILABLE",
        "{body}"
    );
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], 5, "{body}");

    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "0");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM dataset_rows").await,
        "0"
    );

    let (status, dataset) = app.upload("small.csv", customers_csv(50).as_bytes()).await;
    assert_eq!(status, 201, "{dataset}");
    let listed: Value = json_body(app.client.get(app.url("/api/v1/datasets"))).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    app.stop().await;
}

/// A finished run's results survive connections lost while they are stored: the store is
/// tried again with the results kept in memory, and they appear whole, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_run_is_stored_despite_lost_connections() {
    let db = fresh_db().await;
    let dataset_id = db
        .text(
            "INSERT INTO datasets (name, filename, byte_size, row_count, columns, raw_file) \
             VALUES ('d', 'd.csv', 1, 200000, '[]', '') RETURNING id::text AS v",
        )
        .await;
    let run_id: i64 = db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, worker, \
                 started_at, heartbeat_at) \
             VALUES ({dataset_id}, 'ward', 4, 'running', 'w1', now(), now()) \
             RETURNING id::text AS v"
        ))
        .await
        .parse()
        .unwrap();
    let rows = 200_000;
    let results = segmentiq::db::runs::RunResults {
        documents: segmentiq::db::stored::Documents {
            feature_config: Some(json!({})),
            metrics: Some(json!({ "n_samples": rows })),
            profiles: Some(json!([])),
            k_sweep: None,
        },
        timings: json!({}),
        linkage_matrix: vec![0; 32],
        map_points: vec![0; 8],
        model: json!({}),
        labels: (0..rows).map(|i| (i % 4) as i32).collect(),
        silhouettes: vec![Some(0.5); rows],
    };
    let pool = segmentiq::db::pool(&db.url, 2).unwrap();
    let store_pool = pool.clone();
    let store_url = db.url.clone();
    let store = tokio::spawn(async move {
        segmentiq::jobs::cluster::store_results(&store_url, &store_pool, run_id, "w1", &results)
            .await
    });

    let mut admin = admin().await;
    let mut killed = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while killed.len() < 2 && !store.is_finished() && tokio::time::Instant::now() < deadline {
        let insert = "COPY cluster_assignments";
        if let Some(pid) = terminate(&mut admin, &db.name, insert, &killed).await {
            killed.push(pid);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(
        killed.len(),
        2,
        "the store ended before its connections could be terminated"
    );
    let stored = store.await.unwrap().expect("stored after retrying");
    assert!(stored.stored);
    assert_eq!(stored.attempts, 3);
    assert_eq!(
        db.scalar(&format!(
            "SELECT status FROM clustering_runs WHERE id = {run_id}"
        ))
        .await,
        "succeeded"
    );
    assert_eq!(
        db.scalar(&format!(
            "SELECT count(*) FROM cluster_assignments WHERE run_id = {run_id}"
        ))
        .await,
        rows.to_string()
    );
    pool.close();
    db.drop_now().await;
}

/// A table whose cells a text format would have to escape: backslashes, tabs, line breaks and
/// quotes inside quoted cells, `\N` (COPY's text null), non-Latin text, a 20,000-character
/// cell, and numbers past 2^53, tiny and negative.
fn cells_to_escape(rows: usize) -> String {
    let notes = [
        r"back\slash",
        "tab\there",
        "line\nbreak",
        r#"say ""hi"""#,
        r"\N",
        "አዲስ አበባ ☕",
        "",
    ];
    let long = "ሀ".repeat(20_000);
    let mut csv = String::from("id,region,note,spend,visits\n");
    for i in 0..rows {
        let note = if i == 7 {
            long.as_str()
        } else {
            notes[i % notes.len()]
        };
        let region = ["Addis Ababa", "Adama", r"Dire\Dawa"][i % 3];
        let spend = match i {
            0 => "9007199254740993".to_string(),
            1 => "-0.000015".to_string(),
            _ => format!("{}.25", 100 + i * 37 % 900),
        };
        csv.push_str(&format!("C{i:03},{region},\"{note}\",{spend},{}\n", i % 11));
    }
    csv
}

/// Rows travel to PostgreSQL as binary COPY: every cell of a table that text formats must
/// escape reads back exactly as the parser read it, in the dataset's preview, in a run's
/// assignments and in placed new customers (with a remark quoting an unseen level).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_reads_back_as_it_was_read() {
    let app = TestApp::start().await;
    let csv = cells_to_escape(60);
    let table = segmentiq::engine::ingest::read_csv(csv.as_bytes()).unwrap();
    let parsed = table.json_rows();
    let (status, dataset) = app.upload("escapes.csv", csv.as_bytes()).await;
    assert_eq!(status, 201, "{dataset}");
    let id = dataset["id"].as_i64().unwrap();
    let detail: Value = app.get_json(&format!("/api/v1/datasets/{id}")).await;
    let preview = detail["preview"].as_array().unwrap();
    assert_eq!(preview.len(), 10);
    for (i, row) in preview.iter().enumerate() {
        assert_eq!(row, &parsed.value(i), "preview row {i}");
    }
    assert_eq!(preview[0]["note"], r"back\slash");
    assert_eq!(preview[2]["note"], "line\nbreak");
    assert_eq!(preview[3]["note"], r#"say "hi""#);
    assert_eq!(preview[4]["note"], r"\N");
    assert_eq!(preview[5]["note"], "አዲስ አበባ ☕");
    assert_eq!(preview[6]["note"], Value::Null);
    assert_eq!(preview[7]["note"].as_str().unwrap().chars().count(), 20_000);
    assert_eq!(preview[0]["spend"], 9007199254740992.0);
    assert_eq!(preview[1]["spend"], -0.000015);

    let (status, run) = app
        .train(
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3,
                    "features": ["region", "spend", "visits"] }),
            true,
        )
        .await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    let run_id = run["id"].as_i64().unwrap();
    let assigned: Vec<Value> = app
        .get_json(&format!(
            "/api/v1/clustering/runs/{run_id}/assignments?limit=1000"
        ))
        .await;
    assert_eq!(assigned.len(), 60);
    for (i, a) in assigned.iter().enumerate() {
        assert_eq!(a["row_index"], i);
        assert_eq!(a["payload"], parsed.value(i), "assignment {i}");
    }

    let new = cells_to_escape(10).replace(r"Dire\Dawa", "Ba\\ck's\tlash");
    let part = reqwest::multipart::Part::bytes(new.into_bytes()).file_name("new.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let scoring: Value = json_body(
        app.client
            .post(app.url(&format!("/api/v1/clustering/runs/{run_id}/scorings")))
            .multipart(form),
    )
    .await;
    let scoring_id = scoring["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{scoring}"));
    let placed: Value = app
        .get_json(&format!(
            "/api/v1/clustering/scorings/{scoring_id}/rows?limit=100"
        ))
        .await;
    let rows = placed["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[2]["payload"]["region"], "Ba\\ck's\tlash");
    assert_eq!(rows[2]["payload"]["note"], "line\nbreak");
    let remarks = rows[2]["remarks"].as_array().unwrap();
    assert!(
        remarks
            .iter()
            .any(|r| r.as_str().unwrap().contains("Ba\\ck's\tlash")),
        "{remarks:?}"
    );
    assert_eq!(rows[0]["remarks"], json!([]));
    app.stop().await;
}
