//! `GET /runs/{id}/compare?with={other}`: two runs of one dataset side by side, their settings,
//! quality and sizes, and where each segment's customers went (reached from the runs table,
//! which links each run to the next older one; a picker on the page compares the first run
//! with any other succeeded run of the dataset).

use askama::Template;

use crate::engine::compare::Comparison;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::head::summary;

/// One run's column of the side-by-side table.
pub struct Side {
    pub id: i64,
    pub url: String,
    pub summary: String,
    pub segments: usize,
    pub silhouette: String,
    pub sizes: String,
}

/// Runs the picker offers at most (the dataset's newest succeeded ones): a longer list is no
/// longer something to choose from.
pub const PICKER_RUNS: usize = 100;

/// A run the first one can be compared with, as an option of the page's picker.
pub struct Choice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

/// A row of the migration matrix: a segment of the first run and its customers in each segment
/// of the second.
pub struct MatrixRow {
    pub name: String,
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "pages/run_compare.html", blocks = ["title", "content"])]
pub struct ComparePage {
    dataset_name: String,
    dataset_url: String,
    a: Side,
    b: Side,
    /// Where the picker sends its choice.
    action: String,
    /// The dataset's other succeeded runs, newest first, for comparing `a` with another.
    choices: Vec<Choice>,
    /// The same two runs the other way round.
    swap_url: String,
    ari: String,
    agreement: &'static str,
    columns: Vec<String>,
    rows: Vec<MatrixRow>,
}
page!(ComparePage);

fn side(run: &Run) -> Side {
    Side {
        id: run.id,
        url: routes::run(run.id),
        summary: summary(run),
        segments: run.profiles.len(),
        silhouette: run
            .metrics
            .as_ref()
            .and_then(|m| m.silhouette_score)
            .map_or("—".into(), format::score),
        sizes: run
            .profiles
            .iter()
            .map(|p| format::thousands(p.size as i64))
            .collect::<Vec<_>>()
            .join(" · "),
    }
}

fn choice(run: &Run, shown: &Run) -> Choice {
    Choice {
        id: run.id,
        label: format!("Run {} · {}", run.id, summary(run)),
        selected: run.id == shown.id,
    }
}

/// The index in words, for readers who do not know it.
fn agreement(ari: f64) -> &'static str {
    match ari {
        x if x >= 0.9 => "nearly the same segments",
        x if x >= 0.6 => "similar segments, with some customers moved",
        x if x >= 0.3 => "partly different segments",
        _ => "different segments",
    }
}

/// `others`: the dataset's succeeded runs (newest first); all but `a` become the picker's
/// choices, `b` selected.
pub fn page(
    dataset_name: String,
    a: &Run,
    b: &Run,
    others: &[&Run],
    comparison: &Comparison,
) -> ComparePage {
    let mut choices: Vec<Choice> = others
        .iter()
        .filter(|r| r.id != a.id && r.damage.is_none())
        .map(|r| choice(r, b))
        .collect();
    // A run older than the newest few is still the one shown, so it is the one selected.
    if !choices.iter().any(|c| c.selected) {
        choices.push(choice(b, b));
    }
    let count = |from: usize, to: usize| {
        comparison
            .migration
            .iter()
            .find(|m| m.from == from && m.to == to)
            .map_or("·".into(), |m| format::thousands(m.count as i64))
    };
    ComparePage {
        dataset_name,
        dataset_url: routes::dataset(a.dataset_id),
        a: side(a),
        b: side(b),
        action: routes::run_tab(a.id, "compare"),
        choices,
        swap_url: routes::run_compare(b.id, a.id),
        ari: format::score(comparison.adjusted_rand_index),
        agreement: agreement(comparison.adjusted_rand_index),
        columns: b.profiles.iter().map(|p| p.name.clone()).collect(),
        rows: a
            .profiles
            .iter()
            .map(|p| MatrixRow {
                name: p.name.clone(),
                cells: b
                    .profiles
                    .iter()
                    .map(|q| count(p.segment, q.segment))
                    .collect(),
            })
            .collect(),
    }
}
