//! The HTML pages over real HTTP against a real PostgreSQL: full pages and htmx partials, error
//! pages, inline upload and form errors, and the progress stream. The browser test
//! (`scripts/browser-test.sh`) covers what only a browser can show.

mod common;

use std::time::Duration;

use common::{TestApp, customers_csv, hx_location};
use futures::StreamExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_full_on_load_and_partial_for_htmx() {
    let app = TestApp::start().await;
    let (status, dataset) = app
        .upload("shoppers.csv", customers_csv(40).as_bytes())
        .await;
    assert_eq!(status, 201, "{dataset}");
    let id = dataset["id"].as_i64().unwrap();

    let (status, headers, full) = app.get_page("/", false).await;
    assert_eq!(status, 200);
    assert!(full.starts_with("<!doctype html>"), "{full}");
    assert!(
        full.contains("shoppers"),
        "the list does not show the dataset"
    );
    assert!(headers["vary"].to_str().unwrap().contains("HX-Request"));

    let (status, _, partial) = app.get_page("/", true).await;
    assert_eq!(status, 200);
    assert!(
        partial.starts_with("<title>Datasets · SegmentIQ</title>"),
        "{partial}"
    );
    assert!(
        !partial.contains("<html"),
        "an htmx answer must not be a whole page"
    );
    assert!(partial.contains("shoppers"));

    // Back/forward after htmx's history cache was evicted replaces the whole body.
    let restore = app
        .client
        .get(app.url(&format!("/datasets/{id}")))
        .header("HX-Request", "true")
        .header("HX-History-Restore-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(restore.starts_with("<!doctype html>"));

    let (status, _, page) = app.get_page(&format!("/datasets/{id}"), true).await;
    assert_eq!(status, 200);
    for part in [
        "id=\"columns-table\"",
        "id=\"preview-table\"",
        "id=\"run-form\"",
        "role=\"tooltip\"",
    ] {
        assert!(page.contains(part), "the dataset page lacks {part}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_addresses_are_not_found_pages() {
    let app = TestApp::start().await;
    for path in [
        "/datasets/4242",
        "/datasets/abc",
        "/runs/4242",
        "/runs/4242/segments",
        "/runs/4242/report",
        "/runs/abc/report",
        "/no/such/page",
    ] {
        let (status, headers, body) = app.get_page(path, false).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(body.contains("id=\"error-page\""), "{path}: {body}");
    }
    let (status, _, body) = app.get_page("/datasets/4242", true).await;
    assert_eq!(status, 404);
    assert!(body.contains("Dataset 4242 not found."), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_errors_stay_inline_and_success_opens_the_dataset() {
    let app = TestApp::start().await;
    let broken = "customer_id,age,region\n1,34,Oromia\n2,51,Amhara\n3,28,Tigray,extra\n";
    let resp = app.upload_page("broken.csv", broken.as_bytes(), true).await;
    assert_eq!(resp.status().as_u16(), 422);
    let body = resp.text().await.unwrap();
    assert!(
        body.starts_with("<form id=\"upload-zone\""),
        "only the zone is sent back: {body}"
    );
    assert!(body.contains("id=\"upload-error\""), "{body}");
    assert!(body.contains("line 4"), "the error names the line: {body}");

    // Without JavaScript the whole page comes back, with the error in place.
    let resp = app
        .upload_page("broken.csv", broken.as_bytes(), false)
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let body = resp.text().await.unwrap();
    assert!(
        body.starts_with("<!doctype html>") && body.contains("line 4"),
        "{body}"
    );

    let resp = app
        .upload_page("good.csv", customers_csv(30).as_bytes(), true)
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let path = hx_location(&resp);
    assert!(path.starts_with("/datasets/"), "{path}");
    let resp = app
        .upload_page("good.csv", customers_csv(30).as_bytes(), false)
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_large_uploads_are_refused_inline() {
    let app = TestApp::start_with(&[("MAX_UPLOAD_BYTES", "2000")]).await;
    let resp = app
        .upload_page("big.csv", customers_csv(200).as_bytes(), true)
        .await;
    assert_eq!(resp.status().as_u16(), 413);
    let body = resp.text().await.unwrap();
    assert!(body.contains("larger than the upload limit"), "{body}");
    assert!(body.contains("id=\"upload-error\""), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_from_the_form_streams_progress_and_shows_every_tab() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(60).as_bytes())
        .await;
    let id = dataset["id"].as_i64().unwrap();
    let runs_path = format!("/datasets/{id}/runs");

    // A refused form comes back with its values and the reason.
    let resp = app
        .post_form(
            &runs_path,
            &[("method", "ward"), ("mode", "k"), ("n_clusters", "1")],
            true,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let body = resp.text().await.unwrap();
    assert!(body.contains("id=\"n_clusters-error\""), "{body}");
    assert!(body.contains("at least 2"), "{body}");
    assert!(
        body.contains("value=\"1\""),
        "the form keeps what was typed: {body}"
    );

    let fields = [
        ("method", "ward"),
        ("metric", "euclidean"),
        ("mode", "k"),
        ("n_clusters", "3"),
        ("features_sent", "1"),
        ("feature", "age"),
        ("feature", "total_spend"),
        ("feature", "region"),
    ];
    let resp = app.post_form(&runs_path, &fields, true).await;
    let run_path = hx_location(&resp);
    let run_id: i64 = run_path.trim_start_matches("/runs/").parse().unwrap();

    // The stream starts with the current state and ends with `done`.
    let resp = app
        .client
        .get(app.url(&format!("/runs/{run_id}/events")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let read = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(chunk) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.contains("event: done") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no `done` event in time: {text}");
    assert!(text.trim_start().starts_with("event: progress"), "{text}");
    assert!(text.contains("role=\"progressbar\""), "{text}");

    // The run ended (the stream said so) and succeeded; the excluded column was left out.
    let (_, _, overview) = app.get_page(&run_path, true).await;
    assert!(
        overview.contains("id=\"run-status\">succeeded<"),
        "{overview}"
    );
    assert!(overview.contains("role=\"tablist\""), "{overview}");
    assert!(
        overview.contains("<dt>Numeric features</dt><dd>age, total_<wbr>spend</dd>"),
        "{overview}"
    );
    for tab in [
        "overview",
        "segments",
        "dendrogram",
        "map",
        "quality",
        "customers",
    ] {
        let (status, _, body) = app.get_page(&format!("{run_path}/{tab}"), false).await;
        assert_eq!(status, 200, "{tab}");
        assert!(
            body.contains(&format!(
                "id=\"tab-{tab}\" aria-controls=\"tab-panel\" aria-selected=\"true\""
            )),
            "{tab}"
        );
    }
    // Phones load each chart drawn for their width: every chart on the tabs is a <picture>
    // whose narrow source is the same address with `layout=narrow`.
    for (tab, chart) in [
        ("overview", "sizes"),
        ("dendrogram", "dendrogram"),
        ("map", "map"),
        ("quality", "silhouette"),
        ("quality", "k-sweep"),
    ] {
        let (_, _, body) = app.get_page(&format!("{run_path}/{tab}"), true).await;
        let wide = format!("{run_path}/charts/{chart}.svg?names=");
        let at = body.find(&format!("<img src=\"{wide}")).expect(chart);
        let source = body[..at].rsplit("<source ").next().unwrap();
        assert!(
            source.starts_with(&format!("media=\"(max-width: 640px)\" srcset=\"{wide}"))
                && source.contains("&#38;layout=narrow\">"),
            "{tab}/{chart}: {}",
            &body[at.saturating_sub(300)..at + 200]
        );
        let resp = app
            .client
            .get(app.url(&format!("{run_path}/charts/{chart}.svg?layout=narrow")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{chart}");
        assert_eq!(resp.headers()["content-type"], "image/svg+xml");
        let svg = resp.text().await.unwrap();
        assert!(
            svg.starts_with("<svg width=\"360\" "),
            "{chart}: {}",
            &svg[..80]
        );
    }
    let resp = app
        .client
        .get(app.url(&format!("{run_path}/charts/map.svg?layout=tiny")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let text = resp.text().await.unwrap();
    assert!(
        text.contains("unknown layout `tiny`; use wide or narrow"),
        "{text}"
    );
    // The API's charts take the same layouts, refused in the same words.
    let narrow = app
        .get_text(&format!(
            "/api/v1/clustering/runs/{run_id}/charts/sizes.svg?layout=narrow"
        ))
        .await;
    assert!(
        narrow.starts_with("<svg width=\"360\" "),
        "{}",
        &narrow[..80]
    );
    let resp = app
        .client
        .get(app.url(&format!(
            "/api/v1/clustering/runs/{run_id}/dendrogram.svg?layout=tiny"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["detail"], "unknown layout `tiny`; use wide or narrow");
    // Column names break after their underscores, never inside a word.
    let (_, _, segments) = app.get_page(&format!("{run_path}/segments"), true).await;
    assert!(
        segments.contains("<th scope=\"row\">total_<wbr>spend</th>"),
        "{segments}"
    );
    let (_, _, customers) = app
        .get_page(&format!("{run_path}/customers?segment=0"), true)
        .await;
    assert!(
        customers.contains(&format!("{run_path}/customers.csv?segment=0")),
        "{customers}"
    );
    // Images and downloads work with an API token set, since pages cannot send one.
    let resp = app
        .client
        .get(app.url(&format!("{run_path}/charts/dendrogram.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "image/svg+xml");
    let csv = app
        .client
        .get(app.url(&format!("{run_path}/customers.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 61, "header and 60 customers: {csv}");
    assert!(
        csv.starts_with("row_index,cluster,segment_name,customer_id"),
        "{csv}"
    );
    let (status, _, _) = app
        .get_page(&format!("{run_path}/customers?segment=9"), true)
        .await;
    assert_eq!(status, 422);
    let (status, _, _) = app.get_page(&format!("{run_path}/bogus"), true).await;
    assert_eq!(status, 404);

    // Delete with a plain form post: back to the dataset.
    let resp = app
        .post_form(&format!("/runs/{run_id}/delete"), &[], false)
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/datasets/{id}").as_str()
    );
    let (status, _, _) = app.get_page(&run_path, false).await;
    assert_eq!(status, 404);
    app.stop().await;
}

/// The dataset page's column table says how a column's numbers were read, and warns when it
/// had to assume something.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_table_shows_number_formats() {
    let app = TestApp::start().await;
    let csv = "id;spend;units\nC1;1.234,5;1,234\nC2;12,5;2,500\nC3;7;3\n";
    let (status, dataset) = app.upload("excel.csv", csv.as_bytes()).await;
    assert_eq!(status, 201, "{dataset}");
    let (status, _, page) = app
        .get_page(&format!("/datasets/{}", dataset["id"]), false)
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(
            "<small class=\"column-note\">read with a decimal comma and `.` between thousands: `1.234,5` (line 2) = 1234.5</small>"
        ),
        "{page}"
    );
    assert!(
        page.contains("<small class=\"column-note warn\">ambiguous: `1,234` (line 2)"),
        "{page}"
    );
    app.stop().await;
}

/// A refused run form shows the message beside the field it is about, marks that field invalid
/// and gives it the focus (htmx focuses `autofocus` in swapped content); a column's kind chosen
/// in the features list reaches the run, and the Quality tab's rerun keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_form_points_at_the_field_and_takes_column_kinds() {
    let app = TestApp::start().await;
    app.upload("customers.csv", customers_csv(40).as_bytes())
        .await;
    for htmx in [true, false] {
        let resp = app
            .post_form(
                "/datasets/1/runs",
                &[("mode", "k"), ("n_clusters", "1")],
                htmx,
            )
            .await;
        assert_eq!(resp.status(), 422);
        let html = resp.text().await.unwrap();
        assert!(
            html.contains(r#"value="1" autofocus aria-invalid="true" aria-describedby="n_clusters-error n_clusters-help""#),
            "{html}"
        );
        assert!(
            html.contains(r#"<p class="field-error" id="n_clusters-error" role="alert"><strong>The run was not started.</strong> Segments wanted must be at least 2 so there is something to compare, got 1</p>"#),
            "{html}"
        );
        assert!(!html.contains("run-form-error"), "a second copy at the top");
    }
    let resp = app
        .post_form(
            "/datasets/1/runs",
            &[
                ("mode", "k"),
                ("n_clusters", "3"),
                ("kind.gender", "numeric"),
            ],
            true,
        )
        .await;
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"id="features-error" role="alert" tabindex="-1" autofocus"#)
            && html.contains("column `gender` holds text, so Column kinds cannot make it numeric"),
        "{html}"
    );
    // The choice is kept in the refused form.
    assert!(
        html.contains(r#"<option value="numeric" selected>numeric</option>"#),
        "{html}"
    );

    let resp = app
        .post_form(
            "/datasets/1/runs",
            &[
                ("mode", "k"),
                // Not the suggested count, so the Quality tab offers a rerun with it.
                ("n_clusters", "5"),
                ("features_sent", "1"),
                ("feature", "age"),
                ("feature", "total_spend"),
                ("feature", "visit_frequency"),
                ("feature", "gender"),
                ("feature", "region"),
                ("kind.visit_frequency", "categorical"),
                ("kind.region", "ignore"),
            ],
            false,
        )
        .await;
    assert_eq!(resp.status(), 303, "{:?}", resp.text().await);
    let run = app.wait_for_run(1).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(
        run["feature_config"]["categorical_features"],
        serde_json::json!(["gender", "visit_frequency"]),
        "{run}"
    );
    assert_eq!(
        run["feature_config"]["excluded_columns"],
        serde_json::json!(["region"]),
        "{run}"
    );
    let (_, _, quality) = app.get_page("/runs/1/quality", false).await;
    assert!(quality.contains("rerun-suggested"), "{quality}");
    // The suggestion shows the figures it used: stability per count and per segment of this
    // run, the resamples, and the reason in words.
    let sweep = &run["k_sweep"];
    assert!(
        quality.contains("Stability (weakest segment)")
            && quality.contains(r#"id="segment-stability""#)
            && quality.contains("20 resamples of 20 customers")
            && quality.contains(sweep["reason"].as_str().unwrap()),
        "{quality}"
    );
    let five = &sweep["points"][3];
    assert_eq!(five["k"], 5, "{sweep}");
    assert_eq!(five["segment_stability"].as_array().unwrap().len(), 5);
    assert!(
        quality.contains(r#"name="kind.visit_frequency" value="categorical""#)
            && quality.contains(r#"name="kind.region" value="ignore""#),
        "{quality}"
    );
    app.stop().await;
}

/// The runs table tells runs apart by every setting, sits above the run form once there are
/// runs, and a cancelled run is shown as cancelled, not as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_table_shows_every_setting_and_cancelled_runs_calmly() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(40).as_bytes())
        .await;
    let id = dataset["id"].as_i64().unwrap();
    let (status, _, page) = app.get_page(&format!("/datasets/{id}"), false).await;
    assert_eq!(status, 200);
    assert!(
        page.find("id=\"run-form\"") < page.find("id=\"runs\""),
        "without runs, the form comes first"
    );
    for body in [
        serde_json::json!({ "dataset_id": id, "linkage": "ward", "n_clusters": 3 }),
        serde_json::json!({ "dataset_id": id, "linkage": "average", "metric": "manhattan",
            "n_clusters": 2, "pca_components": 2, "exclude": ["region"],
            "kinds": { "visit_frequency": "categorical" } }),
        serde_json::json!({ "dataset_id": id, "linkage": "ward", "distance_threshold": 8.0,
            "use_pca": true, "pca_variance": 0.9 }),
    ] {
        let (status, run) = app.train(body, true).await;
        assert_eq!(status, 201, "{run}");
    }
    let cancelled = app
        .db
        .text(&format!(
            "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status, finished_at) \
             VALUES ({id}, 'complete', 5, 'cancelled', now()) RETURNING id::text AS v"
        ))
        .await;

    let (_, _, page) = app.get_page(&format!("/datasets/{id}"), false).await;
    let rows = table_cells(&page, "runs-table");
    let table = &page[page.find("id=\"runs-table\"").unwrap()..];
    // Newest first: the cancelled run, the height cut, the average run, the first Ward run.
    assert_eq!(rows.len(), 4, "{table}");
    assert_eq!(rows[0][1..6], ["complete", "euclidean", "5", "off", "all"]);
    assert!(rows[0][6].starts_with("cancelled"), "{:?}", rows[0]);
    assert_eq!(rows[1][1..3], ["ward", "euclidean"]);
    assert!(rows[1][3].ends_with("(cut at 8)"), "{:?}", rows[1]);
    assert_eq!(rows[1][4], "90.0% of variance", "{:?}", rows[1]);
    assert_eq!(
        rows[2][1..6],
        [
            "average",
            "manhattan",
            "2",
            "2 components",
            "without region; visit_frequency as categorical"
        ]
    );
    assert_eq!(rows[3][1..6], ["ward", "euclidean", "3", "off", "all"]);
    assert!(
        page.find("id=\"runs\"") < page.find("id=\"run-form\""),
        "with runs, the table comes first"
    );

    let (status, _, page) = app.get_page(&format!("/runs/{cancelled}"), false).await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"run-cancelled\""), "{page}");
    assert!(
        !page.contains("id=\"run-error\""),
        "a cancelled run is not an error"
    );
    app.stop().await;
}

/// The text of every body cell of the table with id `id`, row by row.
fn table_cells(page: &str, id: &str) -> Vec<Vec<String>> {
    let table = &page[page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}: {page}"))..];
    let table = &table[..table.find("</table>").unwrap()];
    let body = &table[table.find("<tbody>").unwrap()..];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = &cell[cell.find('>').unwrap() + 1..];
                    let mut plain = String::new();
                    let mut in_tag = false;
                    for c in text.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => plain.push(c),
                            _ => {}
                        }
                    }
                    plain.trim().to_string()
                })
                .collect()
        })
        .collect()
}

/// The customers tab of a finished run: numbered pages with "1–50 of 205", sorting by any
/// column both ways, a search in the identifier column that takes its text literally, and
/// mistakes in the address named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_table_pages_sorts_and_searches() {
    let app = TestApp::start().await;
    let run = app
        .finished_run(
            205,
            serde_json::json!({ "linkage": "ward", "n_clusters": 3 }),
        )
        .await;
    let csv = customers_csv(205);
    let tab = format!("/runs/{}/customers", run["id"]);
    let get = |query: &str| {
        let path = format!("{tab}{query}");
        let app = &app;
        async move {
            let (status, _, body) = app.get_page(&path, true).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    // Rows as (row index, segment text, fit, customer_id, total_spend).
    let rows = |body: &str| -> Vec<Vec<String>> { table_cells(body, "customers-table") };
    let row_indexes =
        |body: &str| -> Vec<usize> { rows(body).iter().map(|r| r[0].parse().unwrap()).collect() };

    let first = get("").await;
    assert!(first.contains("1–50 of 205 customers"), "{first}");
    assert!(first.contains("id=\"fit-explained\""), "{first}");
    assert!(first.contains("Find by customer_id"), "{first}");
    assert!(first.contains("aria-current=\"page\">1<"), "{first}");
    assert!(first.contains(&format!("href=\"{tab}?page=5\"")), "{first}");
    assert!(first.contains("id=\"next-page\""), "{first}");
    assert!(!first.contains("id=\"previous-page\""), "{first}");
    assert_eq!(row_indexes(&first), (0..50).collect::<Vec<_>>());

    let last = get("?page=5").await;
    assert!(last.contains("201–205 of 205 customers"), "{last}");
    assert!(
        last.contains(&format!("href=\"{tab}?page=4\" id=\"previous-page\"")),
        "{last}"
    );
    assert!(!last.contains("id=\"next-page\""), "{last}");
    assert_eq!(row_indexes(&last), (200..205).collect::<Vec<_>>());
    // A page past the end (an old link after a filter) shows the last one.
    assert_eq!(
        row_indexes(&get("?page=99").await),
        (200..205).collect::<Vec<_>>()
    );

    // Sorting by a numeric column, both ways, ties in row order; every page continues it.
    let spend: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(4).unwrap().parse().unwrap())
        .collect();
    let mut by_spend: Vec<usize> = (0..spend.len()).collect();
    by_spend.sort_by(|&a, &b| spend[b].total_cmp(&spend[a]).then(a.cmp(&b)));
    let desc = get("?sort=column%3Atotal_spend&dir=desc").await;
    assert!(desc.contains("aria-sort=\"descending\""), "{desc}");
    assert_eq!(row_indexes(&desc), by_spend[..50]);
    let page2 = get("?sort=column%3Atotal_spend&dir=desc&page=2").await;
    assert_eq!(row_indexes(&page2), by_spend[50..100]);
    // The sorted heading links to the other direction, from the first page.
    assert!(
        desc.contains(&format!("href=\"{tab}?sort=column%3Atotal_spend\"")),
        "{desc}"
    );
    by_spend.sort_by(|&a, &b| spend[a].total_cmp(&spend[b]).then(a.cmp(&b)));
    assert_eq!(
        row_indexes(&get("?sort=column%3Atotal_spend").await),
        by_spend[..50]
    );
    // Text columns sort alphabetically; fit and segment sort as numbers.
    let regions: Vec<String> = rows(&get("?sort=column%3Aregion&dir=desc").await)
        .iter()
        .map(|r| r[6].clone())
        .collect();
    assert!(regions.iter().all(|r| r == "Tigray"), "{regions:?}");
    let fits: Vec<f64> = rows(&get("?sort=fit").await)
        .iter()
        .map(|r| r[2].replace('−', "-").parse().unwrap())
        .collect();
    assert!(fits.windows(2).all(|w| w[0] <= w[1]), "{fits:?}");
    let segments: Vec<String> = rows(&get("?sort=segment&dir=desc").await)
        .iter()
        .map(|r| r[1].chars().next().unwrap().to_string())
        .collect();
    assert!(segments.iter().all(|s| s == "2"), "{segments:?}");

    // Search: part of an identifier, any case, inside the chosen segment and order.
    let found = get("?q=c0010").await;
    assert!(found.contains("1–10 of 10 customers"), "{found}");
    assert!(found.contains("id=\"clear-search\""), "{found}");
    assert_eq!(row_indexes(&found), (100..110).collect::<Vec<_>>());
    let sorted = get("?q=C0010&sort=row&dir=desc").await;
    assert_eq!(row_indexes(&sorted), (100..110).rev().collect::<Vec<_>>());
    let segment = rows(&found)[0][1].chars().next().unwrap();
    let within = get(&format!("?q=C0010&segment={segment}")).await;
    assert!(
        rows(&within).iter().all(|r| r[1].starts_with(segment)),
        "{within}"
    );
    // Wildcards are text: `%` and `_` match only themselves.
    for pattern in ["%25", "_", "C0_10"] {
        let none = get(&format!("?q={pattern}")).await;
        assert!(none.contains("No customers match."), "{pattern}: {none}");
        assert!(rows(&none).is_empty(), "{pattern}");
    }

    for (query, says) in [
        ("?sort=column%3Anope", "no column `nope` to sort by"),
        ("?sort=price", "`price` is not a sort"),
        ("?dir=up", "`up` is not a sort direction"),
        ("?page=0", "`0` is not a page number"),
        ("?page=two", "`two` is not a page number"),
        ("?segment=7", "there is no segment 7"),
        ("?q=C%00", "cannot hold control characters"),
    ] {
        let (status, _, body) = app.get_page(&format!("{tab}{query}"), true).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(body.contains(says), "{query}: {body}");
    }
    app.stop().await;
}

/// The printable report of a finished run: a page of its own (no app shell, no controls but the
/// screen-only print bar), every section with the analyst's names and notes, light charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printable_report_shows_every_section_on_paper() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(60).as_bytes())
        .await;
    let run = app
        .trained(
            &dataset["id"],
            serde_json::json!({ "linkage": "ward", "n_clusters": 3 }),
        )
        .await;
    let run_id = run["id"].as_i64().unwrap();
    let generated = |i: usize| run["profiles"][i]["name"].as_str().unwrap().to_string();
    let renamed = generated(0);
    let resp = app
        .post_form(
            &format!("/runs/{run_id}/segments/0"),
            &[("name", "Loyal families"), ("note", "Call before Genna")],
            false,
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);

    // The run page links to it, as a full page load (its layout is not the app's).
    let report_path = format!("/runs/{run_id}/report");
    let (_, _, page) = app.get_page(&format!("/runs/{run_id}"), false).await;
    assert!(
        page.contains(&format!(
            "href=\"{report_path}\" id=\"report-link\" hx-boost=\"false\""
        )),
        "{page}"
    );

    let (status, headers, report) = app.get_page(&report_path, false).await;
    assert_eq!(status, 200, "{report}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(report.starts_with("<!doctype html>"), "{report}");
    assert!(report.contains("href=\"/static/report.css\""), "{report}");
    assert!(
        !report.contains("/static/app.css"),
        "the report is not the dark app shell"
    );
    assert!(!report.contains("site-header"), "{report}");
    assert!(report.contains("<h1>shoppers</h1>"), "{report}");
    assert!(
        report.contains(&format!("Run {run_id} &middot; <time>")),
        "{report}"
    );

    // Every section, in the order of the document.
    let sections = [
        "id=\"report-overview\"",
        "id=\"report-settings\"",
        "id=\"report-sizes\"",
        "id=\"report-segments\"",
        "id=\"report-segment-0\"",
        "id=\"report-segment-1\"",
        "id=\"report-segment-2\"",
        "id=\"report-dendrogram\"",
        "id=\"report-map\"",
        "id=\"report-quality\"",
        "id=\"report-k-sweep\"",
    ];
    let at: Vec<usize> = sections
        .iter()
        .map(|s| report.find(s).unwrap_or_else(|| panic!("no {s}: {report}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "sections out of order");
    assert!(!report.contains("id=\"report-segment-3\""), "{report}");
    assert!(report.contains("<dt>Linkage</dt><dd>Ward</dd>"), "{report}");
    assert!(
        report.contains("<dt>Numeric features</dt><dd>age, total_spend, visit_frequency</dd>"),
        "{report}"
    );
    assert!(report.contains("<dt>Silhouette score</dt>"), "{report}");

    // The analyst's name and note; the generated name beside it; the others as generated.
    let segment = |i: usize| {
        let from = report.find(&format!("id=\"report-segment-{i}\"")).unwrap();
        let to = report[from..].find("</article>").unwrap() + from;
        &report[from..to]
    };
    assert!(
        segment(0).contains("Loyal families <small>Segment 0</small>"),
        "{}",
        segment(0)
    );
    assert!(
        segment(0).contains("generated name: ") && segment(0).contains(&renamed),
        "{}",
        segment(0)
    );
    assert!(
        segment(0).contains("id=\"report-segment-0-note\">Call before Genna</p>"),
        "{}",
        segment(0)
    );
    for i in [1, 2] {
        assert!(segment(i).contains(&generated(i)), "{}", segment(i));
        assert!(!segment(i).contains("-note\""), "{}", segment(i));
        assert!(!segment(i).contains("generated name:"), "{}", segment(i));
        assert!(segment(i).contains("<caption>Numeric profile</caption>"));
        assert!(segment(i).contains("<caption>Most common categories</caption>"));
    }

    // Every chart on white paper, and only such charts.
    let charts: Vec<&str> = report
        .match_indices("/charts/")
        .map(|(i, _)| report[i..].split('"').next().unwrap())
        .collect();
    assert_eq!(charts.len(), 5, "{charts:?}");
    for (chart, name) in charts
        .iter()
        .zip(["sizes", "dendrogram", "map", "silhouette", "k-sweep"])
    {
        assert!(
            chart.starts_with(&format!("/charts/{name}.svg?theme=light&")),
            "{chart}"
        );
    }
    let light = app
        .get_text(&format!("/runs/{run_id}/charts/sizes.svg?theme=light"))
        .await;
    let dark = app
        .get_text(&format!("/runs/{run_id}/charts/sizes.svg"))
        .await;
    assert!(
        light.starts_with("<svg") && dark.starts_with("<svg"),
        "{light}"
    );
    assert_ne!(light, dark, "the light chart is drawn like the dark one");

    // Nothing to navigate or submit: one button, the print button in the screen-only bar.
    assert!(!report.contains("<nav"), "{report}");
    assert!(!report.contains("<form"), "{report}");
    assert!(!report.contains("<input") && !report.contains("<textarea"));
    assert_eq!(report.matches("<button").count(), 1, "{report}");
    let bar = &report[report.find("id=\"report-bar\"").unwrap()..];
    let bar = &bar[..bar.find("</div>").unwrap()];
    assert!(bar.contains("<button type=\"button\" id=\"print-report\" data-print>"));
    assert!(bar.contains(&format!("href=\"/runs/{run_id}\" id=\"back-to-run\"")));
    let css = app.get_text("/static/report.css").await;
    for rule in [
        "@media print",
        "@page",
        "print-color-adjust: exact",
        ".report-bar { display: none; }",
        "break-before: page",
        "break-inside: avoid",
    ] {
        assert!(css.contains(rule), "report.css lacks {rule}");
    }

    // htmx is sent to load it as a page of its own.
    let (status, headers, body) = app.get_page(&report_path, true).await;
    assert_eq!(status, 200);
    assert_eq!(headers["hx-redirect"], report_path.as_str());
    assert!(body.is_empty(), "{body}");
    app.stop().await;
}

/// A run without results has no report yet: a calm page says so, and the run page has no link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_results_has_a_calm_report_page() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(40).as_bytes())
        .await;
    let id = dataset["id"].as_i64().unwrap();
    for (status, says) in [
        (
            "queued",
            "is still queued. Its report appears here once it has succeeded.",
        ),
        (
            "cancelled",
            "was cancelled, so it has no results to report.",
        ),
        ("failed", "failed, so it has no results to report."),
    ] {
        let run = app
            .db
            .text(&format!(
                "INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status) \
                 VALUES ({id}, 'ward', 3, '{status}') RETURNING id::text AS v"
            ))
            .await;
        let (code, _, report) = app.get_page(&format!("/runs/{run}/report"), false).await;
        assert_eq!(code, 200, "{status}: {report}");
        assert!(report.contains("id=\"report-unavailable\""), "{report}");
        assert!(report.contains(&format!("Run {run} {says}")), "{report}");
        assert!(!report.contains("<img"), "{report}");
        assert!(!report.contains("<button"), "nothing to print: {report}");
        assert!(
            report.contains(&format!("href=\"/runs/{run}\"")),
            "{report}"
        );
        let (_, _, page) = app.get_page(&format!("/runs/{run}"), false).await;
        assert!(!page.contains("id=\"report-link\""), "{status}: {page}");
    }
    app.stop().await;
}

/// The run form's third way to cut: "Let SegmentIQ choose" queues a run that picks the number of
/// segments itself and says how many it chose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_form_can_leave_the_number_of_segments_to_segmentiq() {
    let app = TestApp::start().await;
    let (_, dataset) = app
        .upload("shoppers.csv", customers_csv(90).as_bytes())
        .await;
    let id = dataset["id"].as_i64().unwrap();
    let (_, _, page) = app.get_page(&format!("/datasets/{id}"), false).await;
    assert!(page.contains("id=\"mode-auto\""), "{page}");
    // The count field is ignored when SegmentIQ chooses, whatever it holds.
    let resp = app
        .post_form(
            &format!("/datasets/{id}/runs"),
            &[("method", "ward"), ("mode", "auto"), ("n_clusters", "")],
            true,
        )
        .await;
    let run_path = hx_location(&resp);
    let run_id: i64 = run_path.trim_start_matches("/runs/").parse().unwrap();
    let run = app.wait_for_run(run_id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["auto_clusters"], true, "{run}");
    let k = run["metrics"]["n_clusters"].as_i64().unwrap();
    assert!(
        run["metrics"]["k_choice"]
            .as_str()
            .is_some_and(|w| !w.is_empty()),
        "{run}"
    );
    let (_, _, page) = app.get_page(&run_path, false).await;
    assert!(page.contains(&format!("{k} segments (chosen)")), "{page}");
    app.stop().await;
}
