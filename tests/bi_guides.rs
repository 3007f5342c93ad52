//! The BI guides of `docs/bi.md`, request by request, against a real server with both tokens set.
//!
//! The GraphQL queries, Power Query M, URLs and SQL are read from the guide's fenced blocks (by
//! the second word of their info string), so a guide that stops working fails here. What each
//! tool adds to a request is reproduced as that tool sends it: Infinity's `Accept` header, its
//! `{"query", "variables": null}` body and its offset pages; Power Query's `Json.FromValue`
//! body and `List.Generate` loop; GET with a bearer token for Tableau; Superset's SQL as the
//! read-only role. The tools themselves are not run.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{TestApp, customers_csv, json_body};
use diesel::sql_types::{BigInt, Double, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

const FULL: &str = "full-token-for-the-bi-guides";
const READ: &str = "read-token-for-the-bi-guides";

const GUIDE: &str = include_str!("../docs/bi.md");
/// The address the guide's examples use in place of a real server's.
const GUIDE_BASE: &str = "https://segments.example.com";
/// More than two GraphQL pages of 1,000, the last one partial.
const ROWS: usize = 2_345;

/// The fenced block of the guide named `name` (```` ```lang name ````), without its fences and
/// the indentation it has inside a list item.
fn block(name: &str) -> String {
    let mut lines = GUIDE.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            continue;
        };
        if info.split_whitespace().nth(1) != Some(name) {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim_start() != "```")
            .map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()))
            .collect();
        return body.join("\n");
    }
    panic!("docs/bi.md has no block named `{name}`");
}

/// The text of the M string literal after `name = ` in Power Query code (`""` is a quote).
fn m_string(code: &str, name: &str) -> String {
    let start = code
        .find(&format!("{name} = \""))
        .unwrap_or_else(|| panic!("no `{name} = \"...\"` in:\n{code}"))
        + name.len()
        + 4;
    let mut out = String::new();
    let mut chars = code[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                chars.next();
            } else {
                return out;
            }
        }
        out.push(c);
    }
    panic!("unterminated M string `{name}`");
}

/// The run every guide reads: dataset 1 and run 1, as the guide's examples say, made with the
/// full token.
async fn start() -> TestApp {
    let app = TestApp::start_with(&[("API_TOKEN", FULL), ("API_READ_TOKEN", READ)]).await;
    let part =
        reqwest::multipart::Part::bytes(customers_csv(ROWS).into_bytes()).file_name("shoppers.csv");
    let dataset: Value = json_body(
        app.client
            .post(app.url("/api/v1/datasets/upload"))
            .bearer_auth(FULL)
            .multipart(reqwest::multipart::Form::new().part("file", part)),
    )
    .await;
    assert_eq!(
        dataset["id"], 1,
        "the guide's examples read dataset 1: {dataset}"
    );
    let run: Value = json_body(
        app.client
            .post(app.url("/api/v1/clustering/train"))
            .bearer_auth(FULL)
            .json(&json!({ "dataset_id": 1, "linkage": "ward", "n_clusters": 4 })),
    )
    .await;
    assert_eq!(run["id"], 1, "the guide's examples read run 1: {run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    app
}

/// Each segment's size, as GraphQL reports it (the reference the other answers must match).
async fn segment_sizes(app: &TestApp) -> BTreeMap<i64, i64> {
    let body: Value = json_body(
        app.client
            .post(app.url("/graphql"))
            .bearer_auth(READ)
            .json(&json!({ "query": r#"{ run(id: "1") { segments { segment size } } }"# })),
    )
    .await;
    let sizes: BTreeMap<i64, i64> = body["data"]["run"]["segments"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| (s["segment"].as_i64().unwrap(), s["size"].as_i64().unwrap()))
        .collect();
    assert_eq!(sizes.values().sum::<i64>(), ROWS as i64);
    sizes
}

/// A GraphQL request as Infinity's GraphQL type sends it: POST, its `Accept`, and a body whose
/// `variables` is `null` when its variables box is empty.
async fn infinity_graphql(app: &TestApp, query: &str, variables: Value) -> Value {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header(AUTHORIZATION, format!("Bearer {READ}"))
        .header(ACCEPT, "application/json;q=0.9,text/plain")
        .header(CONTENT_TYPE, "application/json")
        .body(json!({ "query": query, "variables": variables }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// A dotted column selector (`payload.region`) looked up in a row.
fn select<'a>(row: &'a Value, selector: &str) -> &'a Value {
    selector.split('.').fold(row, |v, key| &v[key])
}

/// Grafana's GraphQL panels: the segments query, one segment's page of customers, the count
/// that goes next to a capped table, and the refusal the guide gives as the reason not to use
/// Infinity's cursor mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_graphql_panels_answer_as_the_guide_says() {
    let app = start().await;
    let sizes = segment_sizes(&app).await;

    let body = infinity_graphql(&app, &block("grafana-segments"), Value::Null).await;
    assert!(body["errors"].is_null(), "{body}");
    let segments = body["data"]["run"]["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 4, "{body}");
    for (segment, size) in &sizes {
        let row = segments.iter().find(|s| s["segment"] == *segment).unwrap();
        assert_eq!(row["size"], *size, "{row}");
        for column in ["name", "share", "silhouette"] {
            assert!(!row[column].is_null(), "column {column} is empty: {row}");
        }
    }

    // "segment 2's numeric traits": segment 2 exists and has some.
    assert!(GUIDE.contains("data.run.segments.#(segment==2).numeric"));
    let profile = block("grafana-segments").replace(
        "segments { segment name size share silhouette }",
        "segments { segment numeric { feature mean z } }",
    );
    let body = infinity_graphql(&app, &profile, Value::Null).await;
    let two = body["data"]["run"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["segment"] == 2)
        .unwrap_or_else(|| panic!("{body}"));
    assert!(!two["numeric"].as_array().unwrap().is_empty(), "{two}");

    let body = infinity_graphql(&app, &block("grafana-assignments"), Value::Null).await;
    let page = &body["data"]["assignments"];
    let size = sizes[&2];
    assert_eq!(page["totalCount"], size, "{body}");
    let nodes = page["nodes"].as_array().unwrap();
    assert_eq!(nodes.len() as i64, size.min(1000));
    assert_eq!(page["pageInfo"]["hasNextPage"], size > 1000);
    assert!(nodes.iter().all(|n| n["cluster"] == 2));
    assert!(nodes.iter().all(|n| n["payload"]["region"].is_string()));

    let count = r#"{ assignments(runId: "1", first: 0) { totalCount } }"#;
    assert!(GUIDE.contains(&format!("`{count}`")));
    let body = infinity_graphql(&app, count, Value::Null).await;
    assert_eq!(body["data"]["assignments"]["totalCount"], ROWS, "{body}");

    // Infinity's cursor mode sends its first request before it has a cursor, with the
    // placeholder still in the body; the guide quotes the answer.
    let refusal = "`${__pagination.after}` is not a cursor from this list";
    assert!(GUIDE.contains(refusal));
    let body = infinity_graphql(
        &app,
        r#"query($after: String) { assignments(runId: "1", first: 1000, after: $after) { pageInfo { endCursor } nodes { rowIndex } } }"#,
        json!({ "after": "${__pagination.after}" }),
    )
    .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains(refusal),
        "{body}"
    );
    app.stop().await;
}

/// Grafana's every-customer panel: the guide's Infinity query JSON, paged as Infinity 3.11's
/// offset mode does (`Max pages` requests of `limit` rows at `offset` initial + (page - 1) *
/// size, merged), collects every customer once, with the columns it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafana_offset_pages_collect_every_customer() {
    let app = start().await;
    let query: Value = serde_json::from_str(&block("grafana-rows-query")).unwrap();
    assert_eq!(query["type"], "json", "Infinity pages only JSON queries");
    assert_eq!(query["pagination_mode"], "offset");
    assert_eq!(query["url_options"]["method"], "GET");
    let max_pages = query["pagination_max_pages"].as_u64().unwrap();
    let size = query["pagination_param_size_value"].as_u64().unwrap();
    let initial = query["pagination_param_offset_value"].as_u64().unwrap();
    for field in ["size", "offset"] {
        assert_eq!(
            query[format!("pagination_param_{field}_field_type")],
            "query"
        );
    }
    let size_name = query["pagination_param_size_field_name"].as_str().unwrap();
    let offset_name = query["pagination_param_offset_field_name"]
        .as_str()
        .unwrap();
    assert_eq!(max_pages, 5, "the guide's page cap is Infinity's default");
    assert!(GUIDE.contains("**5,000 customers by default**"));
    assert!(
        max_pages * size >= ROWS as u64,
        "this run fits under the cap"
    );

    let mut rows = Vec::new();
    let mut requests = 0;
    for page in 1..=max_pages {
        let offset = initial + (page - 1) * size;
        let resp = app
            .client
            .get(app.url(query["url"].as_str().unwrap()))
            .query(&[(size_name, size), (offset_name, offset)])
            .header(AUTHORIZATION, format!("Bearer {READ}"))
            .header(ACCEPT, "application/json;q=0.9,text/plain")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let page: Vec<Value> = resp.json().await.unwrap();
        assert!(page.len() as u64 <= size);
        requests += 1;
        rows.extend(page);
    }
    assert_eq!(requests, max_pages);
    assert_eq!(rows.len(), ROWS);
    let indexes: BTreeSet<i64> = rows
        .iter()
        .map(|r| r["row_index"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes, (0..ROWS as i64).collect(), "each customer once");
    for column in query["columns"].as_array().unwrap() {
        let selector = column["selector"].as_str().unwrap();
        let kind = column["type"].as_str().unwrap();
        for row in &rows {
            let value = select(row, selector);
            let fits = match kind {
                "number" => value.is_number(),
                "string" => value.is_string(),
                other => panic!("a column type the guide does not use: {other}"),
            };
            assert!(fits, "{selector} is not a {kind} in {row}");
        }
    }
    app.stop().await;
}

/// Power BI: the guide's M query pages GraphQL with `List.Generate` until `hasNextPage` is
/// false and gets every customer once; the CSV query gets them all in one GET. Both send the
/// token in the header the guide sets, and without it are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_bi_queries_get_every_customer() {
    let app = start().await;
    let code = block("powerbi-graphql");
    let base = m_string(&code, "Base");
    assert_eq!(
        base,
        format!("{GUIDE_BASE}/"),
        "a fixed base for scheduled refresh"
    );
    let path = m_string(&code, "RelativePath");
    let query = m_string(&code, "Query");
    for piece in [
        "Authorization = \"Bearer \" & SegmentIQReadToken",
        "#\"Content-Type\" = \"application/json\"",
        "variables = [run = \"1\", after = after]",
        "() => Page(null)",
        "each if _[pageInfo][hasNextPage] then Page(_[pageInfo][endCursor]) else null",
    ] {
        assert!(code.contains(piece), "the M query no longer has `{piece}`");
    }
    // `Page(after)`: the body `Json.FromValue` makes of the record.
    let page = |after: Value| {
        let body = json!({ "query": query, "variables": { "run": "1", "after": after } });
        app.client
            .post(format!("{}/{path}", app.base))
            .header(AUTHORIZATION, format!("Bearer {READ}"))
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
    };
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    let mut requests = 0;
    loop {
        let resp = page(after).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        let assignments = &body["data"]["assignments"];
        requests += 1;
        nodes.extend(assignments["nodes"].as_array().unwrap().iter().cloned());
        if assignments["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = assignments["pageInfo"]["endCursor"].clone();
        assert!(requests < 10, "the loop does not end");
    }
    assert_eq!(requests, ROWS.div_ceil(1000));
    assert_eq!(nodes.len(), ROWS);
    let indexes: BTreeSet<i64> = nodes
        .iter()
        .map(|n| n["rowIndex"].as_i64().unwrap())
        .collect();
    assert_eq!(indexes.len(), ROWS, "each customer once");
    // `Record.FieldNames(Nodes{0}[payload])` expands the uploaded columns.
    let fields: Vec<&String> = nodes[0]["payload"].as_object().unwrap().keys().collect();
    assert_eq!(fields.len(), 6, "{fields:?}");

    let code = block("powerbi-csv");
    assert_eq!(m_string(&code, "Base"), base);
    assert!(code.contains("Headers = [Authorization = \"Bearer \" & SegmentIQReadToken]"));
    let csv_url = format!("{}/{}", app.base, m_string(&code, "RelativePath"));
    let resp = app
        .client
        .get(&csv_url)
        .header(AUTHORIZATION, format!("Bearer {READ}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "row_index,cluster,segment_name,customer_id,age,gender,region,total_spend,visit_frequency"
        )
    );
    assert_eq!(lines.count(), ROWS);

    // The header is what lets either query in.
    let anonymous = app.client.get(&csv_url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous = app
        .client
        .post(format!("{}/{path}", app.base))
        .json(&json!({ "query": query, "variables": { "run": "1", "after": null } }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

/// Tableau: every URL of the guide answers a GET with the read token; the GraphQL URL is the
/// guide's query, revalidates with its `ETag` (304, no body) and the REST URLs carry none, as
/// the guide says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tableau_get_urls_answer_and_revalidate() {
    let app = start().await;
    let sizes = segment_sizes(&app).await;
    let urls: Vec<String> = block("tableau-urls")
        .lines()
        .map(|u| {
            let path = u.strip_prefix(GUIDE_BASE).unwrap_or_else(|| panic!("{u}"));
            app.url(path)
        })
        .collect();
    assert_eq!(urls.len(), 3);
    let get = |url: &str| {
        app.client
            .get(url)
            .header(AUTHORIZATION, format!("Bearer {READ}"))
    };

    let resp = get(&urls[0]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key(ETAG));
    assert_eq!(resp.text().await.unwrap().lines().count(), ROWS + 1);
    let one = get(&format!("{}?cluster=2", urls[0])).send().await.unwrap();
    assert_eq!(
        one.text().await.unwrap().lines().count() as i64,
        sizes[&2] + 1
    );

    let resp = get(&urls[1]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!resp.headers().contains_key(ETAG));
    let rows: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(rows.len(), ROWS);
    for key in ["run_id", "row_index", "cluster_label", "payload"] {
        assert!(rows[0].get(key).is_some(), "{key} missing: {}", rows[0]);
    }

    let graphql = url::Url::parse(&urls[2]).unwrap();
    let (_, query) = graphql
        .query_pairs()
        .find(|(k, _)| k == "query")
        .expect("the GraphQL URL has a query");
    assert_eq!(
        query,
        block("tableau-segments").trim(),
        "the URL is the query shown"
    );
    let resp = get(&urls[2]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let etag = resp.headers()[ETAG].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    let got: BTreeMap<i64, i64> = body["data"]["run"]["segments"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|s| (s["segment"].as_i64().unwrap(), s["size"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, sizes);
    let again = get(&urls[2])
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    app.stop().await;
}

#[derive(diesel::QueryableByName, Debug)]
struct SegmentSize {
    #[diesel(sql_type = BigInt)]
    run_id: i64,
    #[diesel(sql_type = Text)]
    dataset: String,
    #[diesel(sql_type = Integer)]
    segment: i32,
    #[diesel(sql_type = BigInt)]
    customers: i64,
}

#[derive(diesel::QueryableByName, Debug)]
struct RegionMix {
    #[diesel(sql_type = Integer)]
    segment: i32,
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = BigInt)]
    customers: i64,
    #[diesel(sql_type = Double)]
    avg_spend: f64,
}

/// Superset: the guide's SQL, run by the database's owner, makes a role that signs in with the
/// guide's URI, gets each run's segment sizes and a payload field from the view, and can
/// neither read the uploaded files nor change anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superset_role_reads_results_and_nothing_else() {
    let app = start().await;
    let sizes = segment_sizes(&app).await;
    // Roles belong to the whole server: one per test process, so runs side by side do not meet.
    let role = format!("segmentiq_bi_{}", std::process::id());
    let guide_sql = block("superset-role");
    let sql = guide_sql.replace("segmentiq_bi", &role).replace(
        "ON DATABASE segmentiq TO",
        &format!("ON DATABASE {} TO", app.db.name),
    );
    assert!(
        sql.contains(&format!("ON DATABASE {} TO {role}", app.db.name)),
        "{sql}"
    );

    let uri = url::Url::parse(&block("superset-uri")).unwrap();
    assert_eq!(uri.scheme(), "postgresql");
    assert_eq!(uri.username(), "segmentiq_bi");
    assert_eq!(uri.path(), "/segmentiq");
    let password = uri.password().unwrap();
    assert!(guide_sql.contains(&format!("LOGIN PASSWORD '{password}'")));

    let mut owner = AsyncPgConnection::establish(&app.db.url).await.unwrap();
    let _ = owner
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .await;
    // A hardened server, where PUBLIC may neither connect nor use the schema, so that the
    // guide's CONNECT and USAGE grants are what let the role in.
    owner
        .batch_execute(&format!(
            "REVOKE CONNECT ON DATABASE {} FROM PUBLIC; REVOKE ALL ON SCHEMA public FROM PUBLIC",
            app.db.name
        ))
        .await
        .unwrap();
    owner.batch_execute(&sql).await.unwrap();
    drop(owner);

    // The guide's URI with this server's host and database.
    let mut as_role = url::Url::parse(&common::server_url()).unwrap();
    as_role.set_username(&role).unwrap();
    as_role.set_password(Some(password)).unwrap();
    as_role.set_path(&app.db.name);
    let mut bi = AsyncPgConnection::establish(as_role.as_str())
        .await
        .unwrap();

    let rows: Vec<SegmentSize> = diesel::sql_query(block("superset-segment-sizes"))
        .load(&mut bi)
        .await
        .unwrap();
    let got: BTreeMap<i64, i64> = rows
        .iter()
        .map(|r| (i64::from(r.segment), r.customers))
        .collect();
    assert_eq!(got, sizes, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.run_id == 1 && r.dataset == "shoppers"),
        "{rows:?}"
    );

    let mix: Vec<RegionMix> = diesel::sql_query(format!(
        "SELECT segment, region, customers, avg_spend::float8 AS avg_spend FROM ({}) chart",
        block("superset-region-mix")
    ))
    .load(&mut bi)
    .await
    .unwrap();
    assert_eq!(mix.iter().map(|m| m.customers).sum::<i64>(), ROWS as i64);
    let regions: BTreeSet<&str> = mix.iter().map(|m| m.region.as_str()).collect();
    assert_eq!(
        regions,
        BTreeSet::from(["Addis Ababa", "Amhara", "Oromia", "Tigray"])
    );
    for m in &mix {
        assert!(sizes.contains_key(&i64::from(m.segment)), "{m:?}");
        assert!(m.avg_spend > 2000.0, "{m:?}");
    }

    let readable = ["SELECT id, name, filename, row_count FROM datasets"];
    for statement in readable {
        bi.batch_execute(statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let refused = [
        "SELECT raw_file FROM datasets",
        "SELECT * FROM datasets",
        "SELECT * FROM dataset_rows",
        "SELECT * FROM cluster_assignments",
        "SELECT linkage_matrix FROM clustering_runs",
        "INSERT INTO datasets (name, filename, byte_size, row_count, columns, raw_file) \
         VALUES ('x', 'x.csv', 0, 0, '[]', '')",
        "UPDATE clustering_runs SET status = 'failed'",
        "DELETE FROM cluster_assignments",
        "DELETE FROM datasets",
        "CREATE TABLE public.scratch (a int)",
    ];
    for statement in refused {
        let error = bi
            .batch_execute(statement)
            .await
            .expect_err(statement)
            .to_string();
        assert!(error.contains("permission denied"), "{statement}: {error}");
    }
    drop(bi);

    let still = app
        .db
        .scalar("SELECT count(*) FROM cluster_assignments")
        .await;
    assert_eq!(still, ROWS.to_string());
    app.stop().await;
    let mut admin = common::admin().await;
    diesel::sql_query(format!("DROP ROLE {role}"))
        .execute(&mut admin)
        .await
        .unwrap();
}
