//! Runs stored by earlier versions read back through every interface: the fixtures in
//! `tests/fixtures/runs/` hold a finished run's documents as each version stored them
//! (`src/db/stored.rs` says which fields came when).

mod common;

use common::TestApp;
use serde_json::{Value, json};

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/sample_data/ethiopian_supermarket_customers.csv"
);

/// Stores the fixture's run over `dataset` as a succeeded run, as the version that wrote it did.
async fn store(app: &TestApp, dataset: i64, fixture: &Value) -> i64 {
    let run = &fixture["run"];
    let quote = |v: &Value| v.to_string().replace('\'', "''");
    app.db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, metric, n_clusters, params, \
             feature_config, metrics, profiles, k_sweep, status, progress, started_at, \
             finished_at) VALUES ({dataset}, {linkage}, {metric}, {k}, '{params}', \
             '{feature_config}', '{metrics}', '{profiles}', '{k_sweep}', 'succeeded', 1, now(), \
             now()) RETURNING id::text AS v",
            linkage = run["linkage"].to_string().replace('"', "'"),
            metric = run["metric"].to_string().replace('"', "'"),
            k = run["n_clusters"],
            params = quote(&run["params"]),
            feature_config = quote(&fixture["feature_config"]),
            metrics = quote(&fixture["metrics"]),
            profiles = quote(&fixture["profiles"]),
            k_sweep = quote(&fixture["k_sweep"]),
        ))
        .await
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_stored_by_earlier_versions_read_back_everywhere() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload("customers.csv", &std::fs::read(SAMPLE).unwrap())
        .await;
    assert_eq!(status, 201, "{dataset}");
    let dataset = dataset["id"].as_i64().unwrap();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/runs");
    let mut fixtures: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 2, "{fixtures:?}");
    for path in fixtures {
        let fixture: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let id = store(&app, dataset, &fixture).await;
        let said = format!("{} (stored by {})", path.display(), fixture["stored_by"]);
        let names: Vec<&Value> = fixture["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["name"])
            .collect();

        let rest: Value = app.get_json(&format!("/api/v1/clustering/runs/{id}")).await;
        assert!(rest["damage"].is_null(), "{said}: {rest}");
        assert_eq!(
            rest["metrics"]["silhouette_score"], fixture["metrics"]["silhouette_score"],
            "{said}"
        );
        assert_eq!(
            rest["metrics"]["cluster_sizes"]["0"],
            fixture["metrics"]["cluster_sizes"][0]
        );
        assert_eq!(rest["feature_config"], fixture["feature_config"], "{said}");
        assert_eq!(
            rest["k_sweep"]["suggested_k"],
            fixture["k_sweep"]["suggested_k"]
        );
        // Fields added after the run was stored read with their defaults.
        assert!(
            rest["profiles"][0]["numeric"][0]["missing"].is_u64(),
            "{said}"
        );

        let body = app
            .graphql(
                "query($id: ID!) { run(id: $id) { status damage metrics { silhouetteScore copheneticCorrelation } kSweep { suggestedK } segments { name size numeric { feature missing } } } }",
                json!({ "id": id.to_string() }),
            )
            .await;
        assert!(body["errors"].is_null(), "{said}: {body}");
        let run = &body["data"]["run"];
        assert_eq!(run["status"], "SUCCEEDED");
        assert!(run["damage"].is_null(), "{said}: {run}");
        assert_eq!(
            run["metrics"]["silhouetteScore"], fixture["metrics"]["silhouette_score"],
            "{said}"
        );
        let gql_names: Vec<&Value> = run["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["name"])
            .collect();
        assert_eq!(gql_names, names, "{said}");

        let suggested = format!(r#"id="suggested-k">{}<"#, fixture["k_sweep"]["suggested_k"]);
        for (tab, shows) in [
            ("", names[0].as_str().unwrap()),
            ("/segments", names[0].as_str().unwrap()),
            ("/quality", suggested.as_str()),
        ] {
            let page = app.get_text(&format!("/runs/{id}{tab}")).await;
            assert!(
                page.contains(shows),
                "{said}: /runs/{id}{tab} shows {shows}"
            );
            assert!(!page.contains("cannot be read"), "{said}: /runs/{id}{tab}");
        }
    }
    app.stop().await;
}
