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

        let body = app
            .graphql_upload(
                "mutation($file: Upload!) { uploadDataset(file: $file) { id } }",
                case.name,
                &case.bytes,
                None,
            )
            .await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(case.message),
            "GraphQL {}: {body}",
            case.name
        );
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }

    // Train requests, each rule through every interface that can send it: the REST body, the
    // GraphQL input and the run form's fields, and what each must answer. The verdict is the
    // same everywhere; each names the setting in its own words (`n_clusters`, `nClusters`, the
    // form's label).
    let ds = id.to_string();
    struct Train {
        rest: Value,
        gql: Value,
        form: Option<Vec<(&'static str, &'static str)>>,
        said: [&'static str; 3],
        status: u16,
        code: &'static str,
    }
    let k = |n: &'static str| vec![("mode", "k"), ("n_clusters", n)];
    let cases = vec![
        Train {
            rest: json!({ "dataset_id": 999, "linkage": "ward", "n_clusters": 3 }),
            gql: json!({ "datasetId": "999", "linkage": "WARD", "nClusters": 3 }),
            form: None,
            said: ["dataset 999 not found"; 3],
            status: 404,
            code: "NOT_FOUND",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 1 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 1 }),
            form: Some(k("1")),
            said: [
                "n_clusters must be at least 2 so there is something to compare, got 1",
                "nClusters must be at least 2 so there is something to compare, got 1",
                "Segments wanted must be at least 2 so there is something to compare, got 1",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        // Fields the form has once, given twice, and a mode it does not offer (hand-made
        // requests; REST and GraphQL refuse their own repeated or unknown values as JSON).
        Train {
            rest: json!({ "dataset_id": id, "n_clusters": 1 }),
            gql: json!({ "datasetId": ds, "nClusters": 1 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "4"),
                ("n_clusters", "5"),
            ]),
            said: [
                "n_clusters must be at least 2",
                "nClusters must be at least 2",
                "the form field `n_clusters` is given twice; give it once",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "n_clusters": 1 }),
            gql: json!({ "datasetId": ds, "nClusters": 1 }),
            form: Some(vec![("mode", "bogus"), ("n_clusters", "4")]),
            said: [
                "n_clusters must be at least 2",
                "nClusters must be at least 2",
                "the form field `mode` is `k`, `height` or `auto`, not `bogus`",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "n_clusters": 3, "use_pca": false, "pca_components": 3 }),
            gql: json!({ "datasetId": ds, "nClusters": 3, "usePca": false, "pcaComponents": 3 }),
            form: None,
            said: [
                "use_pca turns PCA off, but pca_components says how much of it to keep; turn PCA on, or leave out pca_components",
                "usePca turns PCA off, but pcaComponents says how much of it to keep; turn PCA on, or leave out pcaComponents",
                "",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "n_clusters": 3, "pca_components": 3, "pca_variance": 0.8 }),
            gql: json!({ "datasetId": ds, "nClusters": 3, "pcaComponents": 3, "pcaVariance": 0.8 }),
            form: None,
            said: [
                "give either pca_components or pca_variance, not both",
                "give either pcaComponents or pcaVariance, not both",
                "",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 31 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 31 }),
            form: Some(k("31")),
            said: [
                "n_clusters is 31 but the table has 30 rows; ask for at most 30",
                "nClusters is 31 but the table has 30 rows; ask for at most 30",
                "Segments wanted is 31 but the table has 30 rows; ask for at most 30",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 2.5 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 2.5 }),
            form: Some(k("2.5")),
            said: [
                "n_clusters must be a whole number, got `2.5`",
                "Invalid value for argument \"input.nClusters\", expected type \"Int\"",
                "Segments wanted must be a whole number, got `2.5`",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward" }),
            gql: json!({ "datasetId": ds, "linkage": "WARD" }),
            form: None,
            said: [
                "give n_clusters (the number of segments) or distance_threshold (a height cut)",
                "give nClusters (the number of segments) or distanceThreshold (a height cut)",
                "",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "distance_threshold": 2.0 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "distanceThreshold": 2.0 }),
            form: None,
            said: [
                "give either n_clusters or distance_threshold, not both",
                "give either nClusters or distanceThreshold, not both",
                "",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "distance_threshold": -1.0 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "distanceThreshold": -1.0 }),
            form: Some(vec![("mode", "height"), ("distance_threshold", "-1")]),
            said: [
                "distance_threshold must be a number of at least 0, got -1",
                "distanceThreshold must be a number of at least 0, got -1",
                "Cut height must be a number of at least 0, got -1",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "metric": "manhattan", "n_clusters": 3 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "metric": "MANHATTAN", "nClusters": 3 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("method", "ward"),
                ("metric", "manhattan"),
            ]),
            said: [
                "ward linkage is defined for euclidean distances only, not manhattan; set metric to euclidean",
                "ward linkage is defined for euclidean distances only, not manhattan; set metric to euclidean",
                "ward linkage is defined for euclidean distances only, not manhattan; set Distance to euclidean",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "use_pca": true, "pca_components": 0 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "pcaComponents": 0 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("use_pca", "on"),
                ("pca_components", "0"),
            ]),
            said: [
                "pca_components must be at least 1, got 0",
                "pcaComponents must be at least 1, got 0",
                "Components must be at least 1, got 0",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            // More components than the table has encoded features: refused before queueing.
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "pca_components": 1000 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "pcaComponents": 1000 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("use_pca", "on"),
                ("pca_components", "1000"),
            ]),
            said: [
                "pca_components must be from 1 to 9 for this table (9 encoded features, 30 rows), got 1000",
                "pcaComponents must be from 1 to 9 for this table (9 encoded features, 30 rows), got 1000",
                "Components must be from 1 to 9 for this table (9 encoded features, 30 rows), got 1000",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "use_pca": true, "pca_variance": 1.5 }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "pcaVariance": 1.5 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("use_pca", "on"),
                ("pca_variance", "1.5"),
            ]),
            said: [
                "pca_variance is the share of variance to keep: above 0 and at most 1 (0.9 keeps 90%), got 1.5",
                "pcaVariance is the share of variance to keep: above 0 and at most 1 (0.9 keeps 90%), got 1.5",
                "Variance to keep is the share of variance to keep: above 0 and at most 1 (0.9 keeps 90%), got 1.5",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "features": ["nope"] }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "features": ["nope"] }),
            // A ticked box for a column the dataset does not have (a hand-made request).
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("features_sent", "1"),
                ("feature", "age"),
                ("feature", "nope"),
            ]),
            said: [
                "features names `nope`, but there is no such column; the columns are: customer_id, age, gender, region, total_spend, visit_frequency",
                "features names `nope`, but there is no such column; the columns are: customer_id, age, gender, region, total_spend, visit_frequency",
                "Features names `nope`, but there is no such column; the columns are: customer_id, age, gender, region, total_spend, visit_frequency",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3, "exclude": ["age", "gender", "region", "total_spend", "visit_frequency"] }),
            gql: json!({ "datasetId": ds, "linkage": "WARD", "nClusters": 3, "exclude": ["age", "gender", "region", "total_spend", "visit_frequency"] }),
            // Every feature box unticked.
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("features_sent", "1"),
            ]),
            said: [
                "no columns are left to cluster on: every column is an identifier, constant or left out; keep at least one numeric or categorical column (exclude)",
                "no columns are left to cluster on: every column is an identifier, constant or left out; keep at least one numeric or categorical column (exclude)",
                "no columns are left to cluster on: every column is an identifier, constant or left out; keep at least one numeric or categorical column (Features)",
            ],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": id, "linkage": "fastest", "n_clusters": 3 }),
            gql: json!({ "datasetId": ds, "linkage": "FASTEST", "nClusters": 3 }),
            form: Some(vec![
                ("mode", "k"),
                ("n_clusters", "3"),
                ("method", "fastest"),
            ]),
            said: ["fastest", "FASTEST", "fastest"],
            status: 422,
            code: "BAD_USER_INPUT",
        },
        Train {
            rest: json!({ "dataset_id": "abc", "linkage": "ward", "n_clusters": 3 }),
            gql: json!({ "datasetId": "abc", "linkage": "WARD", "nClusters": 3 }),
            form: None,
            said: ["dataset_id", "`abc` is not a dataset id", ""],
            status: 422,
            code: "BAD_USER_INPUT",
        },
    ];
    for case in cases {
        let [rest_said, gql_said, form_said] = case.said;
        let resp = app
            .client
            .post(app.url("/api/v1/clustering/train?wait=0"))
            .json(&case.rest)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), case.status, "REST {}", case.rest);
        let body: Value = resp.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(rest_said), "REST {}: {body}", case.rest);
        assert_eq!(body["code"], case.code, "REST {}", case.rest);

        let body = app
            .graphql(
                "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
                json!({ "input": case.gql }),
            )
            .await;
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(gql_said), "GraphQL {}: {body}", case.gql);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], case.code,
            "GraphQL {}",
            case.gql
        );

        if let Some(fields) = case.form {
            let resp = app
                .client
                .post(app.url(&format!("/datasets/{id}/runs")))
                .form(&fields)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status().as_u16(), case.status, "form {fields:?}");
            let page = resp.text().await.unwrap();
            assert!(
                page.contains(&askama_escape(form_said)),
                "form {fields:?} does not say {form_said:?}"
            );
        }
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

/// `text` as the pages write it into HTML (askama's escaping).
fn askama_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
