//! Runs above `MAX_EXACT_ROWS` through the server: approximate (micro-clusters, then Ward on
//! them), said so by every interface, with every customer assigned and new customers placed;
//! linkages that cannot take that path are refused before queueing, naming the limit.

mod common;

use common::{TestApp, customers_csv};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_above_the_exact_limit_are_approximate_everywhere() {
    let app = TestApp::start_with(&[("MAX_EXACT_ROWS", "300")]).await;
    let run = app
        .finished_run(900, json!({ "linkage": "ward", "n_clusters": 3 }))
        .await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let id = run["id"].as_i64().unwrap();

    // REST: the approximation in the run's metrics, every customer assigned.
    let approximation = &run["metrics"]["approximation"];
    assert_eq!(approximation["method"], "kmeans_ward", "{run}");
    assert_eq!(approximation["max_exact_rows"], 300);
    let micro = approximation["micro_clusters"].as_u64().unwrap();
    assert!((3..900).contains(&micro), "{micro} micro-clusters");
    let within = approximation["within_share"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&within), "{within}");
    let sizes: u64 = run["metrics"]["cluster_sizes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(sizes, 900);
    let csv = app
        .get_text(&format!("/api/v1/clustering/runs/{id}/assignments.csv"))
        .await;
    assert_eq!(csv.lines().count(), 901);

    // GraphQL says the same.
    let body = app
        .graphql(
            "query($id: ID!) { run(id: $id) { metrics { approximation { method microClusters maxExactRows withinShare } } } }",
            json!({ "id": id.to_string() }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let a = &body["data"]["run"]["metrics"]["approximation"];
    assert_eq!(a["method"], "kmeans_ward");
    assert_eq!(a["microClusters"], micro);
    assert_eq!(a["maxExactRows"], 300);

    // The overview page says so; the dendrogram still draws.
    let (status, _, page) = app.get_page(&format!("/runs/{id}"), false).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"run-approximation\""), "{page}");
    let svg = app
        .get_text(&format!("/api/v1/clustering/runs/{id}/dendrogram.svg"))
        .await;
    assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);

    // New customers are placed with the approximate run's model like any other.
    let part = reqwest::multipart::Part::bytes(customers_csv(50).into_bytes()).file_name("new.csv");
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/clustering/runs/{id}/scorings")))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let scoring: Value = resp.json().await.unwrap();
    assert_eq!(scoring["row_count"], 50, "{scoring}");

    // An exact run on a table within the limit has no approximation at all.
    let small = app
        .finished_run(200, json!({ "linkage": "ward", "n_clusters": 3 }))
        .await;
    assert!(
        small["metrics"].get("approximation").is_none()
            || small["metrics"]["approximation"].is_null(),
        "{small}"
    );

    // Average linkage needs every pair: refused above the limit, before queueing, by name.
    let (status, body) = app
        .train(
            json!({ "dataset_id": run["dataset_id"], "linkage": "average", "n_clusters": 3 }),
            true,
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("300"), "{detail}");
    app.stop().await;
}
