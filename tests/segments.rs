//! Naming segments and noting things about them: stored with the run, shown by every interface
//! and in every file, refused clearly when the request cannot be kept.

mod common;

use common::TestApp;
use serde_json::{Value, json};

/// Uploads the customers and trains a 4-segment Ward run through REST; returns the run.
async fn trained(app: &TestApp) -> Value {
    app.finished_run(60, json!({ "linkage": "ward", "n_clusters": 4 }))
        .await
}

async fn put(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .put(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_segment_is_called_so_everywhere() {
    let app = TestApp::start().await;
    let run = trained(&app).await;
    let id = run["id"].as_i64().unwrap();
    let generated = run["profiles"][0]["name"].as_str().unwrap().to_string();
    let sizes_chart = |page: String| {
        let at = page
            .find("/charts/sizes.svg")
            .expect("the overview shows the sizes chart");
        page[at..].split('"').next().unwrap().to_string()
    };
    let chart_before = sizes_chart(app.get_text(&format!("/runs/{id}")).await);

    let body = app
        .graphql(
            "mutation($id: ID!) { renameSegment(runId: $id, segment: 0, name: \"  Loyal families \", note: \"Call before Genna\") { segment name generatedName note size } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let segment = &body["data"]["renameSegment"];
    assert_eq!(segment["name"], "Loyal families");
    assert_eq!(segment["generatedName"], generated.as_str());
    assert_eq!(segment["note"], "Call before Genna");
    assert_eq!(segment["size"], run["profiles"][0]["size"]);

    // GraphQL and REST read it back; the REST profiles carry the name too.
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { segments { segment name generatedName note } } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    let segments = &body["data"]["run"]["segments"];
    assert_eq!(segments[0]["name"], "Loyal families", "{body}");
    assert!(segments[1]["note"].is_null());
    assert_eq!(segments[1]["name"], segments[1]["generatedName"]);
    let rest: Value = app.get_json(&format!("/api/v1/clustering/runs/{id}")).await;
    assert_eq!(rest["profiles"][0]["name"], "Loyal families");
    assert_eq!(
        rest["segments"][0],
        json!({ "segment": 0, "name": "Loyal families", "generated_name": generated, "note": "Call before Genna", "size": run["profiles"][0]["size"], "share": run["profiles"][0]["share"] })
    );

    // Files: the customers' CSV (REST and the page's download) and the profiles CSV.
    for path in [
        format!("/api/v1/clustering/runs/{id}/assignments.csv"),
        format!("/runs/{id}/customers.csv"),
    ] {
        let csv = app.get_text(&path).await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(&reader.headers().unwrap()[2], "segment_name", "{path}");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 60, "{path}");
        for row in &rows {
            let named = &row[1] == "0";
            assert_eq!(&row[2] == "Loyal families", named, "{path}: {row:?}");
        }
    }
    let profiles = app
        .get_text(&format!("/api/v1/clustering/runs/{id}/profiles.csv"))
        .await;
    assert!(
        profiles
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("0,Loyal families,"),
        "{profiles}"
    );

    // The pages show the name and the note.
    for tab in ["", "/segments"] {
        let page = app.get_text(&format!("/runs/{id}{tab}")).await;
        assert!(page.contains("Loyal families"), "/runs/{id}{tab}");
    }
    let page = app.get_text(&format!("/runs/{id}/segments")).await;
    assert!(page.contains("Call before Genna"), "{page}");
    // The chart's address changes with the names, so no browser shows a cached old name.
    let chart_after = sizes_chart(app.get_text(&format!("/runs/{id}")).await);
    assert_ne!(chart_before, chart_after);
    let svg = app
        .get_text(&format!(
            "/runs/{id}{}",
            &chart_after[chart_after.find("/charts").unwrap()..]
        ))
        .await;
    assert!(
        svg.contains("Loyal families"),
        "the sizes chart labels the new name"
    );

    // REST: rename another; an empty name brings the generated one back, the note stays.
    let path = format!("/api/v1/clustering/runs/{id}/segments/0");
    let (status, label) = put(&app, &path, json!({ "name": "" })).await;
    assert_eq!(status, 200, "{label}");
    assert_eq!(label["name"], generated.as_str());
    assert_eq!(label["note"], "Call before Genna");
    let (status, label) = put(&app, &path, json!({ "note": "" })).await;
    assert_eq!(status, 200, "{label}");
    assert!(label["note"].is_null());
    assert_eq!(
        app.db
            .scalar(&format!(
                "SELECT count(*) FROM segment_labels WHERE run_id = {id}"
            ))
            .await,
        "0",
        "a label with neither name nor note is removed"
    );

    // Deleting the run deletes its labels.
    put(&app, &path, json!({ "name": "Gone soon" })).await;
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/clustering/runs/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM segment_labels").await,
        "0"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_that_cannot_be_kept_are_refused_and_change_nothing() {
    let app = TestApp::start().await;
    let run = trained(&app).await;
    let id = run["id"].as_i64().unwrap();
    let path = format!("/api/v1/clustering/runs/{id}/segments/1");
    let (status, _) = put(&app, &path, json!({ "name": "Weekend shoppers" })).await;
    assert_eq!(status, 200);

    let long = "x".repeat(81);
    for (body, status, said) in [
        (
            json!({ "name": long }),
            422,
            "the name is 81 characters long; at most 80 fit",
        ),
        (
            json!({ "name": "a\u{0007}b" }),
            422,
            "the name holds a control character; write it as plain text",
        ),
        (
            json!({ "note": "y".repeat(2001) }),
            422,
            "the note is 2001 characters long; at most 2000 fit",
        ),
        (json!({ "nmae": "typo" }), 422, "unknown field `nmae`"),
    ] {
        let (got, answer) = put(&app, &path, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        let detail = answer["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(said), "{body}: {answer}");
    }
    let (status, answer) = put(
        &app,
        &format!("/api/v1/clustering/runs/{id}/segments/7"),
        json!({ "name": "x" }),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        answer["detail"],
        format!("run {id} has segments 0 to 3; there is no segment 7")
    );
    let (status, _) = put(
        &app,
        &format!("/api/v1/clustering/runs/{id}/segments/first"),
        json!({ "name": "x" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = put(
        &app,
        "/api/v1/clustering/runs/999999/segments/0",
        json!({ "name": "x" }),
    )
    .await;
    assert_eq!(status, 404);

    // GraphQL says the same in its shape.
    let body = app
        .graphql(
            "mutation($id: ID!) { renameSegment(runId: $id, segment: -1, name: \"x\") { name } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    // A run that has not succeeded has no segments to name.
    let queued = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status) \
             VALUES ({}, 'ward', 2, 'failed') RETURNING id::text AS v",
            run["dataset_id"]
        ))
        .await;
    let (status, answer) = put(
        &app,
        &format!("/api/v1/clustering/runs/{queued}/segments/0"),
        json!({ "name": "x" }),
    )
    .await;
    assert_eq!(status, 409, "{answer}");

    // Nothing refused was stored.
    let rest: Value = app.get_json(&format!("/api/v1/clustering/runs/{id}")).await;
    assert_eq!(rest["segments"][1]["name"], "Weekend shoppers");
    assert!(rest["segments"][1]["note"].is_null());

    // Cancelling the finished run answers it as every other read does, names included.
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/clustering/runs/{id}/cancel")))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let cancelled: Value = resp.json().await.unwrap();
    assert_eq!(cancelled["segments"], rest["segments"], "{cancelled}");
    let body = app
        .graphql(
            "mutation($id: ID!) { cancelRun(id: $id) { segments { name } } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert_eq!(
        body["data"]["cancelRun"]["segments"][1]["name"], "Weekend shoppers",
        "{body}"
    );
    app.stop().await;
}

/// Two runs of one dataset compared: the adjusted Rand index and where every customer went,
/// over GraphQL and on the page the runs table links to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_are_compared_customer_by_customer() {
    let app = TestApp::start().await;
    let first = trained(&app).await;
    let second = app
        .trained(
            &first["dataset_id"],
            json!({ "linkage": "average", "n_clusters": 3 }),
        )
        .await;
    let (a, b) = (first["id"].to_string(), second["id"].to_string());
    let query = "query($a: ID!, $b: ID!) { compareRuns(a: $a, b: $b) { a { id } b { id } adjustedRandIndex migration { from to count } } }";

    let body = app.graphql(query, json!({ "a": a, "b": a })).await;
    let same = &body["data"]["compareRuns"];
    assert_eq!(same["adjustedRandIndex"], 1.0, "{body}");
    let moves = same["migration"].as_array().unwrap();
    assert_eq!(moves.len(), 4, "{body}");
    assert!(moves.iter().all(|m| m["from"] == m["to"]), "{body}");

    let body = app.graphql(query, json!({ "a": a, "b": b })).await;
    let c = &body["data"]["compareRuns"];
    assert_eq!(c["b"]["id"], b.as_str(), "{body}");
    let ari = c["adjustedRandIndex"].as_f64().unwrap();
    assert!((-1.0..=1.0).contains(&ari), "{body}");
    let moves = c["migration"].as_array().unwrap();
    let total: i64 = moves.iter().map(|m| m["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 60, "every customer once: {body}");
    assert!(
        moves
            .iter()
            .all(|m| m["from"].as_i64().unwrap() < 4 && m["to"].as_i64().unwrap() < 3)
    );
    // Row sums are the first run's segment sizes.
    for (k, profile) in first["profiles"].as_array().unwrap().iter().enumerate() {
        let size: i64 = moves
            .iter()
            .filter(|m| m["from"] == k)
            .map(|m| m["count"].as_i64().unwrap())
            .sum();
        assert_eq!(size, profile["size"].as_i64().unwrap(), "segment {k}");
    }

    // Runs of two datasets cannot be compared.
    let other = trained(&app).await;
    let body = app
        .graphql(query, json!({ "a": a, "b": other["id"].to_string() }))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .ends_with("compare two runs of one dataset"),
        "{body}"
    );

    // The runs table links the newer run to the older one; the page shows the same figures.
    let dataset_page = app
        .get_text(&format!("/datasets/{}", first["dataset_id"]))
        .await;
    let link = format!("/runs/{b}/compare?with={a}");
    assert!(dataset_page.contains(&link), "{dataset_page}");
    let page = app.get_text(&link).await;
    let shown = format!("id=\"ari\">{ari:.3}<");
    assert!(page.contains(&shown), "{shown} in {page}");
    assert!(page.contains("id=\"migration\""), "{page}");

    // The page's picker offers every other succeeded run of the dataset, the shown one
    // selected, and compares with whichever is chosen; the runs can be swapped.
    let third = app
        .trained(
            &first["dataset_id"],
            json!({ "linkage": "complete", "n_clusters": 4 }),
        )
        .await;
    let c = third["id"].to_string();
    let page = app.get_text(&link).await;
    assert!(
        page.contains(&format!("<option value=\"{a}\" selected>")),
        "{page}"
    );
    assert!(page.contains(&format!("<option value=\"{c}\">")), "{page}");
    assert!(!page.contains(&format!("<option value=\"{b}\"")), "{page}");
    assert!(
        page.contains(&format!("action=\"/runs/{b}/compare\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"/runs/{a}/compare?with={b}\"")),
        "{page}"
    );
    let body = app.graphql(query, json!({ "a": b, "b": c })).await;
    let ari = body["data"]["compareRuns"]["adjustedRandIndex"]
        .as_f64()
        .unwrap();
    let page = app.get_text(&format!("/runs/{b}/compare?with={c}")).await;
    let shown = format!("id=\"ari\">{ari:.3}<");
    assert!(page.contains(&shown), "{shown} in {page}");
    assert!(
        page.contains(&format!("<option value=\"{c}\" selected>")),
        "{page}"
    );
    app.stop().await;
}

/// The segment form on the page keeps what was typed and says why beside it when refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_form_keeps_a_refused_name_and_says_why() {
    let app = TestApp::start().await;
    let run = trained(&app).await;
    let id = run["id"].as_i64().unwrap();
    let long = "n".repeat(81);
    let resp = app
        .client
        .post(app.url(&format!("/runs/{id}/segments/2")))
        .form(&[("name", long.as_str()), ("note", "kept note")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("id=\"segment-2-error\""), "{page}");
    assert!(
        page.contains("the name is 81 characters long; at most 80 fit"),
        "{page}"
    );
    assert!(
        page.contains(&format!("value=\"{long}\"")),
        "the typed name is kept"
    );
    assert!(
        page.contains(">kept note</textarea>"),
        "the typed note is kept"
    );
    let resp = app
        .client
        .post(app.url(&format!("/runs/{id}/segments/9")))
        .form(&[("name", "x"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("there is no segment 9"), "{page}");
    app.stop().await;
}

/// A run's model, downloaded from the service (REST and the page), places new customers with
/// `segmentiq assign` under the names the analyst gave; runs without a model say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_model_places_new_customers_offline_under_the_analysts_names() {
    let app = TestApp::start().await;
    let run = trained(&app).await;
    let id = run["id"].as_i64().unwrap();
    let (status, _) = put(
        &app,
        &format!("/api/v1/clustering/runs/{id}/segments/0"),
        json!({ "name": "Loyal families" }),
    )
    .await;
    assert_eq!(status, 200);

    let dir = tempfile::tempdir().unwrap();
    let mut models = Vec::new();
    for path in [
        format!("/api/v1/clustering/runs/{id}/model.json"),
        format!("/runs/{id}/model.json"),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], "application/json", "{path}");
        assert_eq!(
            resp.headers()["content-disposition"],
            format!("attachment; filename=\"segmentiq-run-{id}-model.json\"").as_str()
        );
        models.push(resp.bytes().await.unwrap());
    }
    assert_eq!(models[0], models[1], "REST and the page serve one model");
    let model: Value = serde_json::from_slice(&models[0]).unwrap();
    assert_eq!(model["version"], 1);
    assert_eq!(model["segments"][0]["name"], "Loyal families");
    let page = app.get_text(&format!("/runs/{id}/segments")).await;
    assert!(
        page.contains(&format!("href=\"/runs/{id}/model.json\"")),
        "{page}"
    );

    // The run's own customers, placed offline, keep their segments and the analyst's name.
    let model_path = dir.path().join("model.json");
    std::fs::write(&model_path, &models[0]).unwrap();
    let csv_path = dir.path().join("customers.csv");
    std::fs::write(&csv_path, common::customers_csv(60)).unwrap();
    let out = dir.path().join("assigned.csv");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_segmentiq"))
        .arg("assign")
        .arg(&model_path)
        .arg(&csv_path)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let placed = std::fs::read_to_string(&out).unwrap();
    let stored = app
        .get_text(&format!("/api/v1/clustering/runs/{id}/assignments.csv"))
        .await;
    let segments = |csv: &str| -> Vec<(String, String)> {
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[1].to_string(), r[2].to_string())
            })
            .collect()
    };
    assert_eq!(segments(&placed), segments(&stored));
    assert!(segments(&placed).iter().any(|(_, n)| n == "Loyal families"));

    // A run from before models, a cancelled run and no run at all.
    let refused = |path: String, status: u16, says: &'static str| {
        let app = &app;
        async move {
            let resp = app.client.get(app.url(&path)).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), status, "{path}");
            let body = resp.text().await.unwrap();
            assert!(body.contains(says), "{path}: {body}");
        }
    };
    app.db
        .execute(&format!(
            "UPDATE clustering_runs SET model = NULL WHERE id = {id}"
        ))
        .await;
    refused(
        format!("/api/v1/clustering/runs/{id}/model.json"),
        409,
        "succeeded before runs kept a model; run the same settings again",
    )
    .await;
    let cancelled = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, finished_at) \
             VALUES ({}, 'complete', 5, 'cancelled', now()) RETURNING id::text AS v",
            run["dataset_id"]
        ))
        .await;
    refused(
        format!("/runs/{cancelled}/model.json"),
        409,
        "is cancelled; its model exists once it has succeeded",
    )
    .await;
    refused(
        "/api/v1/clustering/runs/999999/model.json".into(),
        404,
        "999999",
    )
    .await;
    app.stop().await;
}
