//! Every path the pages answer and link to, in one place, so a renamed route cannot leave a
//! dead link behind.

use crate::engine::render::Theme;

/// Route patterns, as registered with the router.
pub const DATASETS: &str = "/";
pub const UPLOAD: &str = "/datasets";
pub const SAMPLE: &str = "/datasets/sample";
pub const DATASET: &str = "/datasets/{id}";
pub const DATASET_RUNS: &str = "/datasets/{id}/runs";
pub const DATASET_DELETE: &str = "/datasets/{id}/delete";
pub const RUN: &str = "/runs/{id}";
pub const RUN_TAB: &str = "/runs/{id}/{tab}";
pub const RUN_EVENTS: &str = "/runs/{id}/events";
pub const RUN_CANCEL: &str = "/runs/{id}/cancel";
pub const RUN_DELETE: &str = "/runs/{id}/delete";
pub const RUN_CHART: &str = "/runs/{id}/charts/{file}";
pub const RUN_CSV: &str = "/runs/{id}/customers.csv";
pub const RUN_PROFILES_CSV: &str = "/runs/{id}/profiles.csv";
pub const RUN_MODEL: &str = "/runs/{id}/model.json";
pub const RUN_COMPARE: &str = "/runs/{id}/compare";
pub const RUN_REPORT: &str = "/runs/{id}/report";
pub const RUN_SEGMENT: &str = "/runs/{id}/segments/{segment}";
pub const RUN_SCORINGS: &str = "/runs/{id}/scorings";
pub const RUN_SCORING_CSV: &str = "/runs/{id}/scorings/{scoring}/assignments.csv";
pub const RUN_SCORING_DELETE: &str = "/runs/{id}/scorings/{scoring}/delete";
pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";

pub fn datasets_after(cursor: &str) -> String {
    format!("/?after={cursor}")
}

pub fn dataset(id: i64) -> String {
    format!("/datasets/{id}")
}

pub fn dataset_runs(id: i64) -> String {
    format!("/datasets/{id}/runs")
}

pub fn dataset_delete(id: i64) -> String {
    format!("/datasets/{id}/delete")
}

pub fn run(id: i64) -> String {
    format!("/runs/{id}")
}

pub fn run_tab(id: i64, tab: &str) -> String {
    format!("/runs/{id}/{tab}")
}

pub fn run_events(id: i64) -> String {
    format!("/runs/{id}/events")
}

pub fn run_compare(id: i64, with: i64) -> String {
    format!("/runs/{id}/compare?with={with}")
}

pub fn run_report(id: i64) -> String {
    format!("/runs/{id}/report")
}

pub fn run_model(id: i64) -> String {
    format!("/runs/{id}/model.json")
}

pub fn run_profiles_csv(id: i64) -> String {
    format!("/runs/{id}/profiles.csv")
}

pub fn run_segment(id: i64, segment: usize) -> String {
    format!("/runs/{id}/segments/{segment}")
}

pub fn run_cancel(id: i64) -> String {
    format!("/runs/{id}/cancel")
}

pub fn run_delete(id: i64) -> String {
    format!("/runs/{id}/delete")
}

/// The customers tab with its query (segment, search, sort, page), as `name=value` pairs left
/// out when empty.
pub fn run_customers(id: i64, query: &[(&str, &str)]) -> String {
    run_tab_with(id, "customers", query)
}

/// A tab of a run with its query, as `name=value` pairs left out when empty.
pub fn run_tab_with(id: i64, tab: &str, query: &[(&str, &str)]) -> String {
    let mut url = run_tab(id, tab);
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
        pairs.append_pair(name, value);
    }
    let pairs = pairs.finish();
    if !pairs.is_empty() {
        url.push('?');
        url.push_str(&pairs);
    }
    url
}

pub fn run_scorings(id: i64) -> String {
    format!("/runs/{id}/scorings")
}

pub fn run_scoring_csv(id: i64, scoring: i64, segment: Option<i32>) -> String {
    match segment {
        Some(s) => format!("/runs/{id}/scorings/{scoring}/assignments.csv?segment={s}"),
        None => format!("/runs/{id}/scorings/{scoring}/assignments.csv"),
    }
}

pub fn run_scoring_delete(id: i64, scoring: i64) -> String {
    format!("/runs/{id}/scorings/{scoring}/delete")
}

/// The addresses of one chart of a run: for a desktop and for a phone (`layout=narrow`). Pages
/// show them as a `<picture>` so a phone loads the narrow one.
pub struct ChartSrc {
    pub wide: String,
    pub narrow: String,
}

/// A chart of a run in `theme`: dark for the pages, light for the printable report. Browsers
/// keep charts for a few minutes; the address carries a digest of the segment names the charts
/// label, so renaming a segment shows at once.
pub fn chart(run: &crate::service::runs::Run, chart: &str, theme: Theme) -> ChartSrc {
    use std::hash::{Hash, Hasher};
    let mut names = std::collections::hash_map::DefaultHasher::new();
    run.profiles.iter().for_each(|p| p.name.hash(&mut names));
    let theme = match theme {
        Theme::Dark => "",
        Theme::Light => "theme=light&",
    };
    let wide = format!(
        "/runs/{}/charts/{chart}.svg?{theme}names={:x}",
        run.id,
        names.finish()
    );
    ChartSrc {
        narrow: format!("{wide}&layout=narrow"),
        wide,
    }
}

pub fn customers_csv(run_id: i64, segment: Option<i32>) -> String {
    match segment {
        Some(s) => format!("/runs/{run_id}/customers.csv?segment={s}"),
        None => format!("/runs/{run_id}/customers.csv"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_urls_join_their_query() {
        assert_eq!(run_customers(3, &[]), "/runs/3/customers");
        assert_eq!(
            run_customers(3, &[("segment", "1")]),
            "/runs/3/customers?segment=1"
        );
        assert_eq!(
            run_customers(3, &[("segment", ""), ("q", "C 1&2"), ("page", "2")]),
            "/runs/3/customers?q=C+1%262&page=2"
        );
        assert_eq!(
            run_customers(3, &[("sort", "column:preferred_category")]),
            "/runs/3/customers?sort=column%3Apreferred_category"
        );
    }
}
