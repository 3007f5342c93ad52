//! The segments tab: a card per segment with its size, what sets it apart, and its profile
//! next to everyone's.

use askama::Template;

use crate::engine::profile::feature_words;
use crate::engine::render::segment_color_hex;
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::head::{RunHead, capitalized};

pub struct NumericRow {
    pub name: String,
    pub value: String,
    pub overall: String,
    pub class: &'static str,
}

pub struct CategoryRow {
    pub name: String,
    pub value: String,
    pub share: String,
}

pub struct SegmentCard {
    pub index: usize,
    pub name: String,
    pub color: String,
    pub size: String,
    pub share: String,
    pub share_width: String,
    pub silhouette: Option<String>,
    pub traits: Vec<String>,
    pub numeric: Vec<NumericRow>,
    pub categorical: Vec<CategoryRow>,
    pub customers_url: String,
}

#[derive(Template)]
#[template(path = "pages/run_segments.html", blocks = ["title", "content"])]
pub struct SegmentsPage {
    run: RunHead,
    segments: Vec<SegmentCard>,
}
page!(SegmentsPage);

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> SegmentsPage {
    SegmentsPage {
        run: head,
        segments: segment_cards(run, dataset),
    }
}

/// Plain-words reading of a z-score: how far the segment's mean is from everyone's.
fn z_words(z: f64) -> Option<&'static str> {
    match z {
        z if z >= 1.0 => Some("well above average"),
        z if z >= 0.5 => Some("above average"),
        z if z <= -1.0 => Some("well below average"),
        z if z <= -0.5 => Some("below average"),
        _ => None,
    }
}

fn segment_cards(run: &Run, dataset: &Dataset) -> Vec<SegmentCard> {
    run.profiles
        .iter()
        .map(|p| {
            let mut traits: Vec<(f64, String)> = p
                .numeric
                .iter()
                .filter_map(|n| {
                    let z = n.z?;
                    z_words(z).map(|w| {
                        (
                            z.abs(),
                            format!("{} {w}", capitalized(&feature_words(&n.feature))),
                        )
                    })
                })
                .collect();
            for c in &p.categorical {
                if let Some(top) = c.levels.first().filter(|l| l.share >= 0.4 && l.lift >= 1.5) {
                    traits.push((
                        top.lift,
                        format!(
                            "Mostly {} ({} {})",
                            top.value,
                            format::percent(top.share),
                            feature_words(&c.feature)
                        ),
                    ));
                }
            }
            traits.sort_by(|a, b| b.0.total_cmp(&a.0));
            SegmentCard {
                index: p.segment,
                name: p.name.clone(),
                color: segment_color_hex(p.segment),
                size: format::thousands(p.size as i64),
                share: format::percent(p.share),
                share_width: format!("{:.1}", (p.share * 100.0).clamp(0.0, 100.0)),
                silhouette: p.silhouette.map(format::score),
                traits: traits.into_iter().take(4).map(|(_, t)| t).collect(),
                numeric: p
                    .numeric
                    .iter()
                    .map(|n| NumericRow {
                        name: n.feature.clone(),
                        // A segment whose members all lack the value says so.
                        value: n.mean.map_or_else(
                            || {
                                format!(
                                    "no values ({} missing)",
                                    format::thousands(n.missing as i64)
                                )
                            },
                            format::number,
                        ),
                        overall: dataset
                            .column(&n.feature)
                            .and_then(|c| c.numeric.as_ref())
                            .map_or("—".into(), |s| format::number(s.mean)),
                        class: match n.z {
                            Some(z) if z >= 0.5 => "delta-up",
                            Some(z) if z <= -0.5 => "delta-down",
                            _ => "",
                        },
                    })
                    .collect(),
                categorical: p
                    .categorical
                    .iter()
                    .filter_map(|c| {
                        c.levels.first().map(|l| CategoryRow {
                            name: c.feature.clone(),
                            value: l.value.clone(),
                            share: format::percent(l.share),
                        })
                    })
                    .collect(),
                customers_url: routes::run_customers(run.id, Some(p.segment as i32), None),
            }
        })
        .collect()
}
