//! New customers placed in a finished run's segments in the service ("scorings"): uploaded
//! through REST, GraphQL and the run's page, stored, paged, downloaded and deleted; files that
//! cannot be placed are refused with the file, columns and rows at fault, and store nothing.

mod common;

use common::{TestApp, customers_csv};
use segmentiq::engine::ingest::read_csv;
use segmentiq::engine::model::Model;
use serde_json::{Value, json};

/// Posts `csv` as new customers of run `run` through REST, named "November joiners"; returns
/// (status, body).
async fn score(app: &TestApp, run: i64, filename: &str, csv: &[u8]) -> (u16, Value) {
    score_named(app, run, filename, csv, "November joiners").await
}

async fn score_named(
    app: &TestApp,
    run: i64,
    filename: &str,
    csv: &[u8],
    name: &str,
) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(csv.to_vec()).file_name(filename.to_string());
    let form = reqwest::multipart::Form::new()
        .text("name", name.to_string())
        .part("file", part);
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/clustering/runs/{run}/scorings")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// New customers of the same kinds as [`customers_csv`], with their own ids, a column the run
/// never saw (`email`), a region the run never saw (row 2) and a missing age (row 4).
fn new_customers(rows: usize) -> String {
    let mut csv = String::new();
    for (i, line) in customers_csv(rows + 7).lines().enumerate() {
        match i {
            0 => csv.push_str(&format!("{line},email\n")),
            // Other people than the run's first rows: skip a few.
            1..=7 => continue,
            _ => {
                let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
                cells[0] = format!("N{:05}", i - 8);
                if i - 8 == 2 {
                    cells[3] = "Sidama".into();
                }
                if i - 8 == 4 {
                    cells[1] = String::new();
                }
                csv.push_str(&format!("{},n{}@example.et\n", cells.join(","), i - 8));
            }
        }
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_customers_are_placed_stored_paged_and_downloaded() {
    let app = TestApp::start().await;
    let run = app
        .finished_run(90, json!({ "linkage": "ward", "n_clusters": 3 }))
        .await;
    let id = run["id"].as_i64().unwrap();
    let csv = new_customers(120);

    let (status, scoring) = score(&app, id, "november.csv", csv.as_bytes()).await;
    assert_eq!(status, 201, "{scoring}");
    let scoring_id = scoring["id"].as_i64().unwrap();
    assert_eq!(scoring["run_id"], id);
    assert_eq!(scoring["name"], "November joiners");
    assert_eq!(scoring["filename"], "november.csv");
    assert_eq!(scoring["row_count"], 120);
    assert_eq!(scoring["byte_size"], csv.len());
    let sizes: Vec<i64> = serde_json::from_value(scoring["segment_sizes"].clone()).unwrap();
    assert_eq!(sizes.len(), 3);
    assert_eq!(sizes.iter().sum::<i64>(), 120);
    let notes = scoring["notes"].to_string();
    assert!(
        notes.contains("`region` level `Sidama` was not in the run")
            && notes.contains("row_index 2"),
        "{notes}"
    );
    assert!(
        notes.contains("1 missing `age` cells were filled"),
        "{notes}"
    );
    assert!(
        notes.contains("columns the run did not use were ignored: `customer_id`, `email`"),
        "{notes}"
    );

    // The placement is the run's model's: the model downloaded from the service places the
    // same file the same way.
    let model = app
        .client
        .get(app.url(&format!("/api/v1/clustering/runs/{id}/model.json")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let model = Model::read(&model).unwrap();
    let expected = model.place(&read_csv(csv.as_bytes()).unwrap()).unwrap();

    // REST pages in row order with cursors; every row reads back with its remarks and cells.
    let mut labels = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/clustering/scorings/{scoring_id}/rows?limit=50");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = app.get_json(&path).await;
        assert_eq!(page["total_count"], 120, "{page}");
        for row in page["rows"].as_array().unwrap() {
            assert_eq!(row["row_index"], labels.len());
            labels.push(row["cluster_label"].as_u64().unwrap() as usize);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(labels, expected.labels);
    let page: Value = app
        .get_json(&format!(
            "/api/v1/clustering/scorings/{scoring_id}/rows?limit=5"
        ))
        .await;
    assert_eq!(
        page["rows"][2]["remarks"],
        json!(["`region` level `Sidama` was not in the run"])
    );
    assert_eq!(page["rows"][2]["payload"]["customer_id"], "N00002");
    assert_eq!(page["rows"][2]["payload"]["email"], "n2@example.et");
    let remark = page["rows"][4]["remarks"][0].as_str().unwrap();
    assert!(
        remark.starts_with("`age` was missing: filled with "),
        "{remark}"
    );
    assert!(page["rows"][4]["payload"]["age"].is_null());
    assert_eq!(page["rows"][0]["remarks"], json!([]));

    // One segment only, through REST and GraphQL alike.
    let segment_rows: Value = app
        .get_json(&format!(
            "/api/v1/clustering/scorings/{scoring_id}/rows?cluster=1&limit=1000"
        ))
        .await;
    assert_eq!(segment_rows["total_count"], sizes[1]);
    assert!(
        segment_rows["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["cluster_label"] == 1)
    );
    let body = app
        .graphql(
            "query($id: ID!, $run: ID!) {
               scoring(id: $id) { name rowCount segmentSizes notes columns run { id }
                 rows(cluster: 1, first: 2) { totalCount edges { node { rowIndex cluster remarks payload } } pageInfo { hasNextPage } } }
               run(id: $run) { scorings { id name } } }",
            json!({ "id": scoring_id.to_string(), "run": id.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let s = &body["data"]["scoring"];
    assert_eq!(s["rowCount"], 120);
    assert_eq!(s["segmentSizes"], scoring["segment_sizes"]);
    assert_eq!(s["notes"], scoring["notes"]);
    assert_eq!(s["columns"][6], "email");
    assert_eq!(s["run"]["id"], id.to_string());
    assert_eq!(s["rows"]["totalCount"], sizes[1]);
    assert_eq!(
        s["rows"]["edges"][0]["node"]["rowIndex"],
        segment_rows["rows"][0]["row_index"]
    );
    assert_eq!(
        body["data"]["run"]["scorings"][0]["id"],
        scoring_id.to_string()
    );

    // Downloads: REST and the page's, every row with its segment name and remarks, then the
    // uploaded columns.
    let names: Vec<String> = run["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    for path in [
        format!("/api/v1/clustering/scorings/{scoring_id}/assignments.csv"),
        format!("/runs/{id}/scorings/{scoring_id}/assignments.csv"),
    ] {
        let text = app.get_text(&path).await;
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            headers,
            [
                "row_index",
                "cluster",
                "segment_name",
                "remarks",
                "customer_id",
                "age",
                "gender",
                "region",
                "total_spend",
                "visit_frequency",
                "email"
            ],
            "{path}"
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 120, "{path}");
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r[0], i.to_string());
            let label = expected.labels[i];
            assert_eq!(r[1], label.to_string());
            assert_eq!(r[2], names[label]);
        }
        assert_eq!(&rows[2][3], "`region` level `Sidama` was not in the run");
        assert_eq!(&rows[2][7], "Sidama");
        assert_eq!(&rows[4][5], "");
    }
    let one = app
        .get_text(&format!(
            "/runs/{id}/scorings/{scoring_id}/assignments.csv?segment=2"
        ))
        .await;
    assert_eq!(one.lines().count() as i64, 1 + sizes[2]);

    // The run's page lists it and shows its table, one segment too.
    let (status, _, page) = app
        .get_page(&format!("/runs/{id}/new-customers"), false)
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("November joiners"),
        "the tab lists the upload"
    );
    assert!(page.contains("1–50 of 120 new customers"), "{page}");
    assert!(page.contains("`region` level `Sidama` was not in the run"));
    assert!(page.contains("n2@example.et"));
    let (status, _, page) = app
        .get_page(
            &format!("/runs/{id}/new-customers?scoring={scoring_id}&segment=1&page=9"),
            true,
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("of {} new customers in segment 1", sizes[1])),
        "{page}"
    );

    // Deleting the upload deletes its rows; the run keeps its own.
    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/clustering/scorings/{scoring_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    let list: Value = app
        .get_json(&format!("/api/v1/clustering/runs/{id}/scorings"))
        .await;
    assert_eq!(list, json!([]));
    let left = app
        .db
        .scalar(&format!(
            "SELECT count(*) FROM scored_rows WHERE scoring_id = {scoring_id}"
        ))
        .await;
    assert_eq!(left, "0");
    let own: Value = app
        .get_json(&format!("/api/v1/clustering/runs/{id}/assignments?limit=1"))
        .await;
    assert_eq!(own.as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_cannot_be_placed_are_refused_by_column_and_row() {
    let app = TestApp::start().await;
    let run = app
        .finished_run(60, json!({ "linkage": "average", "n_clusters": 3 }))
        .await;
    let id = run["id"].as_i64().unwrap();
    let header = "customer_id,age,gender,region,total_spend,visit_frequency";

    let cases: Vec<(&str, String, u16, Vec<&str>)> = vec![
        (
            "missing.csv",
            "customer_id,age,gender\nN1,30,Female\n".into(),
            422,
            vec!["missing.csv: the table has no column `total_spend`, `visit_frequency`, `region`"],
        ),
        (
            "words.csv",
            format!("{header}\nN1,30,Female,Oromia,2000,3\nN2,thirty,Male,Oromia,2100,4\n"),
            422,
            vec![
                "words.csv:",
                "column `age` must hold numbers",
                "row_index 1 holds `thirty`",
            ],
        ),
        ("empty.csv", String::new(), 422, vec!["empty.csv"]),
        (
            "ragged.csv",
            format!("{header}\nN1,30,Female,Oromia,2000\n"),
            422,
            vec!["ragged.csv:", "line 2"],
        ),
        (
            "nul.csv",
            format!("{header}\nN1,30,Fe\0male,Oromia,2000,3\n"),
            422,
            vec!["nul.csv:", "line 2"],
        ),
    ];
    for (filename, csv, want, words) in &cases {
        let (status, body) = score(&app, id, filename, csv.as_bytes()).await;
        assert_eq!(status, *want, "{filename}: {body}");
        let detail = body["detail"].as_str().unwrap_or_default();
        for w in words {
            assert!(detail.contains(w), "{filename}: `{w}` not in {detail}");
        }
    }
    // Not multipart, an unknown run, a run that has not succeeded.
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/clustering/runs/{id}/scorings")))
        .json(&json!({ "file": "a,b" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("multipart/form-data"),
        "{body}"
    );
    let good = new_customers(10);
    let (status, body) = score_named(&app, id, "n.csv", good.as_bytes(), &"n".repeat(201)).await;
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("at most 200 characters"),
        "{body}"
    );
    let (status, body) = score(&app, 987_654, "n.csv", good.as_bytes()).await;
    assert_eq!(status, 404, "{body}");
    let failed = app
        .trained(
            &run["dataset_id"],
            json!({ "linkage": "ward", "n_clusters": 2 }),
        )
        .await;
    app.db
        .execute(&format!(
            "UPDATE clustering_runs SET status = 'failed', error = 'stopped' WHERE id = {}",
            failed["id"]
        ))
        .await;
    let (status, body) = score(
        &app,
        failed["id"].as_i64().unwrap(),
        "n.csv",
        good.as_bytes(),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("once it has succeeded"),
        "{body}"
    );
    // A wrong segment, a wrong cursor.
    let (status, scoring) = score(&app, id, "n.csv", good.as_bytes()).await;
    assert_eq!(status, 201, "{scoring}");
    let sid = scoring["id"].as_i64().unwrap();
    for (path, want) in [
        (
            format!("/api/v1/clustering/scorings/{sid}/rows?cluster=7"),
            "there is no segment 7",
        ),
        (
            format!("/api/v1/clustering/scorings/{sid}/rows?cursor=nope"),
            "not a cursor",
        ),
        (
            format!("/api/v1/clustering/scorings/{sid}/assignments.csv?cluster=-1"),
            "there is no segment -1",
        ),
    ] {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(status == 400 || status == 422, "{path}: {status} {text}");
        assert!(text.contains(want), "{path}: {text}");
    }
    // Refusals stored nothing: only the one good upload is there.
    let count = app.db.scalar("SELECT count(*) FROM scorings").await;
    assert_eq!(count, "1");

    // GraphQL: the same refusal in GraphQL's words, and a placement.
    let mutation = "mutation($file: Upload!, $name: String) { scoreCustomers(runId: \"RUN\", file: $file, name: $name) { id rowCount segmentSizes notes } }"
        .replace("RUN", &id.to_string());
    let body = app
        .graphql_upload(&mutation, "missing.csv", b"customer_id,age\nN1,30\n", None)
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("missing.csv: the table has no column"),
        "{body}"
    );
    let body = app
        .graphql_upload(&mutation, "december.csv", good.as_bytes(), Some("December"))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["scoreCustomers"]["rowCount"], 10);
    let new_id = body["data"]["scoreCustomers"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = app
        .graphql(
            "mutation($id: ID!) { deleteScoring(id: $id) }",
            json!({ "id": new_id }),
        )
        .await;
    assert_eq!(body["data"]["deleteScoring"], new_id.as_str(), "{body}");

    // The page: a refused file comes back above the form with its reason; a good one opens.
    let page_upload = |filename: &str, csv: &[u8]| {
        let part = reqwest::multipart::Part::bytes(csv.to_vec()).file_name(filename.to_string());
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(app.url(&format!("/runs/{id}/scorings")))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
    };
    let resp = page_upload("words.csv", cases[1].1.as_bytes())
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("The customers were not placed."), "{page}");
    assert!(page.contains("row_index 1 holds `thirty`"), "{page}");
    let resp = page_upload("january.csv", good.as_bytes()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&format!("/runs/{id}/new-customers?scoring=")),
        "{location}"
    );
    let (status, _, page) = app.get_page(&location, false).await;
    assert_eq!(status, 200);
    assert!(page.contains("january"), "{page}");
    // Another run's upload is not this run's.
    let other = app
        .trained(
            &run["dataset_id"],
            json!({ "linkage": "ward", "n_clusters": 2 }),
        )
        .await;
    let scoring_here = location.rsplit('=').next().unwrap();
    let (status, _, _) = app
        .get_page(
            &format!(
                "/runs/{}/scorings/{scoring_here}/assignments.csv",
                other["id"]
            ),
            false,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _, _) = app
        .get_page(
            &format!("/runs/{}/new-customers?scoring={scoring_here}", other["id"]),
            false,
        )
        .await;
    assert_eq!(status, 404);
    app.stop().await;
}
