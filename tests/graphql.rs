//! The GraphQL API over real HTTP and websockets against a real PostgreSQL.

mod common;

use std::time::Duration;

use common::{TestApp, customers_csv, json_body};
use futures::StreamExt;
use serde_json::{Value, json};

/// Uploads through the GraphQL multipart request spec.
async fn upload(app: &TestApp, filename: &str, csv: &[u8]) -> Value {
    upload_named(app, filename, csv, None).await
}

async fn upload_named(app: &TestApp, filename: &str, csv: &[u8], name: Option<&str>) -> Value {
    app.graphql_upload(
        "mutation($file: Upload!, $name: String) { uploadDataset(file: $file, name: $name) { id name rowCount columns { name kind missing distinct numeric { min max mean } topValues { value count } } } }",
        filename,
        csv,
        name,
    )
    .await
}

/// Opens a graphql-transport-ws connection and subscribes to a run's progress.
async fn subscribe(base: &str, run_id: &str) -> impl futures::Stream<Item = Value> {
    let ws = common::subscribe_progress(base, run_id, "runId status stage fraction message").await;
    futures::stream::unfold(ws, |mut ws| async move {
        loop {
            let msg = ws.next().await?.ok()?;
            let Ok(text) = msg.to_text() else { continue };
            let v: Value = serde_json::from_str(text).ok()?;
            match v["type"].as_str() {
                Some("next") => return Some((v["payload"]["data"]["runProgress"].clone(), ws)),
                Some("complete") => return None,
                Some("error") => panic!("subscription error: {v}"),
                _ => continue,
            }
        }
    })
}

/// Columns say how their numbers were read: a decimal comma, thousands separators, and for an
/// ambiguous column what was assumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_report_their_number_format() {
    let app = TestApp::start().await;
    let csv = "id;spend;units;score\nC1;1.234,5;1,234;3\nC2;12,5;2,500;4\nC3;7;3;5\n";
    let body = app.graphql_upload(
        "mutation($file: Upload!) { uploadDataset(file: $file) { columns { name kind numeric { max } numberFormat { decimalSeparator thousandsSeparator ambiguous note } } } }",
        "excel.csv",
        csv.as_bytes(),
        None,
    )
    .await;
    let columns = &body["data"]["uploadDataset"]["columns"];
    assert_eq!(columns[1]["kind"], "NUMERIC", "{body}");
    assert_eq!(columns[1]["numeric"]["max"], 1234.5, "{body}");
    assert_eq!(
        columns[1]["numberFormat"],
        json!({
            "decimalSeparator": ",",
            "thousandsSeparator": ".",
            "ambiguous": false,
            "note": "read with a decimal comma and `.` between thousands: `1.234,5` (line 2) = 1234.5"
        })
    );
    // `1,234` could be 1234 or 1.234; the spend column settles it for the file.
    assert_eq!(columns[2]["kind"], "NUMERIC", "{body}");
    assert_eq!(columns[2]["numeric"]["max"], 3.0, "{body}");
    assert_eq!(columns[2]["numberFormat"]["ambiguous"], true, "{body}");
    assert!(
        columns[2]["numberFormat"]["note"]
            .as_str()
            .unwrap()
            .contains("assumed it is 1.234, as the file's other columns are written"),
        "{body}"
    );
    assert_eq!(columns[3]["numberFormat"], Value::Null, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_train_subscribe_and_page_assignments() {
    let app = TestApp::start().await;
    let body = upload_named(
        &app,
        "customers.csv",
        customers_csv(120).as_bytes(),
        Some("Bole branch"),
    )
    .await;
    let dataset = &body["data"]["uploadDataset"];
    assert_eq!(dataset["name"], "Bole branch", "{body}");
    assert_eq!(dataset["rowCount"], 120);
    let spend = dataset["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "total_spend")
        .unwrap();
    assert_eq!(spend["kind"], "NUMERIC");
    assert!(spend["numeric"]["max"].as_f64().unwrap() > spend["numeric"]["min"].as_f64().unwrap());
    let dataset_id = dataset["id"].as_str().unwrap().to_string();

    let body = app.graphql(
        "mutation($input: TrainRunInput!) { trainRun(input: $input) { id status linkage nClusters } }",
        json!({ "input": { "datasetId": dataset_id, "linkage": "AVERAGE", "nClusters": 3 } }),
    ).await;
    let run = &body["data"]["trainRun"];
    assert_eq!(run["linkage"], "AVERAGE", "{body}");
    assert!(matches!(
        run["status"].as_str(),
        Some("QUEUED" | "RUNNING" | "SUCCEEDED")
    ));
    let run_id = run["id"].as_str().unwrap().to_string();

    let events: Vec<Value> = tokio::time::timeout(
        Duration::from_secs(60),
        subscribe(&app.base, &run_id).await.collect(),
    )
    .await
    .expect("the subscription ends when the run ends");
    let last = events.last().unwrap();
    assert_eq!(last["status"], "SUCCEEDED", "{events:?}");
    assert_eq!(last["fraction"], 1.0);
    let fractions: Vec<f64> = events
        .iter()
        .map(|e| e["fraction"].as_f64().unwrap())
        .collect();
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {fractions:?}"
    );

    let body = app.graphql(
        "query($id: ID!) { run(id: $id) { status metrics { nSamples nClusters nEncodedFeatures silhouetteScore clusterSizes { cluster size } } featureConfig { numericFeatures categoricalFeatures pcaApplied nEncodedFeatures } segments { segment name size share numeric { feature z } categorical { feature levels { value lift } } } kSweep { suggestedK structure reason resamples resampleRows points { k silhouette wss stability segmentStability } } dendrogramUrl dataset { id rowCount } } }",
        json!({ "id": run_id }),
    ).await;
    let run = &body["data"]["run"];
    assert_eq!(run["metrics"]["nSamples"], 120, "{body}");
    // The suggestion and every figure it used.
    let sweep = &run["kSweep"];
    assert!(sweep["structure"].is_boolean(), "{sweep}");
    assert!(!sweep["reason"].as_str().unwrap().is_empty(), "{sweep}");
    assert_eq!(
        (&sweep["resamples"], &sweep["resampleRows"]),
        (&json!(20), &json!(60))
    );
    let three = &sweep["points"][1];
    assert_eq!(three["k"], 3);
    let stability = three["segmentStability"].as_array().unwrap();
    assert_eq!(stability.len(), 3);
    assert_eq!(
        three["stability"].as_f64(),
        stability
            .iter()
            .map(|j| j.as_f64().unwrap())
            .reduce(f64::min)
    );
    let sizes: Vec<i64> = run["metrics"]["clusterSizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<i64>(), 120);
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "segment 0 is the largest: {sizes:?}"
    );
    assert_eq!(run["dataset"]["id"], dataset_id.as_str());
    assert!(
        run["dendrogramUrl"]
            .as_str()
            .unwrap()
            .ends_with("/dendrogram")
    );

    // Page through every assignment of segment 1 the way a dashboard would.
    let mut after: Option<String> = None;
    let mut seen = 0;
    loop {
        let body = app.graphql(
            "query($run: ID!, $after: String) { assignments(runId: $run, cluster: 1, first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { rowIndex cluster payload } } nodes { rowIndex } } }",
            json!({ "run": run_id, "after": after }),
        ).await;
        let conn = &body["data"]["assignments"];
        assert_eq!(conn["totalCount"], sizes[1], "{body}");
        for edge in conn["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["cluster"], 1);
            assert!(edge["node"]["payload"]["customer_id"].is_string());
            seen += 1;
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen, sizes[1]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_codes_and_actionable_messages() {
    let app = TestApp::start_with(&[("MAX_UPLOAD_BYTES", "20000")]).await;
    let body = app.graphql("{ run(id: \"404\") { id } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "run 404 not found");
    let body = app
        .graphql("{ dataset(id: \"abc\") { id } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let body = app
        .graphql("{ datasets { nodes { nope } } }", json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    let created = upload(&app, "c.csv", customers_csv(12).as_bytes()).await;
    let id = created["data"]["uploadDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let train = |input: Value| {
        app.graphql(
            "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
            json!({ "input": input }),
        )
    };
    let body = train(json!({ "datasetId": id, "linkage": "WARD", "nClusters": 1 })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at least 2"),
        "{body}"
    );
    let body = train(json!({ "datasetId": id, "linkage": "WARD", "nClusters": 13 })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nClusters is 13 but the table has 12 rows"),
        "{body}"
    );
    let body = train(json!({ "datasetId": id, "linkage": "TRIANGLE", "nClusters": 3 })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let body = train(json!({ "datasetId": id, "nClusters": 3, "exclude": ["wallet"] })).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("exclude names `wallet`, but there is no such column"),
        "{body}"
    );

    // A bad CSV through GraphQL: the message names the file and line; nothing is stored.
    let body = upload(&app, "broken.csv", b"a,b\n1,2\n3\n").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("line 3"),
        "{body}"
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "1");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM clustering_runs").await,
        "0"
    );

    // A NUL byte is the user's to fix, at its line and column; it once reached the database.
    let body = upload(&app, "nul.csv", b"id,age\n1,30\n2,4\x001\n").await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["message"],
        "nul.csv: line 3, column 2 (`age`) contains a NUL byte (a zero byte, which is not text); delete it or re-export the file as \"CSV UTF-8\"",
        "{body}"
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "1");

    // An upload over the limit is refused (the test server allows 20,000 bytes).
    let body = upload(&app, "big.csv", customers_csv(2_000).as_bytes()).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("MAX_UPLOAD_BYTES"),
        "{body}"
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "1");

    // Depth limit.
    let mut deep = "id".to_string();
    for _ in 0..4 {
        deep = format!("runs(first: 1) {{ nodes {{ dataset {{ {deep} }} }} }}");
    }
    let deep = format!("{{ datasets(first: 1) {{ nodes {{ {deep} }} }} }}");
    let body = app.graphql(&deep, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nests fields 15 deep, above the limit of 12"),
        "{body}"
    );
    app.stop().await;
}

/// The operations of the README's GraphQL examples, one per `query`/`mutation`/`subscription`
/// at the start of a line in a ```graphql block.
fn readme_operations() -> Vec<String> {
    let readme = include_str!("../README.md");
    let mut operations: Vec<String> = Vec::new();
    for block in readme.split("```graphql").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        for line in block.lines() {
            let starts = ["query", "mutation", "subscription"]
                .iter()
                .any(|keyword| line.starts_with(keyword));
            if starts || operations.is_empty() {
                operations.push(String::new());
            }
            let last = operations.last_mut().unwrap();
            last.push_str(line);
            last.push('\n');
        }
    }
    operations
}

/// The standard introspection query of GraphiQL and graphql-js (every option on) is answered in
/// full, while nesting of the API's own fields, and introspection nested past any client's
/// query, stay refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_introspection_is_answered() {
    let app = TestApp::start().await;
    let introspection = include_str!("fixtures/introspection.graphql");
    let body = app.graphql(introspection, json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "QueryRoot", "{body}");
    let types: Vec<&str> = schema["types"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        types.contains(&"Run") && types.contains(&"TrainRunInput"),
        "{types:?}"
    );

    let mut deep = "name".to_string();
    for _ in 0..20 {
        deep = format!("ofType {{ {deep} }}");
    }
    let body = app
        .graphql(
            &format!("{{ __type(name: \"Run\") {{ {deep} }} }}"),
            json!({}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nests introspection fields 22 deep, above the limit of 20"),
        "{body}"
    );
    app.stop().await;
}

/// Every GraphQL example in the README is accepted as written, against a server holding the
/// dataset and run they name (id 1). Subscriptions are followed over the websocket in
/// `upload_train_subscribe_and_page_assignments`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_queries_are_accepted_as_written() {
    let app = TestApp::start().await;
    let body = upload(&app, "customers.csv", customers_csv(60).as_bytes()).await;
    assert_eq!(body["data"]["uploadDataset"]["id"], "1", "{body}");
    let operations = readme_operations();
    assert!(operations.len() >= 3, "{operations:?}");
    // Runs are trained first; everything else (queries, mutations on the results) once run 1
    // has finished.
    let trains = |op: &&String| op.starts_with("mutation") && op.contains("trainRun");
    for operation in operations.iter().filter(trains) {
        let body = app.graphql(operation, json!({})).await;
        assert!(body["errors"].is_null(), "{operation}\n{body}");
    }
    app.wait_for_run(1).await;
    // The new customers the scoring example reads (the README's curl upload, as a client sends
    // it).
    let body = app
        .graphql_upload(
            "mutation($file: Upload!, $name: String) { scoreCustomers(runId: \"1\", file: $file, name: $name) { id } }",
            "new.csv",
            customers_csv(20).as_bytes(),
            Some("November"),
        )
        .await;
    assert_eq!(body["data"]["scoreCustomers"]["id"], "1", "{body}");
    let later =
        |op: &&String| op.starts_with("query") || (op.starts_with("mutation") && !trains(op));
    for operation in operations.iter().filter(later) {
        let body = app
            .graphql(operation, json!({ "run": "1", "after": null }))
            .await;
        assert!(body["errors"].is_null(), "{operation}\n{body}");
    }
    app.stop().await;
}

/// A page size out of range is named with its bounds, not refused as "too complex"; a query
/// that is too expensive is told its cost, the limit and what to change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_sizes_and_complexity_are_explained() {
    let app = TestApp::start().await;
    for first in ["-1", "1001", "2147483647"] {
        let body = app
            .graphql(
                &format!("{{ datasets(first: {first}) {{ totalCount pageInfo {{ endCursor }} nodes {{ name }} }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["message"],
            format!("`first` must be from 0 to 1000, got {first}"),
            "{body}"
        );
    }
    let body = app
        .graphql(
            "{ datasets(first: 1000) { nodes { runs(first: 1000) { nodes { id } } } } }",
            json!({}),
        )
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("this query's complexity is 2001000, above the limit of 20000")
            && message.contains("smaller `first`"),
        "{body}"
    );
    app.stop().await;
}

/// A matrix method on a table whose n x n matrix would not fit is refused before it is queued,
/// with the limit and the way out, instead of taking the server down when it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_methods_refuse_tables_too_large_for_memory() {
    let app = TestApp::start().await;
    let mut csv = String::from("basket,visits\n");
    for i in 0..46_342 {
        csv.push_str(&format!("{},{}\n", i % 97, i % 89));
    }
    let created = upload(&app, "wide.csv", csv.as_bytes()).await;
    let id = created["data"]["uploadDataset"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let body = app
        .graphql(
            "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
            json!({ "input": { "datasetId": id, "linkage": "AVERAGE", "nClusters": 3 } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    for part in [
        "46342 rows need 8.0 GiB",
        "ward or single",
        "at most 46341 rows",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM clustering_runs").await,
        "0"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_page_with_cursors() {
    let app = TestApp::start().await;
    for i in 0..5 {
        upload(&app, &format!("d{i}.csv"), customers_csv(4).as_bytes()).await;
    }
    let page = |after: Value| {
        app.graphql("query($after: String) { datasets(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } }", json!({ "after": after }))
    };
    let first = page(Value::Null).await;
    let conn = &first["data"]["datasets"];
    assert_eq!(conn["totalCount"], 5, "{first}");
    assert_eq!(conn["nodes"][0]["name"], "d4", "newest first");
    let mut names = vec![];
    let mut after = Value::Null;
    loop {
        let body = page(after).await;
        let conn = &body["data"]["datasets"];
        names.extend(
            conn["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_string()),
        );
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(names, ["d4", "d3", "d2", "d1", "d0"]);
    let body = page(json!("garbage")).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    app.stop().await;
}

#[test]
fn committed_schema_is_current() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .unwrap_or_default();
    assert!(
        committed == segmentiq::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

/// `autoClusters: true` lets the run choose its number of segments; the run says so and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_run_can_leave_the_count_to_the_run() {
    let app = TestApp::start().await;
    let body = upload(&app, "customers.csv", customers_csv(60).as_bytes()).await;
    let dataset = body["data"]["uploadDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app
        .graphql(
            "mutation($input: TrainRunInput!) { trainRun(input: $input) { id nClusters autoClusters } }",
            json!({ "input": { "datasetId": dataset, "autoClusters": true } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let run = &body["data"]["trainRun"];
    assert_eq!(
        (&run["nClusters"], &run["autoClusters"]),
        (&Value::Null, &json!(true))
    );
    let id = run["id"].as_str().unwrap().to_string();
    let finished = app.wait_for_run(id.parse().unwrap()).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { autoClusters metrics { nClusters kChoice } kSweep { suggestedK reason } } }",
            json!({ "id": id }),
        )
        .await;
    let run = &body["data"]["run"];
    assert_eq!(run["autoClusters"], true, "{body}");
    assert_eq!(
        run["metrics"]["nClusters"], run["kSweep"]["suggestedK"],
        "{body}"
    );
    assert_eq!(run["metrics"]["kChoice"], run["kSweep"]["reason"], "{body}");

    let body = app
        .graphql(
            "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
            json!({ "input": { "datasetId": dataset, "autoClusters": true, "nClusters": 3 } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["message"],
        "the run chooses the number of segments when asked for auto, so leave out nClusters and distanceThreshold",
        "{body}"
    );
    app.stop().await;
}

/// Column kinds the analyst overrides reach the run through GraphQL and REST alike, change
/// its features, and read back; an override the column cannot take is refused by name before
/// anything is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_kind_overrides_reach_the_run_everywhere() {
    let app = TestApp::start().await;
    let body = upload(&app, "customers.csv", customers_csv(60).as_bytes()).await;
    let dataset = body["data"]["uploadDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let train =
        "mutation($input: TrainRunInput!) { trainRun(input: $input) { id kinds { column kind } } }";
    let body = app
        .graphql(
            train,
            json!({ "input": { "datasetId": dataset, "nClusters": 3, "kinds": [
                { "column": "visit_frequency", "kind": "CATEGORICAL" },
                { "column": "region", "kind": "IGNORE" },
            ] } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let run = body["data"]["trainRun"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        body["data"]["trainRun"]["kinds"],
        json!([
            { "column": "region", "kind": "IGNORE" },
            { "column": "visit_frequency", "kind": "CATEGORICAL" },
        ])
    );
    let finished = app.wait_for_run(run.parse().unwrap()).await;
    assert_eq!(finished["status"], "succeeded", "{finished}");
    assert_eq!(
        finished["kinds"],
        json!({ "region": "ignore", "visit_frequency": "categorical" })
    );
    let config = &finished["feature_config"];
    assert_eq!(
        config["numeric_features"],
        json!(["age", "total_spend"]),
        "{config}"
    );
    assert_eq!(
        config["categorical_features"],
        json!(["gender", "visit_frequency"]),
        "{config}"
    );
    assert_eq!(config["excluded_columns"], json!(["region"]), "{config}");

    // The same overrides over REST, and the refusals in each interface's words.
    let rest = |body: Value| {
        json_body::<Value>(
            app.client
                .post(app.url("/api/v1/clustering/train?wait=0"))
                .json(&body),
        )
    };
    let queued = rest(
        json!({ "dataset_id": dataset.parse::<i64>().unwrap(), "n_clusters": 3,
        "kinds": { "visit_frequency": "categorical", "region": "ignore" } }),
    )
    .await;
    assert_eq!(queued["kinds"], finished["kinds"], "{queued}");
    let refused = rest(
        json!({ "dataset_id": dataset.parse::<i64>().unwrap(), "n_clusters": 3,
        "kinds": { "gender": "numeric" } }),
    )
    .await;
    assert_eq!(
        refused["detail"],
        "column `gender` holds text, so kinds cannot make it numeric; make it categorical or leave it out"
    );
    let body = app
        .graphql(
            train,
            json!({ "input": { "datasetId": dataset, "nClusters": 3, "kinds": [
                { "column": "wallet", "kind": "IGNORE" },
            ] } }),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("kinds names `wallet`, but there is no such column"),
        "{body}"
    );
    app.stop().await;
}

/// A run deleted while a subscriber follows it ends the subscription with an error saying so,
/// not with a silent `complete` after a RUNNING update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_run_that_is_deleted_ends_its_subscription_with_news() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload("t.csv", b"spend,visits\n1,2\n1.1,3\n50,5\n51,6\n52,7\n")
        .await;
    assert_eq!(status, 201, "{dataset}");
    // A run another process is working on (a fresh heartbeat), so this server's worker leaves it.
    let id = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, worker, heartbeat_at, started_at) \
             VALUES ({}, 'ward', 2, 'running', 'elsewhere', now(), now()) RETURNING id::text AS v",
            dataset["id"]
        ))
        .await;
    let mut ws = common::subscribe_progress(&app.base, &id, "status").await;
    let mut seen = Vec::new();
    while let Some(Ok(msg)) = ws.next().await {
        let Ok(text) = msg.to_text() else { continue };
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if seen.is_empty() {
            // The current state came; now the run goes.
            app.db
                .execute(&format!("DELETE FROM clustering_runs WHERE id = {id}"))
                .await;
        }
        let done = v["type"] == "complete";
        seen.push(v);
        if done {
            break;
        }
    }
    assert_eq!(
        seen[0]["payload"]["data"]["runProgress"]["status"], "RUNNING",
        "{seen:?}"
    );
    let last_news = &seen[seen.len() - 2];
    assert_eq!(
        last_news["payload"]["errors"][0]["message"],
        format!("run {id} was deleted while it was followed"),
        "{seen:?}"
    );
    assert_eq!(
        last_news["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    app.stop().await;
}
