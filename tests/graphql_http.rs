//! GraphQL over HTTP as its specification asks, and Apollo's automatic persisted queries, over
//! real HTTP against a real database: queries over GET with `ETag`s, mutations over GET refused
//! with 405, `Accept` choosing the media type and with it the status codes.

mod common;

use common::{TestApp, customers_csv, json_body};
use reqwest::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn content_type(resp: &reqwest::Response) -> &str {
    resp.headers()[CONTENT_TYPE].to_str().unwrap()
}

/// Queries run over GET with `operationName` and `variables`; the answer carries an `ETag`, and
/// asking again with it is `304` until the data changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_run_over_get_and_revalidate_with_etags() {
    let app = TestApp::start().await;
    app.upload("customers.csv", customers_csv(30).as_bytes())
        .await;
    let query = "query Other { datasets { totalCount } } \
                 query Named($first: Int) { datasets(first: $first) { totalCount nodes { name rowCount } } }";
    let get = || {
        app.client.get(app.url("/graphql")).query(&[
            ("query", query),
            ("operationName", "Named"),
            ("variables", r#"{"first": 5}"#),
        ])
    };
    let resp = get().send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(content_type(&resp), "application/json");
    assert_eq!(resp.headers()[CACHE_CONTROL], "private, no-cache");
    let etag = resp.headers()[ETAG].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["datasets"]["totalCount"], 1, "{body}");
    assert_eq!(
        body["data"]["datasets"]["nodes"][0]["rowCount"], 30,
        "{body}"
    );

    let again = get().header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());

    // New data, new tag: the same request with the old tag gets the whole answer.
    app.upload("more.csv", customers_csv(10).as_bytes()).await;
    let changed = get().header(IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()[ETAG].to_str().unwrap(), etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(body["data"]["datasets"]["totalCount"], 2, "{body}");

    // Without a query, a browser gets GraphiQL.
    let page = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert!(content_type(&page).starts_with("text/html"));
    app.stop().await;
}

/// Mutations and subscriptions over GET are refused with 405 and `Allow`, and nothing changes;
/// bad parameters are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_refuses_changes_and_names_bad_parameters() {
    let app = TestApp::start().await;
    app.upload("customers.csv", customers_csv(30).as_bytes())
        .await;
    for (query, says) in [
        (
            r#"mutation { deleteDataset(id: "1") }"#,
            "mutations are not accepted over GET: send it with POST",
        ),
        (
            r#"subscription { runProgress(runId: "1") { status } }"#,
            "subscriptions are not accepted over GET",
        ),
    ] {
        for accept in ["application/json", GRAPHQL_RESPONSE] {
            let resp = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", query)])
                .header(ACCEPT, accept)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 405, "{query} {accept}");
            assert_eq!(resp.headers()[ALLOW], "GET, POST");
            assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(
                body["errors"][0]["extensions"]["code"],
                "METHOD_NOT_ALLOWED"
            );
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(says),
                "{body}"
            );
        }
    }
    let still: Value = app.get_json("/api/v1/datasets").await;
    assert_eq!(still.as_array().unwrap().len(), 1, "{still}");

    for (params, says) in [
        (
            vec![
                ("query", "{ datasets { totalCount } }"),
                ("variables", "{oops"),
            ],
            "the `variables` parameter is not JSON",
        ),
        (
            vec![("query", "{ a }"), ("query", "{ b }")],
            "the `query` parameter is given twice",
        ),
        (
            vec![("query", "")],
            "GET /graphql needs a `query` parameter",
        ),
    ] {
        let resp = app
            .client
            .get(app.url("/graphql"))
            .query(&params)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{params:?}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{body}"
        );
    }
    app.stop().await;
}

/// `Accept` chooses the media type; with `application/graphql-response+json` a request that
/// never ran is 400 and one that ran is 200 even with field errors, while `application/json`
/// answers 200 as older clients expect. An `Accept` naming neither is 406.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_chooses_media_type_and_status() {
    let app = TestApp::start().await;
    let post = |query: &str, accept: &str| {
        app.client
            .post(app.url("/graphql"))
            .header(ACCEPT, accept)
            .json(&json!({ "query": query }))
            .send()
    };
    let cases = [
        // (query, status with graphql-response+json, code)
        ("{ datasets { totalCount } }", 200, None),
        (r#"{ run(id: "999") { id } }"#, 200, Some("NOT_FOUND")),
        ("{ datasets { totalCount ", 400, Some("BAD_USER_INPUT")),
        ("{ noSuchField }", 400, Some("BAD_USER_INPUT")),
        (
            "query($n: Int!) { datasets(first: $n) { totalCount } }",
            400,
            Some("BAD_USER_INPUT"),
        ),
    ];
    for (query, status, code) in cases {
        let resp = post(query, GRAPHQL_RESPONSE).await.unwrap();
        assert_eq!(resp.status(), status, "{query}");
        assert_eq!(content_type(&resp), GRAPHQL_RESPONSE);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"].as_str(),
            code,
            "{query}: {body}"
        );

        let legacy = post(query, "application/json").await.unwrap();
        assert_eq!(legacy.status(), 200, "{query}");
        assert_eq!(content_type(&legacy), "application/json");
    }
    let preferred = post(
        "{ datasets { totalCount } }",
        "application/json;q=0.9, application/graphql-response+json",
    )
    .await
    .unwrap();
    assert_eq!(content_type(&preferred), GRAPHQL_RESPONSE);

    let refused = post("{ datasets { totalCount } }", "text/html")
        .await
        .unwrap();
    assert_eq!(refused.status(), 406);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("ask for `application/json` or `application/graphql-response+json`"),
        "{body}"
    );

    // A body that is not a GraphQL request at all is 400 in either media type.
    let garbage = app
        .client
        .post(app.url("/graphql"))
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    app.stop().await;
}

/// Scripts sending a GET query without credentials are told so (401 in GraphQL's shape), not
/// sent to the sign-in page; with a token the same URL answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_queries_need_a_token_like_post() {
    let app = TestApp::start_with(&[
        ("API_TOKEN", "full-secret"),
        ("API_READ_TOKEN", "read-secret"),
    ])
    .await;
    let get = || {
        app.client
            .get(app.url("/graphql"))
            .query(&[("query", "{ datasets { totalCount } }")])
    };
    let resp = get().send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let body: Value = json_body(get().bearer_auth("read-secret")).await;
    assert_eq!(body["data"]["datasets"]["totalCount"], 0, "{body}");
    app.stop().await;
}

/// Apollo's automatic persisted queries, over POST and GET: the hash alone is unknown at first
/// (`PersistedQueryNotFound`), query and hash register it, then the hash alone runs it; a hash
/// that is not the query's is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_queries_follow_apollos_protocol() {
    let app = TestApp::start().await;
    app.upload("customers.csv", customers_csv(30).as_bytes())
        .await;
    let query = "query Count { datasets { totalCount } }";
    // `printf 'query Count { datasets { totalCount } }' | sha256sum`
    let hash = "1c16aacc153c24d676ac717f5006998c5ab7b3eb1e5829fe15b7bd038203efb6";
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| json_body::<Value>(app.client.post(app.url("/graphql")).json(&body));

    let unknown = post(json!({ "extensions": extensions })).await;
    assert_eq!(
        unknown["errors"][0]["message"], "PersistedQueryNotFound",
        "{unknown}"
    );
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"],
        "PERSISTED_QUERY_NOT_FOUND"
    );
    let registered = post(json!({ "query": query, "extensions": extensions })).await;
    assert_eq!(
        registered["data"]["datasets"]["totalCount"], 1,
        "{registered}"
    );
    let short = post(json!({ "extensions": extensions })).await;
    assert_eq!(short["data"]["datasets"]["totalCount"], 1, "{short}");

    // The same over GET: the URL holds only the hash.
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", extensions.to_string())])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key(ETAG));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["datasets"]["totalCount"], 1, "{body}");

    // A hash not seen before is "not found" with 200 even in graphql-response+json, and is not
    // to be cached.
    let other = json!({ "persistedQuery": { "version": 1, "sha256Hash": "ab".repeat(32) } });
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("extensions", other.to_string())])
        .header(ACCEPT, GRAPHQL_RESPONSE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CACHE_CONTROL], "no-store");

    for (body, says) in [
        (
            json!({ "query": "{ datasets { totalCount } }", "extensions": extensions }),
            "is not the SHA-256 of `query`",
        ),
        (
            json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } }),
            "version 2 is not supported",
        ),
        (
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "xyz" } } }),
            "must be {\"version\": 1",
        ),
    ] {
        let answer = post(body).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{answer}"
        );
    }
    app.stop().await;
}
