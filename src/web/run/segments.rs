//! The segments tab: a card per segment with its size, what sets it apart, and its profile
//! next to everyone's.

use askama::Template;

use crate::engine::profile::{Deviation, NumericTrait, SegmentTrait, feature_words};
use crate::engine::render::segment_color_hex;
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::format::filters;
use crate::web::render::page;
use crate::web::routes;

use super::head::{RunHead, capitalized};

/// Traits listed on a card, strongest first.
const TRAITS_SHOWN: usize = 4;

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
    /// The generated name, when the analyst renamed the segment.
    pub generated_name: Option<String>,
    pub note: Option<String>,
    /// Where the rename form posts.
    pub label_action: String,
    /// Why the form's last submission was refused, with what was typed (shown in the form).
    pub refused: Option<Refused>,
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
    profiles_csv_url: String,
    /// The run's `model.json`, for `segmentiq assign`.
    model_url: String,
}
page!(SegmentsPage);

/// A refused name-and-note form: the message and what was typed, so nothing is lost.
pub struct Refused {
    pub message: String,
    pub name: String,
    pub note: String,
}

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> SegmentsPage {
    SegmentsPage {
        run: head,
        segments: segment_cards(run, dataset),
        profiles_csv_url: routes::run_profiles_csv(run.id),
        model_url: routes::run_model(run.id),
    }
}

/// The segments tab with segment `segment`'s form open, saying why it was refused; `Err` gives
/// the reason back when the run has no such segment (there is no form to show it in).
pub fn refused(
    head: RunHead,
    run: &Run,
    dataset: &Dataset,
    segment: usize,
    why: Refused,
) -> Result<SegmentsPage, Refused> {
    let mut page = page(head, run, dataset);
    match page.segments.iter_mut().find(|c| c.index == segment) {
        Some(card) => card.refused = Some(why),
        None => return Err(why),
    }
    Ok(page)
}

/// A trait in words: "Spend well above average", "Mostly Addis Ababa (62.0% region)".
fn trait_words(t: &SegmentTrait) -> String {
    match *t {
        SegmentTrait::Numeric {
            feature, deviation, ..
        } => {
            let reading = match deviation {
                Deviation::WellAbove => "well above average",
                Deviation::Above => "above average",
                Deviation::Below => "below average",
                Deviation::WellBelow => "well below average",
            };
            format!("{} {reading}", capitalized(&feature_words(feature)))
        }
        SegmentTrait::Category { feature, level } => format!(
            "Mostly {} ({} {})",
            level.value,
            format::percent(level.share),
            feature_words(feature)
        ),
    }
}

/// One card per segment, as the segments tab and the printable report show them.
pub fn segment_cards(run: &Run, dataset: &Dataset) -> Vec<SegmentCard> {
    run.profiles
        .iter()
        .map(|p| SegmentCard {
            index: p.segment,
            name: p.name.clone(),
            generated_name: run
                .generated_names
                .contains_key(&p.segment)
                .then(|| run.generated_name(p).to_string()),
            note: run.note(p.segment).map(str::to_string),
            label_action: routes::run_segment(run.id, p.segment),
            refused: None,
            color: segment_color_hex(p.segment),
            size: format::thousands(p.size as i64),
            share: format::percent(p.share),
            share_width: format!("{:.1}", (p.share * 100.0).clamp(0.0, 100.0)),
            silhouette: p.silhouette.map(format::score),
            traits: p
                .traits()
                .iter()
                .take(TRAITS_SHOWN)
                .map(trait_words)
                .collect(),
            numeric: p.numeric.iter().map(|n| numeric_row(n, dataset)).collect(),
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
            customers_url: routes::run_customers(run.id, &[("segment", &p.segment.to_string())]),
        })
        .collect()
}

/// A numeric feature of a segment next to everyone's, marked up or down when it stands out.
fn numeric_row(n: &NumericTrait, dataset: &Dataset) -> NumericRow {
    NumericRow {
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
        class: match n.deviation() {
            Some(d) if d.is_above() => "delta-up",
            Some(_) => "delta-down",
            None => "",
        },
    }
}
