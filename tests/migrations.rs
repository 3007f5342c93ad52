//! Migrations go down and up again cleanly, and the database is created when missing.

mod common;

use diesel_migrations::MigrationHarness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_revert_and_reapply() {
    let db = common::fresh_db().await;
    let pool = segmentiq::db::pool(&db.url, 1).unwrap();
    let conn = pool.get().await.unwrap();
    let mut harness = diesel_async::AsyncMigrationHarness::new(conn);
    let reverted = harness
        .revert_all_migrations(segmentiq::db::MIGRATIONS)
        .unwrap();
    assert!(!reverted.is_empty());
    drop(harness);
    assert_eq!(
        db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'").await,
        "0",
        "down.sql leaves nothing behind"
    );
    segmentiq::db::migrate(&pool).await.unwrap();
    assert_eq!(db.scalar("SELECT count(*) FROM information_schema.views WHERE table_name = 'cluster_assignments_v'").await, "1");
    pool.close();
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_created_and_migrated() {
    let name = format!("segmentiq_test_create_{}", std::process::id());
    let url = format!("{}/{name}", common::server_url());
    let config =
        segmentiq::config::Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone()))
            .unwrap();
    let pool = segmentiq::server::prepare(&config).await.unwrap();
    // Twice is fine: start-up on an existing, migrated database.
    segmentiq::server::prepare(&config).await.unwrap();
    pool.close();
    let db = common::TestDb { name, url };
    assert_eq!(db.scalar("SELECT count(*) FROM datasets").await, "0");
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_one_clear_sentence() {
    let config = segmentiq::config::Config::from_lookup(|k| {
        (k == "DATABASE_URL").then(|| "postgres://nobody@127.0.0.1:1/segmentiq".to_string())
    })
    .unwrap();
    let err = format!(
        "{:#}",
        match segmentiq::server::prepare(&config).await {
            Ok(_) => panic!("an unreachable database must stop start-up"),
            Err(e) => e,
        }
    );
    assert!(
        err.starts_with("cannot reach PostgreSQL at postgres://nobody@127.0.0.1:1/segmentiq"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

/// Each closed set of names a run stores is listed once in Rust and once in a `CHECK`
/// constraint: the two lists are the same, so every value one side accepts the other does too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_constraints_list_the_names_the_code_knows() {
    use segmentiq::db::runs::RunStatus;
    use segmentiq::db::text::Name;
    use segmentiq::engine::{Method, Metric, Stage};

    fn names<T: Name>() -> Vec<String> {
        T::ALL.iter().map(|v| v.name().to_string()).collect()
    }
    let db = common::fresh_db().await;
    for (column, expected) in [
        ("status", names::<RunStatus>()),
        ("linkage", names::<Method>()),
        ("metric", names::<Metric>()),
        ("stage", names::<Stage>()),
    ] {
        let definition = db
            .scalar(&format!(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE conrelid = 'clustering_runs'::regclass \
                   AND conname = 'clustering_runs_{column}_check'"
            ))
            .await;
        // PostgreSQL prints `IN (...)` as `= ANY (ARRAY['a'::text, 'b'::text])`.
        let listed: Vec<String> = definition
            .split('\'')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert_eq!(listed, expected, "{column}: {definition}");
    }
    db.drop_now().await;
}
