//! Paths through the product that no other test walks: height cuts and PCA runs, deleting
//! datasets and runs over GraphQL, the row and column limits, the sample table, the rerun form
//! and the sweep of runs whose worker stopped answering. Each is driven as a client or a
//! browser would, over real HTTP against a real PostgreSQL, and read back through every
//! interface that shows it.

mod common;

use std::time::Duration;

use common::{TestApp, customers_csv, fresh_db, hx_location};
use serde_json::{Value, json};

/// What the tests read of a run over GraphQL.
const RUN_QUERY: &str = "query($id: ID!) { run(id: $id) { id status linkage metric nClusters distanceThreshold usePca pcaComponents pcaVariance features excluded kinds { column kind } featureConfig { numericFeatures categoricalFeatures identifierColumns excludedColumns pcaApplied pcaComponents explainedVarianceRatio nEncodedFeatures } metrics { nClusters cutHeight clusterSizes { size } } kSweep { suggestedK } } }";

/// One run as each interface shows it.
struct Seen {
    gql: Value,
    rest: Value,
    /// The run's overview page (htmx partial).
    page: String,
}

/// Waits for a run to end and reads it through GraphQL, REST and its page.
async fn read_run(app: &TestApp, id: i64) -> Seen {
    let rest = app.wait_for_run(id).await;
    let body = app
        .graphql(RUN_QUERY, json!({ "id": id.to_string() }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let (status, _, page) = app.get_page(&format!("/runs/{id}"), true).await;
    assert_eq!(status, 200, "{page}");
    Seen {
        gql: body["data"]["run"].clone(),
        rest,
        page,
    }
}

/// Queues a run through GraphQL `trainRun`.
async fn train_gql(app: &TestApp, input: Value) -> i64 {
    let body = app
        .graphql(
            "mutation($input: TrainRunInput!) { trainRun(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    let id = body["data"]["trainRun"]["id"].as_str();
    id.unwrap_or_else(|| panic!("{body}")).parse().unwrap()
}

/// Queues a run through REST `train`, without waiting for it.
async fn train_rest(app: &TestApp, body: Value) -> i64 {
    let (status, run) = app.train(body, false).await;
    assert!(matches!(status, 201 | 202), "{status} {run}");
    run["id"].as_i64().unwrap()
}

/// Queues a run by posting a dataset page's run form as a browser without JavaScript.
async fn train_form(app: &TestApp, dataset_id: i64, fields: &[(&str, &str)]) -> i64 {
    let resp = app
        .post_form(&format!("/datasets/{dataset_id}/runs"), fields, false)
        .await;
    assert_eq!(resp.status().as_u16(), 303, "{fields:?}");
    let location = resp.headers()["location"].to_str().unwrap();
    location.strip_prefix("/runs/").unwrap().parse().unwrap()
}

/// Uploads through REST and returns the new dataset's id.
async fn dataset_of(app: &TestApp, rows: usize) -> i64 {
    let (status, dataset) = app
        .upload("customers.csv", customers_csv(rows).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    dataset["id"].as_i64().unwrap()
}

/// A run's segment of every row, in row order, as stored.
async fn labels(app: &TestApp, run: i64) -> String {
    app.db
        .scalar(&format!(
            "SELECT coalesce(string_agg(cluster_label::text, ',' ORDER BY row_index), '') \
             FROM cluster_assignments WHERE run_id = {run}"
        ))
        .await
}

/// A number as the pages write it (`web::format::number`) for the values these tests use.
fn page_number(v: f64) -> String {
    if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_height_cut_gives_the_same_segments_through_every_interface() {
    let app = TestApp::start().await;
    let id = dataset_of(&app, 90).await;
    // Cutting the tree into 3 segments says at which height that cut lies.
    let by_k = train_rest(
        &app,
        json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 }),
    )
    .await;
    let k_run = read_run(&app, by_k).await;
    let h = k_run.rest["metrics"]["cut_height"].as_f64().unwrap();
    assert_eq!(k_run.gql["metrics"]["cutHeight"], h);
    let three = labels(&app, by_k).await;
    assert_eq!(three.split(',').count(), 90);

    let by_height = [
        train_gql(
            &app,
            json!({ "datasetId": id.to_string(), "linkage": "WARD", "distanceThreshold": h }),
        )
        .await,
        train_rest(
            &app,
            json!({ "dataset_id": id, "linkage": "ward", "distance_threshold": h }),
        )
        .await,
        train_form(
            &app,
            id,
            &[
                ("method", "ward"),
                ("metric", "euclidean"),
                ("mode", "height"),
                ("distance_threshold", &h.to_string()),
            ],
        )
        .await,
    ];
    for run in by_height {
        let seen = read_run(&app, run).await;
        let (gql, rest) = (&seen.gql, &seen.rest);
        assert_eq!(rest["status"], "succeeded", "{rest}");
        // What was asked: a height, no count.
        assert_eq!(gql["distanceThreshold"], h, "{gql}");
        assert_eq!(rest["distance_threshold"], h, "{rest}");
        assert_eq!(gql["nClusters"], Value::Null, "{gql}");
        // What the cut found, the same everywhere.
        assert_eq!(gql["metrics"]["nClusters"], 3, "{gql}");
        assert_eq!(gql["metrics"]["clusterSizes"].as_array().unwrap().len(), 3);
        assert_eq!(gql["metrics"]["cutHeight"], h, "{gql}");
        assert_eq!(rest["n_clusters"], 3, "{rest}");
        assert_eq!(rest["metrics"]["n_clusters"], 3, "{rest}");
        assert!(
            seen.page.contains("<dd id=\"segment-count\">3</dd>"),
            "{}",
            seen.page
        );
        assert!(
            seen.page
                .contains(&format!("cut at height {}", page_number(h))),
            "{}",
            seen.page
        );
        // The same tree cut at the same place: the same segments, row for row.
        assert_eq!(labels(&app, run).await, three, "run {run}");
    }
    app.stop().await;
}

/// How a PCA run was asked for and how many components it must keep.
enum Kept {
    None,
    Components(usize),
    /// At least this share of the variance, with as few components as that takes.
    Variance(f64),
    /// PCA without a size: 95% of the variance, and no share recorded as asked for.
    DefaultVariance,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pca_runs_report_what_they_kept_through_every_interface() {
    let app = TestApp::start().await;
    // 3 numeric columns, gender (2 levels) and region (4): 9 encoded features.
    let id = dataset_of(&app, 90).await;
    let ds = id.to_string();
    let k = |extra: Value| {
        let mut body = json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let form = |extra: &[(&'static str, &'static str)]| {
        let mut fields = vec![("method", "ward"), ("mode", "k"), ("n_clusters", "3")];
        fields.extend_from_slice(extra);
        fields
    };
    let cases = vec![
        (
            train_gql(
                &app,
                json!({ "datasetId": ds, "nClusters": 3, "pcaComponents": 2 }),
            )
            .await,
            Kept::Components(2),
            "PCA to 2 components",
        ),
        (
            train_gql(
                &app,
                json!({ "datasetId": ds, "nClusters": 3, "usePca": true, "pcaVariance": 0.8 }),
            )
            .await,
            Kept::Variance(0.8),
            "PCA keeping 80.0% of variance",
        ),
        (
            train_rest(&app, k(json!({ "use_pca": true, "pca_components": 3 }))).await,
            Kept::Components(3),
            "PCA to 3 components",
        ),
        (
            // No share given: 95% of the variance.
            train_rest(&app, k(json!({ "use_pca": true }))).await,
            Kept::DefaultVariance,
            "PCA ·",
        ),
        (
            train_rest(&app, k(json!({}))).await,
            Kept::None,
            "3 segments ·",
        ),
        (
            train_form(
                &app,
                id,
                &form(&[("use_pca", "on"), ("pca_components", "4")]),
            )
            .await,
            Kept::Components(4),
            "PCA to 4 components",
        ),
        (
            train_form(
                &app,
                id,
                &form(&[("use_pca", "on"), ("pca_variance", "0.9")]),
            )
            .await,
            Kept::Variance(0.9),
            "PCA keeping 90.0% of variance",
        ),
        (
            // The box left unticked: the numbers beside it are not used.
            train_form(&app, id, &form(&[("pca_components", "2")])).await,
            Kept::None,
            "3 segments ·",
        ),
    ];
    for (run, kept, summary) in cases {
        let seen = read_run(&app, run).await;
        let (gql, rest) = (&seen.gql, &seen.rest);
        assert_eq!(rest["status"], "succeeded", "{rest}");
        let fc = &gql["featureConfig"];
        assert_eq!(fc["nEncodedFeatures"], 9, "{gql}");
        let ratios: Vec<f64> = fc["explainedVarianceRatio"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_f64().unwrap())
            .collect();
        let n = ratios.len();
        let share = match kept {
            Kept::None => {
                assert_eq!(n, 0, "{gql}");
                None
            }
            Kept::Components(c) => {
                assert_eq!(n, c, "{gql}");
                None
            }
            Kept::Variance(share) => Some(share),
            Kept::DefaultVariance => Some(0.95),
        };
        if let Some(share) = share {
            // The fewest leading components that keep more than `share`.
            assert!(n > 0, "no components kept: {gql}");
            let without_last: f64 = ratios[..n - 1].iter().sum();
            assert!(without_last <= share, "{share}: {ratios:?}");
            assert!(ratios.iter().sum::<f64>() > share, "{share}: {ratios:?}");
        }
        let applied = n > 0;
        let (asked, asked_share) = match kept {
            Kept::Components(c) => (json!(c), Value::Null),
            Kept::Variance(share) => (Value::Null, json!(share)),
            _ => (Value::Null, Value::Null),
        };
        assert_eq!(gql["pcaVariance"], asked_share, "{gql}");
        assert_eq!(rest["pca_variance"], asked_share, "{rest}");
        assert_eq!(gql["usePca"], applied, "{gql}");
        assert_eq!(gql["pcaComponents"], asked, "{gql}");
        assert_eq!(fc["pcaApplied"], applied, "{gql}");
        assert_eq!(
            fc["pcaComponents"],
            if applied { json!(n) } else { Value::Null }
        );
        assert_eq!(rest["use_pca"], applied, "{rest}");
        assert_eq!(rest["pca_components"], asked, "{rest}");
        let rest_fc = &rest["feature_config"];
        assert_eq!(rest_fc["pca_applied"], applied, "{rest}");
        assert_eq!(rest_fc["pca_components"], fc["pcaComponents"], "{rest}");
        assert_eq!(
            rest_fc["explained_variance_ratio"],
            fc["explainedVarianceRatio"]
        );
        assert_eq!(gql["metrics"]["nClusters"], 3, "{gql}");

        let pca_row = if applied {
            let kept: f64 = ratios.iter().sum();
            format!(
                "<dt>PCA</dt><dd>{n} components keeping {:.1}% of the variance</dd>",
                kept * 100.0
            )
        } else {
            "<dt>PCA</dt><dd>not used</dd>".to_string()
        };
        assert!(seen.page.contains(&pca_row), "{pca_row}: {}", seen.page);
        assert!(seen.page.contains(summary), "{summary}: {}", seen.page);
    }
    app.stop().await;
}

/// Asserts that a dataset or run (`what`) is gone from GraphQL, REST and the pages.
async fn assert_gone(app: &TestApp, what: &str, id: i64) {
    let message = format!("{what} {id} not found");
    let body = app
        .graphql(
            &format!("query($id: ID!) {{ {what}(id: $id) {{ id }} }}"),
            json!({ "id": id.to_string() }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], message.as_str(), "{body}");
    let rest = match what {
        "dataset" => format!("/api/v1/datasets/{id}"),
        _ => format!("/api/v1/clustering/runs/{id}"),
    };
    let resp = app.client.get(app.url(&rest)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404, "{rest}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["detail"], message.as_str(), "{rest}: {body}");
    let page = format!("/{what}s/{id}");
    let (status, _, body) = app.get_page(&page, true).await;
    assert_eq!(status, 404, "{page}");
    let mut capitalised = message.clone();
    capitalised[..1].make_ascii_uppercase();
    assert!(body.contains(&format!("{capitalised}.")), "{page}: {body}");
}

/// Deletes over GraphQL; returns the whole answer.
async fn delete_gql(app: &TestApp, mutation: &str, id: i64) -> Value {
    app.graphql(
        &format!("mutation($id: ID!) {{ {mutation}(id: $id) }}"),
        json!({ "id": id.to_string() }),
    )
    .await
}

/// How many rows of `table` match `filter`.
async fn count(app: &TestApp, table: &str, filter: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table} WHERE {filter}");
    app.db.scalar(&sql).await.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_dataset_over_graphql_takes_its_runs_everywhere() {
    let app = TestApp::start().await;
    let doomed = dataset_of(&app, 30).await;
    let kept = dataset_of(&app, 24).await;
    let body = json!({ "dataset_id": doomed, "linkage": "average", "n_clusters": 3 });
    let runs = [
        train_rest(&app, body.clone()).await,
        train_rest(&app, body).await,
    ];
    let kept_run = train_rest(
        &app,
        json!({ "dataset_id": kept, "linkage": "ward", "n_clusters": 2 }),
    )
    .await;
    for run in runs.iter().chain([&kept_run]) {
        assert_eq!(app.wait_for_run(*run).await["status"], "succeeded");
    }
    let in_runs = format!("run_id IN ({}, {})", runs[0], runs[1]);
    assert_eq!(count(&app, "cluster_assignments", &in_runs).await, 60);

    let body = delete_gql(&app, "deleteDataset", doomed).await;
    assert_eq!(
        body,
        json!({ "data": { "deleteDataset": doomed.to_string() } })
    );

    assert_gone(&app, "dataset", doomed).await;
    for run in runs {
        assert_gone(&app, "run", run).await;
    }
    let only_kept = |ids: Vec<i64>| assert_eq!(ids, vec![kept]);
    let listed = app
        .graphql("{ datasets { nodes { id } } }", json!({}))
        .await;
    only_kept(
        listed["data"]["datasets"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().parse().unwrap())
            .collect(),
    );
    let listed: Value = app.get_json("/api/v1/datasets").await;
    only_kept(
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect(),
    );
    let listed: Value = app.get_json("/api/v1/clustering/runs").await;
    let listed: Vec<i64> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, vec![kept_run]);
    let (_, _, home) = app.get_page("/", true).await;
    assert!(
        !home.contains(&format!("href=\"/datasets/{doomed}\"")),
        "{home}"
    );
    assert!(
        home.contains(&format!("href=\"/datasets/{kept}\"")),
        "{home}"
    );

    // Nothing of it is left in the database; the other dataset is whole.
    let of_doomed = format!("dataset_id = {doomed}");
    assert_eq!(count(&app, "datasets", &format!("id = {doomed}")).await, 0);
    assert_eq!(count(&app, "dataset_rows", &of_doomed).await, 0);
    assert_eq!(count(&app, "clustering_runs", &of_doomed).await, 0);
    assert_eq!(count(&app, "cluster_assignments", &in_runs).await, 0);
    assert_eq!(
        count(&app, "dataset_rows", &format!("dataset_id = {kept}")).await,
        24
    );
    let kept_assignments = format!("run_id = {kept_run}");
    assert_eq!(
        count(&app, "cluster_assignments", &kept_assignments).await,
        24
    );

    let again = delete_gql(&app, "deleteDataset", doomed).await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{again}"
    );
    assert_eq!(
        again["errors"][0]["message"],
        format!("dataset {doomed} not found")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_run_over_graphql_leaves_its_dataset_and_other_runs() {
    let app = TestApp::start().await;
    let id = dataset_of(&app, 30).await;
    let body = json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 });
    let (doomed, kept) = (
        train_rest(&app, body.clone()).await,
        train_rest(&app, body).await,
    );
    for run in [doomed, kept] {
        assert_eq!(app.wait_for_run(run).await["status"], "succeeded");
    }

    let body = delete_gql(&app, "deleteRun", doomed).await;
    assert_eq!(body, json!({ "data": { "deleteRun": doomed.to_string() } }));
    assert_gone(&app, "run", doomed).await;
    let body = app
        .graphql(
            "query($id: ID!) { assignments(runId: $id) { totalCount } }",
            json!({ "id": doomed.to_string() }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{body}"
    );
    let csv = format!("/api/v1/clustering/runs/{doomed}/assignments.csv");
    let resp = app.client.get(app.url(&csv)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404, "{csv}");

    let body = app
        .graphql(
            "query($id: ID!) { runs(datasetId: $id) { nodes { id } } dataset(id: $id) { rowCount } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert_eq!(
        body["data"],
        json!({ "runs": { "nodes": [{ "id": kept.to_string() }] }, "dataset": { "rowCount": 30 } }),
        "{body}"
    );
    let listed: Value = app
        .get_json(&format!("/api/v1/clustering/runs?dataset_id={id}"))
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], kept);
    let (_, _, page) = app.get_page(&format!("/datasets/{id}"), true).await;
    assert!(
        !page.contains(&format!("href=\"/runs/{doomed}\"")),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/runs/{kept}\"")), "{page}");
    assert_eq!(
        count(&app, "cluster_assignments", &format!("run_id = {doomed}")).await,
        0
    );
    assert_eq!(
        count(&app, "cluster_assignments", &format!("run_id = {kept}")).await,
        30
    );

    let again = delete_gql(&app, "deleteRun", doomed).await;
    assert_eq!(
        again["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{again}"
    );
    assert_eq!(
        again["errors"][0]["message"],
        format!("run {doomed} not found")
    );
    app.stop().await;
}

/// Rows and store levels (encoded features) enough that a Ward run takes far longer than the
/// few seconds its deletion is given to stop it: the silhouette, the cophenetic correlation and
/// the k sweep each compare every pair of customers over 69 features.
const BIG: usize = 20_000;
const STORES: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_running_run_stops_it_and_frees_the_worker() {
    // One run at a time: the next run starts only once the deleted one has let go.
    let app = TestApp::start_with(&[("MAX_CONCURRENT_RUNS", "1")]).await;
    let wide = with_store_column(&customers_csv(BIG), STORES);
    let (status, big) = app.upload("big.csv", wide.as_bytes()).await;
    assert_eq!(status, 201, "{big}");
    let big = big["id"].as_i64().unwrap();
    let small = dataset_of(&app, 30).await;
    let running = train_rest(
        &app,
        json!({ "dataset_id": big, "linkage": "ward", "n_clusters": 4 }),
    )
    .await;
    app.wait_for_status(running, "running", Duration::from_secs(60))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let next = train_rest(
        &app,
        json!({ "dataset_id": small, "linkage": "ward", "n_clusters": 3 }),
    )
    .await;
    assert_eq!(app.status_of(next).await, "queued");

    let body = delete_gql(&app, "deleteRun", running).await;
    assert_eq!(
        body,
        json!({ "data": { "deleteRun": running.to_string() } })
    );
    assert_gone(&app, "run", running).await;
    // The worker notices within a heartbeat or two and takes the next run.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while app.status_of(next).await == "queued" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deleted run still holds the worker"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.wait_for_run(next).await["status"], "succeeded");
    // The stopped run wrote nothing afterwards.
    let of_running = format!("id = {running}");
    assert_eq!(count(&app, "clustering_runs", &of_running).await, 0);
    let of_running = format!("run_id = {running}");
    assert_eq!(count(&app, "cluster_assignments", &of_running).await, 0);
    assert_eq!(
        count(&app, "dataset_rows", &format!("dataset_id = {big}")).await,
        BIG as i64
    );
    app.stop().await;
}

/// What one interface did with an upload.
#[derive(Debug, PartialEq)]
enum Verdict {
    Stored,
    /// Refused with this message.
    Refused(String),
}

/// Uploads one file through REST, GraphQL's multipart request and the page's drop zone.
async fn upload_everywhere(app: &TestApp, filename: &str, csv: &[u8]) -> [Verdict; 3] {
    let (status, body) = app.upload(filename, csv).await;
    let rest = match status {
        201 => Verdict::Stored,
        _ => {
            assert_eq!((status, &body["code"]), (422, &json!("BAD_USER_INPUT")));
            Verdict::Refused(body["detail"].as_str().unwrap().to_string())
        }
    };
    let body = app
        .graphql_upload(
            "mutation($file: Upload!) { uploadDataset(file: $file) { id } }",
            filename,
            csv,
            None,
        )
        .await;
    let gql = match &body["errors"][0] {
        Value::Null => Verdict::Stored,
        error => {
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
            Verdict::Refused(error["message"].as_str().unwrap().to_string())
        }
    };
    let resp = app.upload_page(filename, csv, true).await;
    let page = match resp.status().as_u16() {
        200 => {
            assert!(hx_location(&resp).starts_with("/datasets/"));
            Verdict::Stored
        }
        status => {
            assert_eq!(status, 422);
            let zone = resp.text().await.unwrap();
            let error = zone
                .split("id=\"upload-error\"")
                .nth(1)
                .unwrap_or_else(|| panic!("no error in the zone: {zone}"));
            Verdict::Refused(error.to_string())
        }
    };
    [rest, gql, page]
}

/// Datasets and their rows as stored.
async fn stored_rows(app: &TestApp) -> String {
    app.db
        .scalar("(SELECT count(*) FROM datasets) || ' datasets, ' || (SELECT count(*) FROM dataset_rows) || ' rows'")
        .await
}

/// `csv` with one more column, `store`, cycling through `levels` values.
fn with_store_column(csv: &str, levels: usize) -> String {
    csv.lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!("{line},store\n"),
            _ => format!("{line},S{:02}\n", i % levels),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_row_and_column_limits_are_refused_everywhere() {
    let app = TestApp::start_with(&[("MAX_ROWS", "10"), ("MAX_COLUMNS", "6")]).await;
    let too_long = customers_csv(11);
    let too_wide = with_store_column(&customers_csv(10), 2);
    for (csv, message) in [
        (
            too_long.as_bytes(),
            "c.csv: 11 data rows is more than the limit of 10 (MAX_ROWS)",
        ),
        (
            too_wide.as_bytes(),
            "c.csv: 7 columns is more than the limit of 6 (MAX_COLUMNS)",
        ),
    ] {
        let [rest, gql, page] = upload_everywhere(&app, "c.csv", csv).await;
        assert_eq!(rest, Verdict::Refused(message.into()), "REST");
        assert_eq!(gql, Verdict::Refused(message.into()), "GraphQL");
        let Verdict::Refused(zone) = page else {
            panic!("the page stored {message}")
        };
        assert!(zone.contains(message), "page: {zone}");
        assert_eq!(stored_rows(&app).await, "0 datasets, 0 rows");
    }

    // The sample table (2,000 rows) is held to the same limit.
    let resp = app.post_form("/datasets/sample", &[], true).await;
    assert_eq!(resp.status().as_u16(), 422);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("2000 data rows is more than the limit of 10 (MAX_ROWS)"),
        "{body}"
    );
    assert_eq!(stored_rows(&app).await, "0 datasets, 0 rows");

    // Exactly at both limits: 10 rows of 6 columns, stored by each interface.
    let verdicts = upload_everywhere(&app, "c.csv", customers_csv(10).as_bytes()).await;
    assert_eq!(
        verdicts,
        [Verdict::Stored, Verdict::Stored, Verdict::Stored]
    );
    assert_eq!(stored_rows(&app).await, "3 datasets, 30 rows");
    app.stop().await;
}

/// The sample table the product ships.
const SAMPLE: &str = include_str!("../sample_data/ethiopian_supermarket_customers.csv");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_button_stores_the_sample_and_opens_it() {
    let app = TestApp::start().await;
    let (_, _, home) = app.get_page("/", true).await;
    assert!(
        home.contains("<form class=\"inline-form\" action=\"/datasets/sample\" method=\"post\">"),
        "{home}"
    );

    // A browser without JavaScript is sent to the new dataset's page.
    let resp = app.post_form("/datasets/sample", &[], false).await;
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let id: i64 = location
        .strip_prefix("/datasets/")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(SAMPLE.lines().count(), 2001, "a header and 2,000 customers");
    let (status, _, page) = app.get_page(&location, false).await;
    assert_eq!(status, 200);
    for part in [
        "<h1>Ethiopian supermarket customers (sample)",
        "ethiopian_supermarket_customers.csv · ",
        " · 2,000 rows · 8 columns · ",
        "id=\"run-form\"",
    ] {
        assert!(page.contains(part), "the page lacks {part}: {page}");
    }

    let rest: Value = app
        .get_json(&location.replace("/datasets", "/api/v1/datasets"))
        .await;
    assert_eq!(rest["name"], "Ethiopian supermarket customers (sample)");
    assert_eq!(rest["filename"], "ethiopian_supermarket_customers.csv");
    assert_eq!(rest["row_count"], 2000);
    let body = app
        .graphql(
            "query($id: ID!) { dataset(id: $id) { rowCount columns { name } } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    let names: Vec<&str> = body["data"]["dataset"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let header = SAMPLE.lines().next().unwrap();
    assert_eq!(names, header.split(',').collect::<Vec<_>>());
    assert_eq!(body["data"]["dataset"]["rowCount"], 2000);
    assert_eq!(
        count(&app, "dataset_rows", &format!("dataset_id = {id}")).await,
        2000
    );

    // From htmx: the page to load next; each press stores another copy.
    let resp = app.post_form("/datasets/sample", &[], true).await;
    assert_eq!(resp.status().as_u16(), 200);
    let second = hx_location(&resp);
    assert_ne!(second, location);
    assert_eq!(app.get_page(&second, true).await.0, 200);
    assert_eq!(count(&app, "datasets", "true").await, 2);
    app.stop().await;
}

/// The hidden fields of the quality tab's "Run again" form and where it posts, if it is there.
async fn rerun_form(app: &TestApp, run: i64) -> Option<(String, Vec<(String, String)>)> {
    let (status, _, page) = app.get_page(&format!("/runs/{run}/quality"), true).await;
    assert_eq!(status, 200);
    let end = page.find("id=\"rerun-suggested\"")?;
    let start = page[..end].rfind("<form ").unwrap();
    let form = &page[start..end];
    let attr = |tag: &str, name: &str| {
        let from = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[from..from + tag[from..].find('"').unwrap()].to_string()
    };
    let action = attr(form, "action");
    let fields = form
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|input| (attr(input, "name"), attr(input, "value")))
        .collect();
    Some((action, fields))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rerun_form_repeats_the_settings_with_the_suggested_count() {
    let app = TestApp::start().await;
    let id = dataset_of(&app, 60).await;
    let ds = id.to_string();
    // Runs whose count is not the one their sweep suggests, with every setting changed.
    let originals = [
        train_rest(
            &app,
            json!({ "dataset_id": id, "linkage": "average", "metric": "manhattan", "n_clusters": 6,
                    "use_pca": true, "pca_variance": 0.9, "exclude": ["gender"] }),
        )
        .await,
        train_gql(
            &app,
            json!({ "datasetId": ds, "linkage": "COMPLETE", "nClusters": 7, "pcaComponents": 2,
                    "features": ["age", "total_spend", "visit_frequency"],
                    "kinds": [{ "column": "visit_frequency", "kind": "CATEGORICAL" }] }),
        )
        .await,
        train_rest(
            &app,
            json!({ "dataset_id": id, "n_clusters": 4, "kinds": { "region": "ignore" } }),
        )
        .await,
    ];
    let expected_fields = [
        vec![
            ("method", "average"),
            ("metric", "manhattan"),
            ("mode", "k"),
            ("n_clusters", "SUGGESTED"),
            ("features_sent", "1"),
            ("use_pca", "on"),
            ("pca_variance", "0.9"),
            ("feature", "customer_id"),
            ("feature", "age"),
            ("feature", "region"),
            ("feature", "total_spend"),
            ("feature", "visit_frequency"),
        ],
        vec![
            ("method", "complete"),
            ("metric", "euclidean"),
            ("mode", "k"),
            ("n_clusters", "SUGGESTED"),
            ("features_sent", "1"),
            ("use_pca", "on"),
            ("pca_components", "2"),
            ("kind.visit_frequency", "categorical"),
            ("feature", "age"),
            ("feature", "total_spend"),
            ("feature", "visit_frequency"),
        ],
        vec![
            ("method", "ward"),
            ("metric", "euclidean"),
            ("mode", "k"),
            ("n_clusters", "SUGGESTED"),
            ("features_sent", "1"),
            ("kind.region", "ignore"),
            ("feature", "customer_id"),
            ("feature", "age"),
            ("feature", "gender"),
            ("feature", "region"),
            ("feature", "total_spend"),
            ("feature", "visit_frequency"),
        ],
    ];
    for (original, expected) in originals.into_iter().zip(expected_fields) {
        let before = read_run(&app, original).await.gql;
        let suggested = before["kSweep"]["suggestedK"].as_i64().unwrap();
        assert_ne!(before["metrics"]["nClusters"], suggested, "{before}");
        let (action, fields) = rerun_form(&app, original)
            .await
            .expect("a rerun form where the count is not the suggested one");
        assert_eq!(action, format!("/datasets/{id}/runs"));
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(k, v)| {
                let v = v.replace("SUGGESTED", &suggested.to_string());
                (k.to_string(), v)
            })
            .collect();
        assert_eq!(fields, expected, "run {original}");

        // Sent as a browser would send it: the same run with the suggested count.
        let sent: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        let again = train_form(&app, id, &sent).await;
        let after = read_run(&app, again).await.gql;
        for same in [
            "linkage",
            "metric",
            "usePca",
            "pcaComponents",
            "kinds",
            "featureConfig",
            "kSweep",
        ] {
            assert_eq!(after[same], before[same], "{same} of run {again}");
        }
        assert_eq!(after["nClusters"], suggested, "{after}");
        assert_eq!(after["metrics"]["nClusters"], suggested, "{after}");
        // Now at the suggested count, the run offers no rerun.
        assert_eq!(rerun_form(&app, again).await, None, "run {again}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_whose_worker_went_silent_are_requeued_or_ended() {
    let db = fresh_db().await;
    // Upload with one server, stopped before the runs are planted, so that only the second
    // server's first sweep sees them.
    let uploader = TestApp::start_on(&db, &[]).await;
    let dataset = dataset_of(&uploader, 40).await;
    uploader.stop().await;
    // A run some process claimed: its heartbeat `age` ago (NULL: never), maybe asked to cancel.
    let plant = |age: &str, cancel: bool| {
        let heartbeat = match age {
            "never" => "NULL".to_string(),
            age => format!("now() - interval '{age}'"),
        };
        format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, worker, \
             started_at, heartbeat_at, cancel_requested) VALUES ({dataset}, 'ward', 3, 'running', \
             'gone-host:1', now() - interval '1 hour', {heartbeat}, {cancel}) RETURNING id::text AS v"
        )
    };
    let mut ids = vec![];
    for (age, cancel) in [
        ("1 hour", false),
        ("20 seconds", false),
        ("never", false),
        ("1 hour", true),
        ("5 seconds", false),
        ("5 seconds", true),
    ] {
        ids.push(db.text(&plant(age, cancel)).await.parse::<i64>().unwrap());
    }
    let [old, stale, never, old_cancelling, fresh, fresh_cancelling] = ids[..] else {
        unreachable!()
    };

    let app = TestApp::start_on(&db, &[]).await;
    // Stale and asked to cancel: ended as cancelled, nothing stored.
    app.wait_for_status(old_cancelling, "cancelled", Duration::from_secs(10))
        .await;
    // Heartbeats younger than the 15 s limit: left to their worker, cancel request and all.
    for run in [fresh, fresh_cancelling] {
        let state = db
            .scalar(&format!(
                "SELECT concat_ws(' ', status, worker, cancel_requested, \
                 heartbeat_at > now() - interval '15 seconds') FROM clustering_runs WHERE id = {run}"
            ))
            .await;
        let cancel = if run == fresh_cancelling { "t" } else { "f" };
        assert_eq!(
            state,
            format!("running gone-host:1 {cancel} t"),
            "run {run}"
        );
    }
    // Stale (or never beating): queued again and finished here.
    for run in [old, stale, never] {
        let rest = app.wait_for_run(run).await;
        assert_eq!(rest["status"], "succeeded", "{rest}");
        assert_eq!(
            count(&app, "cluster_assignments", &format!("run_id = {run}")).await,
            40
        );
        let worker = db
            .scalar(&format!(
                "SELECT coalesce(worker, '-') FROM clustering_runs WHERE id = {run}"
            ))
            .await;
        assert_ne!(worker, "gone-host:1", "run {run}");
    }

    let seen = read_run(&app, old_cancelling).await;
    assert_eq!(seen.rest["status"], "cancelled", "{}", seen.rest);
    assert_eq!(seen.gql["status"], "CANCELLED", "{}", seen.gql);
    assert!(
        seen.page.contains("id=\"run-status\">cancelled<"),
        "{}",
        seen.page
    );
    assert!(seen.rest["finished_at"].is_string(), "{}", seen.rest);
    let ended = db
        .scalar(&format!(
            "SELECT (heartbeat_at IS NULL) || ' ' || (SELECT count(*) FROM cluster_assignments \
             WHERE run_id = {old_cancelling}) FROM clustering_runs WHERE id = {old_cancelling}"
        ))
        .await;
    assert_eq!(ended, "true 0");
    app.stop().await;
    db.drop_now().await;
}
