//! The predecessor's REST API over real HTTP against a real PostgreSQL.

mod common;

use common::{TestApp, customers_csv, json_body};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_train_and_read_results_like_the_predecessor() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload("customers.csv", customers_csv(60).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    assert_eq!(dataset["row_count"], 60);
    assert_eq!(dataset["name"], "customers");
    let kinds: Vec<_> = dataset["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("customer_id".into(), "identifier".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("total_spend".into(), "numeric".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("region".into(), "categorical".into())),
        "{kinds:?}"
    );

    // The seed README's train request, verbatim body.
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .header("Content-Type", "application/json")
        .body(format!(
            r#"{{ "dataset_id": {}, "linkage": "ward", "n_clusters": 4, "use_pca": false }}"#,
            dataset["id"]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let run: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["linkage"], "ward");
    assert_eq!(run["n_clusters"], 4);
    let metrics = &run["metrics"];
    assert_eq!(metrics["n_samples"], 60);
    assert_eq!(metrics["n_clusters"], 4);
    // 3 numeric + gender (2 levels) + region (4 levels).
    assert_eq!(metrics["n_encoded_features"], 9, "{metrics}");
    let score = metrics["silhouette_score"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&score));
    let sizes = metrics["cluster_sizes"].as_object().unwrap();
    assert_eq!(sizes.len(), 4);
    assert_eq!(sizes.values().map(|v| v.as_i64().unwrap()).sum::<i64>(), 60);
    let config = &run["feature_config"];
    assert_eq!(config["pca_applied"], false);
    assert!(
        config["numeric_features"]
            .as_array()
            .unwrap()
            .contains(&json!("total_spend"))
    );
    assert!(
        config["categorical_features"]
            .as_array()
            .unwrap()
            .contains(&json!("region"))
    );
    let run_id = run["id"].as_i64().unwrap();

    // Dendrogram PNG, rendered on request.
    let png = app
        .client
        .get(app.url(run["dendrogram_path"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1000);

    // Assignments in the seed's shape, one per row, with the original row.
    let rows: Vec<serde_json::Value> = app
        .get_json(&format!("/api/v1/clustering/runs/{run_id}/assignments"))
        .await;
    assert_eq!(rows.len(), 60);
    assert_eq!(rows[0]["row_index"], 0);
    assert_eq!(rows[0]["payload"]["customer_id"], "C00000");
    let labels: std::collections::HashSet<i64> = rows
        .iter()
        .map(|r| r["cluster_label"].as_i64().unwrap())
        .collect();
    assert_eq!(labels, (0..4).collect());

    // CSV download: header plus one line per row.
    let csv = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{run_id}/assignments.csv")))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().count(), 61);
    assert!(text.starts_with(
        "row_index,cluster,segment_name,customer_id,age,gender,region,total_spend,visit_frequency\n"
    ));

    // Profiles as one tidy CSV, read back against the run's profiles.
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{run_id}/profiles.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"segmentiq-run-{run_id}-profiles.csv\"")
    );
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        segmentiq::engine::export::PROFILE_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let profiles = run["profiles"].as_array().unwrap();
    let expected_rows: usize = profiles
        .iter()
        .map(|p| {
            p["numeric"].as_array().unwrap().len()
                + p["categorical"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["levels"].as_array().unwrap().len())
                    .sum::<usize>()
        })
        .sum();
    assert_eq!(rows.len(), expected_rows, "{text}");
    // Stability: the sweep's per-segment figures at the run's number of segments.
    let stability = run["k_sweep"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|point| point["k"].as_u64() == Some(profiles.len() as u64))
        .map(|point| point["segment_stability"].clone())
        .unwrap_or_default();
    assert!(stability.is_array(), "the sweep measured stability: {run}");
    for p in profiles {
        let segment = p["segment"].to_string();
        let numeric = &p["numeric"][0];
        let row = rows
            .iter()
            .find(|r| r[0] == *segment && r[6] == numeric["feature"])
            .unwrap_or_else(|| panic!("a row for {p}"));
        assert_eq!(&row[1], p["name"].as_str().unwrap());
        assert_eq!(row[2], p["size"].to_string());
        let stable: f64 = row[5].parse().unwrap();
        assert_eq!(stable, stability[p["segment"].as_u64().unwrap() as usize]);
        assert_eq!(&row[7], "numeric");
        let mean: f64 = row[8].parse().unwrap();
        assert_eq!(mean, numeric["mean"].as_f64().unwrap());
        let level = &p["categorical"][0]["levels"][0];
        assert!(
            rows.iter().any(|r| r[0] == *segment
                && &r[7] == "categorical"
                && r[12] == level["value"]
                && r[15].parse::<f64>().unwrap() == level["lift"].as_f64().unwrap()),
            "{level}"
        );
    }
    let missing = app
        .client
        .get(app.url("/api/v1/clustering/runs/999999/profiles.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // Lists.
    let runs: Vec<serde_json::Value> = app.get_json("/api/v1/clustering/runs").await;
    assert_eq!(runs.len(), 1);
    let datasets: Vec<serde_json::Value> = app.get_json("/api/v1/datasets").await;
    assert_eq!(datasets.len(), 1);

    // The BI view has the seed's shape.
    assert_eq!(
        app.db
            .scalar(&format!(
                "SELECT count(*) FROM cluster_assignments_v WHERE run_id = {run_id}"
            ))
            .await,
        "60"
    );

    // Deleting the dataset takes its runs along.
    let del = app
        .client
        .delete(app.url(&format!("/api/v1/datasets/{}", dataset["id"])))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status().as_u16(), 204);
    let gone = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{run_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM cluster_assignments")
            .await,
        "0"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_clearly_and_lose_nothing() {
    let app = TestApp::start_with(&[("MAX_UPLOAD_BYTES", "20000")]).await;
    let (status, good) = app.upload("good.csv", customers_csv(20).as_bytes()).await;
    assert_eq!(status, 201);
    let before = app.db.scalar("SELECT count(*) FROM dataset_rows").await;

    // A ragged row: the error names the file and the line.
    let (status, body) = app.upload("ragged.csv", b"a,b,c\n1,2,3\n4,5\n").await;
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("ragged.csv") && detail.contains("line 3"),
        "{detail}"
    );

    // Not UTF-8.
    let (status, body) = app
        .upload(
            "latin1.csv",
            b"name,city\nAbebe,Adama\nT\xe9wodros,Gondar\n",
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("line 3"),
        "{body}"
    );

    // Empty.
    let (status, body) = app.upload("empty.csv", b"").await;
    assert_eq!(status, 422);
    assert!(body["detail"].as_str().unwrap().contains("empty"), "{body}");

    // Over the limit: refused while streaming.
    let (status, body) = app.upload("big.csv", customers_csv(2000).as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("MAX_UPLOAD_BYTES"),
        "{body}"
    );

    // Wrong content type.
    let resp = app
        .client
        .post(app.url("/api/v1/datasets/upload"))
        .json(&json!({"file": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("multipart"),
        "{body}"
    );

    // No `file` field.
    let form = reqwest::multipart::Form::new().text("name", "x");
    let resp = app
        .client
        .post(app.url("/api/v1/datasets/upload"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);

    // Nothing stored before was touched, nothing new was stored.
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "1");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM dataset_rows").await,
        before
    );
    assert_eq!(
        app.db
            .scalar(&format!(
                "SELECT row_count FROM datasets WHERE id = {}",
                good["id"]
            ))
            .await,
        "20"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_train_requests_name_the_problem() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("customers.csv", customers_csv(10).as_bytes())
        .await;
    let id = dataset["id"].as_i64().unwrap();
    let train = |body: serde_json::Value| {
        let app = &app;
        async move {
            let resp = app
                .client
                .post(app.url("/api/v1/clustering/train?wait=0"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap();
            (
                status,
                body["detail"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let (s, d) = train(json!({"dataset_id": id, "linkage": "ward", "n_clusters": 1})).await;
    assert_eq!((s, d.contains("at least 2")), (422, true), "{d}");
    let (s, d) = train(json!({"dataset_id": id, "linkage": "ward", "n_clusters": 11})).await;
    assert_eq!(
        (s, d.contains("n_clusters is 11 but the table has 10 rows")),
        (422, true),
        "{d}"
    );
    let (s, d) = train(json!({"dataset_id": id, "linkage": "wards", "n_clusters": 3})).await;
    assert_eq!((s, d.contains("wards")), (422, true), "{d}");
    let (s, d) =
        train(json!({"dataset_id": id, "linkage": "ward", "n_clusters": 3, "features": ["spend"]}))
            .await;
    assert_eq!(
        (
            s,
            d.contains("features names `spend`, but there is no such column")
        ),
        (422, true),
        "{d}"
    );
    let (s, d) =
        train(json!({"dataset_id": id, "linkage": "ward", "metric": "cosine", "n_clusters": 3}))
            .await;
    assert_eq!(
        (s, d.contains("defined for euclidean distances only")),
        (422, true),
        "{d}"
    );
    let (s, _) = train(json!({"dataset_id": 999, "linkage": "ward", "n_clusters": 3})).await;
    assert_eq!(s, 404);
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .header("Content-Type", "application/json")
        .body("{\"dataset_id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);

    // A dataset being deleted takes no new runs.
    app.db
        .text(&format!(
            "UPDATE datasets SET deleting = TRUE WHERE id = {id} RETURNING id::text AS v"
        ))
        .await;
    let (s, d) = train(json!({"dataset_id": id, "linkage": "ward", "n_clusters": 3})).await;
    assert!(s == 404 || s == 409, "{s} {d}");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM clustering_runs").await,
        "0"
    );
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM dataset_rows").await,
        "10"
    );

    // Unknown API paths answer in JSON.
    let resp = app
        .client
        .get(app.url("/api/v1/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "NOT_FOUND", "{body}");

    // Unknown ids.
    for path in [
        "/api/v1/datasets/12345",
        "/api/v1/clustering/runs/777",
        "/api/v1/clustering/runs/abc",
        "/api/v1/clustering/runs/777/dendrogram",
    ] {
        let resp = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("not"),
            "{path}: {body}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_token_guards_rest_and_graphql() {
    let app = TestApp::start_with(&[("API_TOKEN", "s3cret")]).await;
    let resp = app
        .client
        .get(app.url("/api/v1/datasets"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = app
        .client
        .get(app.url("/api/v1/datasets"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body = app.graphql("{ datasets { totalCount } }", json!({})).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{body}"
    );
    let ok: serde_json::Value = json_body(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth("s3cret")
            .json(&json!({"query": "{ datasets { totalCount } }"})),
    )
    .await;
    assert_eq!(ok["data"]["datasets"]["totalCount"], 0, "{ok}");
    // Health checks stay open.
    assert_eq!(
        app.client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    app.stop().await;
}

/// The JSON assignments are streamed page by page: across a page boundary (the service pages
/// 1,000 rows) the array stays whole and ordered, and offset, limit and the segment filter
/// apply; unknown runs and segments are answered before the first byte.
/// `"n_clusters": "auto"` lets the run choose; the run says it chose, why, and shows the
/// stability figures the choice used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_auto_chooses_the_count_and_says_why() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("customers.csv", customers_csv(120).as_bytes())
        .await;
    let train = |body: serde_json::Value| {
        let app = &app;
        async move {
            let resp = app
                .client
                .post(app.url("/api/v1/clustering/train"))
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, run) = train(json!({ "dataset_id": dataset["id"], "n_clusters": "auto" })).await;
    assert_eq!(status, 201, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["auto_clusters"], true);
    let sweep = &run["k_sweep"];
    let k = run["metrics"]["n_clusters"].as_u64().unwrap();
    assert_eq!(run["n_clusters"], k);
    assert_eq!(sweep["suggested_k"], k, "{sweep}");
    assert_eq!(run["metrics"]["k_choice"], sweep["reason"], "{run}");
    assert_eq!(sweep["resampling"], json!({ "resamples": 20, "rows": 60 }));
    for point in sweep["points"].as_array().unwrap() {
        assert_eq!(
            point["segment_stability"].as_array().map(Vec::len),
            point["k"].as_u64().map(|k| k as usize),
            "{point}"
        );
    }

    let (status, body) = train(json!({ "dataset_id": dataset["id"], "n_clusters": "five" })).await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("n_clusters must be a whole number, got `five`"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_json_streams_across_pages() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload("customers.csv", customers_csv(2_500).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    let resp = app
        .client
        .post(app.url("/api/v1/clustering/train"))
        .json(
            &serde_json::json!({ "dataset_id": dataset["id"], "linkage": "ward", "n_clusters": 3 }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let run: serde_json::Value = resp.json().await.unwrap();
    let base = format!("/api/v1/clustering/runs/{}/assignments", run["id"]);

    let rows: Vec<serde_json::Value> = app.get_json(&base).await;
    assert_eq!(rows.len(), 2_500);
    assert!(
        rows.iter()
            .enumerate()
            .all(|(i, r)| r["row_index"] == i && r["run_id"] == run["id"])
    );

    let window: Vec<serde_json::Value> = app.get_json(&format!("{base}?offset=998&limit=4")).await;
    let indexes: Vec<i64> = window
        .iter()
        .map(|r| r["row_index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, [998, 999, 1000, 1001]);

    let sizes = run["metrics"]["cluster_sizes"].clone();
    let segment: Vec<serde_json::Value> = app.get_json(&format!("{base}?cluster=1")).await;
    assert!(segment.iter().all(|r| r["cluster_label"] == 1));
    assert_eq!(serde_json::json!(segment.len()), sizes["1"], "{sizes}");

    let empty: Vec<serde_json::Value> = app.get_json(&format!("{base}?offset=2500")).await;
    assert!(empty.is_empty());

    let missing = app
        .client
        .get(app.url("/api/v1/clustering/runs/999999/assignments"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let bad = app
        .client
        .get(app.url(&format!("{base}?cluster=7")))
        .send()
        .await
        .unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());
    app.stop().await;
}

/// Careless and hostile CSV files, as spreadsheets and editors produce them: each is refused
/// with a 422 whose detail names the file and where to fix it (a NUL byte used to reach
/// PostgreSQL and answer 500), and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careless_csv_files_are_refused_where_they_go_wrong() {
    let app = TestApp::start().await;
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("id,age\n1,30\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "nul.csv",
            b"id,age,city\n1,30,Adama\n2,4\x001,Gondar\n".to_vec(),
            "nul.csv: line 3, column 2 (`age`) contains a NUL byte (a zero byte, which is not text); delete it or re-export the file as \"CSV UTF-8\"",
        ),
        (
            "quote.csv",
            b"id,city,note\n1,Adama,ok\n2,Gondar,\"late\n3,Hawassa,ok\n4,Adama,ok\n".to_vec(),
            "quote.csv: line 3, column 3 (`note`) opens a quote that is never closed, so the rest of the file would be read as one cell",
        ),
        (
            "header.csv",
            b"id,age\n".to_vec(),
            "header.csv: the file has a header but no data rows; a CSV needs a header row and at least one data row",
        ),
        (
            "empty.csv",
            Vec::new(),
            "empty.csv: the file is empty; a CSV needs a header row and at least one data row",
        ),
        (
            "mixed.csv",
            b"id;age;city\n1,30,Adama\n".to_vec(),
            "mixed.csv: line 2 is separated by `,` (3 fields) but the header on line 1 is separated by `;` (3 columns); save the whole file with one delimiter",
        ),
        (
            "unicode.csv",
            utf16,
            "unicode.csv: the file is UTF-16 (little-endian) text, not UTF-8; save it as UTF-8: in Excel use Save As with \"CSV UTF-8 (Comma delimited)\"",
        ),
    ];
    for (name, bytes, expected) in cases {
        let (status, body) = app.upload(name, &bytes).await;
        assert_eq!(status, 422, "{name}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.starts_with(expected), "{name}: {detail}");
    }
    assert_eq!(app.db.scalar("SELECT count(*) FROM datasets").await, "0");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM dataset_rows").await,
        "0"
    );
    app.stop().await;
}

/// Excel in a decimal-comma locale: `;` between fields, `2037,5` for amounts. The amounts are
/// numbers, say how they were read, and are clustered as numeric features.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decimal_comma_files_keep_their_numbers_as_features() {
    let app = TestApp::start().await;
    let csv = customers_csv(30).replace(',', ";").replace('.', ",");
    assert!(csv.contains(";2000,0;"), "{csv}");
    let (status, dataset) = app.upload("excel.csv", csv.as_bytes()).await;
    assert_eq!(status, 201, "{dataset}");
    let spend = dataset["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "total_spend")
        .unwrap()
        .clone();
    assert_eq!(spend["kind"], "numeric", "{spend}");
    assert_eq!(spend["numeric"]["min"], 2000.0, "{spend}");
    assert_eq!(
        spend["number_format"],
        json!({
            "decimal_separator": ",",
            "thousands_separator": null,
            "ambiguous": false,
            "note": "read with a decimal comma: `2000,0` (line 2) = 2000"
        })
    );
    // Plain columns have nothing to say.
    let age = &dataset["columns"][1];
    assert_eq!(
        (&age["name"], &age["number_format"]),
        (&json!("age"), &json!(null))
    );
    let stored: serde_json::Value = app
        .get_json(&format!("/api/v1/datasets/{}", dataset["id"]))
        .await;
    assert_eq!(
        stored["columns"][4]["number_format"],
        spend["number_format"]
    );

    let run: serde_json::Value = json_body(
        app.client
            .post(app.url("/api/v1/clustering/train"))
            .json(&json!({ "dataset_id": dataset["id"], "linkage": "ward", "n_clusters": 3 })),
    )
    .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert!(
        run["feature_config"]["numeric_features"]
            .as_array()
            .unwrap()
            .contains(&json!("total_spend")),
        "{run}"
    );
    app.stop().await;
}

/// Comparing two runs over REST gives what GraphQL's `compareRuns` gives: the adjusted Rand
/// index and every customer's move between segments; mistakes are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_runs_over_rest_agrees_with_graphql() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(80).as_bytes())
        .await;
    let (_, other_dataset) = app.upload("others.csv", customers_csv(30).as_bytes()).await;
    let mut ids = Vec::new();
    for (d, linkage) in [
        (&dataset, "ward"),
        (&dataset, "average"),
        (&other_dataset, "ward"),
    ] {
        let run = app
            .trained(&d["id"], json!({ "linkage": linkage, "n_clusters": 3 }))
            .await;
        ids.push(run["id"].as_i64().unwrap());
    }
    let (a, b, elsewhere) = (ids[0], ids[1], ids[2]);
    let rest: serde_json::Value = app
        .get_json(&format!("/api/v1/clustering/runs/{a}/compare?with={b}"))
        .await;
    assert_eq!(rest["run_id"], a);
    assert_eq!(rest["with_run_id"], b);
    let body = app
        .graphql(
            "query($a: ID!, $b: ID!) { compareRuns(a: $a, b: $b) { adjustedRandIndex migration { from to count } } }",
            json!({ "a": a.to_string(), "b": b.to_string() }),
        )
        .await;
    let graphql = &body["data"]["compareRuns"];
    assert_eq!(
        rest["adjusted_rand_index"], graphql["adjustedRandIndex"],
        "{body}"
    );
    assert_eq!(rest["migration"], graphql["migration"], "{body}");
    let moved: u64 = rest["migration"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["count"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 80, "every customer is counted once: {rest}");
    // A run compared with itself agrees perfectly.
    let same: serde_json::Value = app
        .get_json(&format!("/api/v1/clustering/runs/{a}/compare?with={a}"))
        .await;
    assert_eq!(same["adjusted_rand_index"], 1.0);

    for (query, status, says) in [
        (
            format!("{a}/compare"),
            422,
            "add `?with={run id}`".to_string(),
        ),
        (
            format!("{a}/compare?with=x"),
            404,
            "`x` is not an id".to_string(),
        ),
        (
            format!("{a}/compare?with={elsewhere}"),
            422,
            "compare two runs of one dataset".to_string(),
        ),
        (
            format!("{a}/compare?with=999999"),
            404,
            "999999".to_string(),
        ),
    ] {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/clustering/runs/{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{query}");
        let text = resp.text().await.unwrap();
        assert!(text.contains(&says), "{query}: {text}");
    }
    app.stop().await;
}

/// A run deleted while its train request waits for it (on its own or with its dataset, from
/// another client) is reported as such, not as a run that was never there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_deleted_while_its_train_request_waits_is_reported_as_deleted() {
    let app = TestApp::start().await;
    let (status, big) = app
        .upload("big.csv", customers_csv(20_000).as_bytes())
        .await;
    assert_eq!(status, 201, "{big}");
    let (status, small) = app.upload("small.csv", customers_csv(40).as_bytes()).await;
    assert_eq!(status, 201, "{small}");
    // The one worker is busy with a long run, so the next one waits in the queue.
    let (status, long) = app
        .train(json!({ "dataset_id": big["id"], "n_clusters": 3 }), false)
        .await;
    assert_eq!(status, 202, "{long}");
    let waiting = app.train(json!({ "dataset_id": small["id"], "n_clusters": 3 }), true);
    let deleting = async {
        loop {
            let runs: Value = app
                .get_json(&format!(
                    "/api/v1/clustering/runs?dataset_id={}",
                    small["id"]
                ))
                .await;
            if let Some(run) = runs.as_array().and_then(|r| r.first()) {
                let resp = app
                    .client
                    .delete(app.url(&format!("/api/v1/datasets/{}", small["id"])))
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                return run["id"].as_i64().unwrap();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let ((status, body), id) = tokio::join!(waiting, deleting);
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["detail"],
        format!(
            "run {id} was queued but deleted before it finished (on its own or with its dataset)"
        )
    );
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/clustering/runs/{}/cancel", long["id"])))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    app.stop().await;
}
