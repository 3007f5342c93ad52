//! The bad-input catalogue: every case is sent over real HTTP to REST and GraphQL uploads and
//! to REST `train` and GraphQL `trainRun`, and must get its status, code and a specific
//! message. A stored baseline (a dataset and a finished run) must be identical byte for byte
//! afterwards: a refused request loses nothing that was already stored.

mod common;

use common::{TestApp, customers_csv};
use serde_json::{Value, json};

/// A fingerprint of everything stored: each table's rows as text, in key order.
async fn stored(app: &TestApp) -> String {
    let mut out = String::new();
    for (table, order) in [
        ("datasets", "id"),
        ("dataset_rows", "dataset_id, row_index"),
        ("clustering_runs", "id"),
        ("cluster_assignments", "run_id, row_index"),
    ] {
        out += &app
            .db
            .scalar(&format!(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY {order}), '')) FROM {table} t"
            ))
            .await;
        out.push(' ');
    }
    out
}

/// One bad upload: file name, bytes, and a fragment the message must contain.
struct BadFile {
    name: &'static str,
    bytes: Vec<u8>,
    message: &'static str,
}

fn bad_files() -> Vec<BadFile> {
    let f = |name, bytes: &[u8], message| BadFile {
        name,
        bytes: bytes.to_vec(),
        message,
    };
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("a,b\n1,2\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let wide = format!(
        "{}\n{}\n",
        (0..12)
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(","),
        (0..12).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let long = customers_csv(60);
    vec![
        f(
            "empty.csv",
            b"",
            "empty.csv: the file is empty; a CSV needs a header row and at least one data row",
        ),
        f(
            "header.csv",
            b"a,b\n",
            "header.csv: the file has a header but no data rows",
        ),
        f("nul.csv", b"a,b\n1,2\n3,\x004\n", "line 3, column 2"),
        f(
            "quote.csv",
            b"a,b\n1,2\n3,\"open\n5,6\n7,8\n",
            "opens a quote that is never closed",
        ),
        f(
            "utf16.csv",
            &utf16,
            "the file is UTF-16 (little-endian) text, not UTF-8",
        ),
        f(
            "latin1.csv",
            b"city,n\nAddis\xe9,1\nAdama,2\n",
            "the file is not UTF-8: invalid byte at line 2, column 6",
        ),
        f("ragged.csv", b"a,b,c\n1,2,3\n4,5\n", "line 3"),
        f(
            "dup.csv",
            b"a,a\n1,2\n",
            "the header has the column name `a` twice (columns 1 and 2)",
        ),
        f(
            "blank.csv",
            b"a,,c\n1,2,3\n",
            "the header has an empty column name at column 2",
        ),
        f(
            "mixed.csv",
            b"a;b;c\n1;2;3\n4,5,6\n",
            "line 3 is separated by `,`",
        ),
        f(
            "wide.csv",
            wide.as_bytes(),
            "12 columns is more than the limit of 10 (MAX_COLUMNS)",
        ),
        f(
            "long.csv",
            long.as_bytes(),
            "60 data rows is more than the limit of 50 (MAX_ROWS)",
        ),
    ]
}

/// Uploads through GraphQL's multipart request; returns the whole response body.
async fn graphql_upload(app: &TestApp, name: &str, bytes: &[u8]) -> Value {
    let form = reqwest::multipart::Form::new()
        .text(
            "operations",
            json!({ "query": "mutation($f: Upload!) { uploadDataset(file: $f) { id } }", "variables": { "f": null } }).to_string(),
        )
        .text("map", json!({ "0": ["variables.f"] }).to_string())
        .part(
            "0",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        );
    common::json_body(app.client.post(app.url("/graphql")).multipart(form)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_specific_errors_and_change_nothing() {
    let app = TestApp::start_with(&[
        ("MAX_ROWS", "50"),
        ("MAX_COLUMNS", "10"),
        ("MAX_UPLOAD_BYTES", "20000"),
    ])
    .await;
    // The baseline: one dataset and one finished run.
    let (status, dataset) = app
        .upload("customers.csv", customers_csv(30).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    let id = dataset["id"].as_i64().unwrap();
    let run = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .json(&json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), 201);
    let before = stored(&app).await;

    let mut files = bad_files();
    files.push(BadFile {
        name: "big.csv",
        bytes: customers_csv(2_000).into_bytes(),
        message: "MAX_UPLOAD_BYTES",
    });
    for case in &files {
        let (status, body) = app.upload(case.name, &case.bytes).await;
        let expected = if case.name == "big.csv" { 413 } else { 422 };
        assert_eq!(status, expected, "REST {}: {body}", case.name);
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(case.message),
            "REST {}: {detail}",
            case.name
        );
        assert_eq!(body["code"], "BAD_USER_INPUT", "REST {}", case.name);

        let body = graphql_upload(&app, case.name, &case.bytes).await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(case.message),
            "GraphQL {}: {body}",
            case.name
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    // Train requests: REST body, GraphQL input, the REST and GraphQL message fragments.
    let ds = id.to_string();
    let cases: Vec<(Value, Value, &str, &str, u16, &str)> = vec![
        (
            json!({ "dataset_id": 999, "linkage": "ward", "n_clusters": 3 }),
            json!({ "datasetId": "999", "linkage": "WARD", "nClusters": 3 }),
            "dataset 999 not found",
            "dataset 999 not found",
            404,
            "NOT_FOUND",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 1 }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 1 }),
            "must be at least 2, got 1",
            "must be at least 2, got 1",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 31 }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 31 }),
            "has only 30 rows",
            "has only 30 rows",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward" }),
            json!({ "datasetId": ds, "linkage": "WARD" }),
            "(a height cut)",
            "(a height cut)",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "distance_threshold": 2.0 }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "distanceThreshold": 2.0 }),
            "not both",
            "not both",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "distance_threshold": -1.0 }),
            json!({ "datasetId": ds, "linkage": "WARD", "distanceThreshold": -1.0 }),
            "must be a positive number, got -1",
            "must be a positive number, got -1",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "metric": "manhattan", "n_clusters": 3 }),
            json!({ "datasetId": ds, "linkage": "WARD", "metric": "MANHATTAN", "nClusters": 3 }),
            "works on Euclidean distance only",
            "works on Euclidean distance only",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "use_pca": true, "pca_components": 0 }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "pcaComponents": 0 }),
            "must be at least 1, got 0",
            "must be at least 1, got 0",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "use_pca": true, "pca_variance": 1.5 }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "pcaVariance": 1.5 }),
            "in (0, 1]; got 1.5",
            "in (0, 1]; got 1.5",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "features": ["nope"] }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "features": ["nope"] }),
            "unknown feature `nope`",
            "unknown feature `nope`",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "exclude": ["age", "gender", "region", "total_spend", "visit_frequency"] }),
            json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "exclude": ["age", "gender", "region", "total_spend", "visit_frequency"] }),
            "no usable feature is left",
            "no usable feature is left",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": id, "linkage": "fastest", "n_clusters": 3 }),
            json!({ "datasetId": ds, "linkage": "FASTEST", "nClusters": 3 }),
            "fastest",
            "FASTEST",
            422,
            "BAD_USER_INPUT",
        ),
        (
            json!({ "dataset_id": "abc", "linkage": "ward", "n_clusters": 3 }),
            json!({ "datasetId": "abc", "linkage": "WARD", "nClusters": 3 }),
            "dataset_id",
            "`abc` is not a dataset id",
            422,
            "BAD_USER_INPUT",
        ),
    ];
    for (rest, gql, rest_message, gql_message, status, code) in cases {
        let resp = app
            .client
            .post(app.url("/api/v1/clustering/train?wait=0"))
            .json(&rest)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "REST {rest}");
        let body: Value = resp.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(rest_message), "REST {rest}: {body}");
        assert_eq!(body["code"], code, "REST {rest}");

        let body = app
            .graphql(
                "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
                json!({ "input": gql }),
            )
            .await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(gql_message), "GraphQL {gql}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "GraphQL {gql}"
        );
    }

    // REST bodies that are not train requests at all.
    for (body, fragment) in [
        ("not json", "JSON"),
        ("{\"linkage\": \"ward\"}", "dataset_id"),
    ] {
        let resp = app
            .client
            .post(app.url("/api/v1/clustering/train"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{body}");
        let answer: Value = resp.json().await.unwrap();
        assert!(
            answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(fragment),
            "{body}: {answer}"
        );
    }

    assert_eq!(
        stored(&app).await,
        before,
        "a refused request changed what was stored"
    );
    app.stop().await;
}
