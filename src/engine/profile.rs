//! Describing each segment in terms a marketer can act on.
//!
//! Profiles are computed on the original values (not the scaled matrix) and over the cells that
//! were actually present, so "mean spend 9,800 ETB" is a real average of real customers, not of
//! imputed fill values. What sets a segment apart is judged here, once, for every reader of a
//! profile ([`SegmentProfile::traits`]; the pages only put it into words):
//!
//! * a numeric feature is a trait when its z-score `(segment mean - table mean) / table std`
//!   (population std) is at least 0.5 in size, and *well* above or below average from 1.0
//!   ([`Deviation`]);
//! * a categorical level is over-represented when its share in the segment is at least 40% and
//!   at least 1.5 times its share in the whole table (lift); the most common level of a
//!   feature, when over-represented, is a trait ("mostly Addis Ababa").
//!
//! Each segment gets a short name from these: up to two numeric traits (largest |z| first),
//! named "High <feature words>" or "Low ..." ("Older"/"Younger" for an `age` column), and the
//! over-represented level with the largest lift among the listed ones, named by the level
//! itself, e.g. "High spend, high visit frequency, Addis Ababa"; segments without traits are
//! "Typical customers"; repeated names get " (2)", " (3)", ... so every name is unique within
//! a run.

use super::ingest::{ColumnData, Table};
use super::preprocess;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// |z| from which a numeric feature counts as distinctive: the segment's mean is half a table
/// standard deviation from everyone's (what Cohen's conventions call a medium difference).
/// Smaller differences are real but too slight to describe a segment by.
const Z_TRAIT: f64 = 0.5;
/// |z| from which a distinctive feature is *well* above or below average: a whole table
/// standard deviation.
const Z_STRONG: f64 = 1.0;
/// Lift from which a categorical level is over-represented: half as common again in the
/// segment as in the table, so a level that is merely common everywhere does not count.
const LIFT_TRAIT: f64 = 1.5;
/// Share from which an over-represented level can describe a segment: a level that is rare
/// even within the segment (5% instead of 1%) does not say what its customers are like.
const SHARE_TRAIT: f64 = 0.4;
/// Levels listed per categorical feature in a profile.
const LEVELS_LISTED: usize = 3;

/// A numeric feature within one segment. Mean, median and z are absent when none of the
/// segment's members has a value in the column (all were missing and imputed), so a profile
/// never reports an average of no one.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NumericTrait {
    pub feature: String,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    /// `(segment mean - table mean) / table std`; 0 when the table std is 0.
    pub z: Option<f64>,
    /// Members of the segment without a value in the column.
    #[serde(default)]
    pub missing: usize,
}

impl NumericTrait {
    /// How far the segment's mean is from everyone's, when far enough to set the segment
    /// apart; `None` when it is not, or when the segment has no values.
    pub fn deviation(&self) -> Option<Deviation> {
        self.z.and_then(Deviation::of)
    }
}

/// Which side of the table's mean a segment's mean lies on, and whether by a whole standard
/// deviation or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deviation {
    WellAbove,
    Above,
    Below,
    WellBelow,
}

impl Deviation {
    /// The reading of a z-score; `None` within [`Z_TRAIT`] of the mean.
    pub fn of(z: f64) -> Option<Deviation> {
        match z {
            z if z >= Z_STRONG => Some(Deviation::WellAbove),
            z if z >= Z_TRAIT => Some(Deviation::Above),
            z if z <= -Z_STRONG => Some(Deviation::WellBelow),
            z if z <= -Z_TRAIT => Some(Deviation::Below),
            _ => None,
        }
    }

    pub fn is_above(self) -> bool {
        matches!(self, Deviation::WellAbove | Deviation::Above)
    }
}

/// `x` when it is a finite number: JSON has no NaN or infinity, and neither has a profile.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One level of a categorical feature within one segment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LevelShare {
    pub value: String,
    pub count: usize,
    /// Fraction of the segment's present cells holding this level.
    pub share: f64,
    /// `share in segment / share in table`.
    pub lift: f64,
}

impl LevelShare {
    /// Whether the level is common in the segment and clearly more common than in the table
    /// ([`SHARE_TRAIT`], [`LIFT_TRAIT`]).
    pub fn is_over_represented(&self) -> bool {
        self.share >= SHARE_TRAIT && self.lift >= LIFT_TRAIT
    }
}

/// The most common levels of a categorical feature within one segment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CategoricalTrait {
    pub feature: String,
    /// Most common first (ties by level text), at most three.
    pub levels: Vec<LevelShare>,
}

/// Everything shown about one segment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SegmentProfile {
    pub segment: usize,
    pub name: String,
    pub size: usize,
    /// Fraction of all rows.
    pub share: f64,
    pub numeric: Vec<NumericTrait>,
    pub categorical: Vec<CategoricalTrait>,
    /// Mean silhouette of the segment, when the silhouette is defined for the run.
    pub silhouette: Option<f64>,
}

/// One thing that sets a segment apart from the whole table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SegmentTrait<'a> {
    /// A numeric feature whose segment mean is at least [`Z_TRAIT`] table standard deviations
    /// from everyone's.
    Numeric {
        feature: &'a str,
        z: f64,
        deviation: Deviation,
    },
    /// The most common level of a categorical feature, over-represented in the segment: most
    /// of the segment's customers have it, and many more than in the table.
    Category {
        feature: &'a str,
        level: &'a LevelShare,
    },
}

impl SegmentTrait<'_> {
    /// How strongly the trait sets the segment apart: |z| for a number, the lift for a
    /// category. The scales differ (a trait's |z| starts at 0.5, its lift at 1.5, so categories
    /// tend to come first), but both grow with how unusual the segment is.
    pub fn strength(&self) -> f64 {
        match self {
            SegmentTrait::Numeric { z, .. } => z.abs(),
            SegmentTrait::Category { level, .. } => level.lift,
        }
    }
}

impl SegmentProfile {
    /// What sets the segment apart, strongest first (equal strengths keep the profile's order:
    /// numeric features, then categories). Computed from the profile rather than stored in it,
    /// so runs stored before read the same and the rule can change without a migration.
    pub fn traits(&self) -> Vec<SegmentTrait<'_>> {
        let numeric = self.numeric.iter().filter_map(|n| {
            Some(SegmentTrait::Numeric {
                feature: &n.feature,
                z: n.z?,
                deviation: n.deviation()?,
            })
        });
        let categories = self.categorical.iter().filter_map(|c| {
            let top = c.levels.first().filter(|l| l.is_over_represented())?;
            Some(SegmentTrait::Category {
                feature: &c.feature,
                level: top,
            })
        });
        let mut traits: Vec<SegmentTrait<'_>> = numeric.chain(categories).collect();
        traits.sort_by(|a, b| b.strength().total_cmp(&a.strength()));
        traits
    }
}

fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (sum, count) = values
        .clone()
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        return (f64::NAN, 0.0);
    }
    let mean = sum / count as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / count as f64;
    (mean, var.sqrt())
}

/// Turns a column name into lower-case words: `total_spend` -> "spend",
/// `visitFrequency` -> "visit frequency". Leading "total"/"avg"/"average"/"mean" are dropped
/// when other words remain, since "high total spend" says nothing more than "high spend".
pub fn feature_words(name: &str) -> String {
    let mut words = super::ingest::name_words(name);
    while words.len() > 1 && matches!(words[0].as_str(), "total" | "avg" | "average" | "mean") {
        words.remove(0);
    }
    words.join(" ")
}

/// How a categorical level reads in a segment name: the level itself, or `feature: level`
/// when the level alone would be meaningless (yes/no, true/false, 0/1, single letters).
fn level_words(feature: &str, value: &str) -> String {
    let vague = value.chars().count() <= 1
        || value.parse::<f64>().is_ok()
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "yes" | "no" | "true" | "false" | "y" | "n" | "other" | "unknown"
        );
    if vague {
        format!("{}: {value}", feature_words(feature))
    } else {
        value.to_string()
    }
}

/// Builds one profile per segment `0..k`. `numeric` and `categorical` are column indices into
/// `table`; `labels` has one entry per row; `silhouettes` is the per-segment mean silhouette
/// (empty when undefined).
pub fn profile_segments(
    table: &Table,
    labels: &[usize],
    k: usize,
    numeric: &[usize],
    categorical: &[usize],
    silhouettes: &[f64],
) -> Vec<SegmentProfile> {
    let n = labels.len().max(1);
    let mut sizes = vec![0usize; k];
    for &l in labels {
        if l < k {
            sizes[l] += 1;
        }
    }
    let mut profiles: Vec<SegmentProfile> = (0..k)
        .map(|s| SegmentProfile {
            segment: s,
            name: String::new(),
            size: sizes[s],
            share: sizes[s] as f64 / n as f64,
            numeric: Vec::new(),
            categorical: Vec::new(),
            silhouette: silhouettes.get(s).copied(),
        })
        .collect();

    for &c in numeric {
        let ColumnData::Numeric(values) = &table.columns[c] else {
            continue;
        };
        let (table_mean, table_std) = mean_std(values.iter().flatten().copied());
        let mut per_segment: Vec<Vec<f64>> = vec![Vec::new(); k];
        for (v, &l) in values.iter().zip(labels) {
            if let (Some(v), true) = (v, l < k) {
                per_segment[l].push(*v);
            }
        }
        for (profile, mut seg) in profiles.iter_mut().zip(per_segment) {
            let missing = profile.size - seg.len();
            let mean = finite(mean_std(seg.iter().copied()).0);
            let median = finite(super::ingest::median_in_place(&mut seg));
            let z = mean.and_then(|mean| {
                if table_std > 0.0 {
                    finite((mean - table_mean) / table_std)
                } else {
                    Some(0.0)
                }
            });
            profile.numeric.push(NumericTrait {
                feature: table.headers[c].clone(),
                mean,
                median,
                z,
                missing,
            });
        }
    }

    for &c in categorical {
        // Counted by level position: no cell is copied or hashed per segment.
        let data = &table.columns[c];
        let names = preprocess::sorted_levels(data);
        let mut counts = vec![vec![0usize; names.len()]; k];
        for (cell, &l) in preprocess::level_indexes(data, &names).iter().zip(labels) {
            if let (Some(j), true) = (cell, l < k) {
                counts[l][*j] += 1;
            }
        }
        let overall: Vec<usize> = (0..names.len())
            .map(|j| counts.iter().map(|seg| seg[j]).sum())
            .collect();
        let total_present: usize = overall.iter().sum();
        for (profile, seg) in profiles.iter_mut().zip(&counts) {
            let present: usize = seg.iter().sum();
            let mut levels: Vec<LevelShare> = seg
                .iter()
                .enumerate()
                .filter(|&(_, &count)| count > 0)
                .map(|(j, &count)| {
                    let share = count as f64 / present as f64;
                    let table_share = overall[j] as f64 / total_present as f64;
                    LevelShare {
                        value: names[j].clone(),
                        count,
                        share,
                        lift: share / table_share,
                    }
                })
                .collect();
            levels.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            levels.truncate(LEVELS_LISTED);
            profile.categorical.push(CategoricalTrait {
                feature: table.headers[c].clone(),
                levels,
            });
        }
    }

    let mut used: HashMap<String, usize> = HashMap::new();
    for profile in &mut profiles {
        let base = segment_name(profile);
        let seen = used.entry(base.clone()).or_default();
        *seen += 1;
        profile.name = if *seen == 1 {
            base
        } else {
            format!("{base} ({seen})")
        };
    }
    profiles
}

/// The short generated name of a segment (see the module docs for the rule).
fn segment_name(profile: &SegmentProfile) -> String {
    let mut parts: Vec<String> = profile
        .traits()
        .iter()
        .filter_map(|t| match t {
            SegmentTrait::Numeric {
                feature, deviation, ..
            } => Some((feature_words(feature), deviation.is_above())),
            SegmentTrait::Category { .. } => None,
        })
        .take(2)
        .map(|(words, above)| {
            match (words.as_str(), above) {
                // "Low age" reads oddly; age is the one trait with everyday words.
                ("age", true) => "older".to_string(),
                ("age", false) => "younger".to_string(),
                (_, true) => format!("high {words}"),
                (_, false) => format!("low {words}"),
            }
        })
        .collect();
    let best_level = profile
        .categorical
        .iter()
        .flat_map(|c| c.levels.iter().map(move |l| (c.feature.as_str(), l)))
        .filter(|(_, l)| l.is_over_represented())
        // Highest lift, then highest share; on a full tie the earlier feature wins.
        .fold(None::<(&str, &LevelShare)>, |best, cand| match best {
            Some(b) if (b.1.lift, b.1.share) >= (cand.1.lift, cand.1.share) => Some(b),
            _ => Some(cand),
        });
    if let Some((feature, level)) = best_level {
        parts.push(level_words(feature, &level.value));
    }
    if parts.is_empty() {
        return "Typical customers".to_string();
    }
    let name = parts.join(", ");
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ingest::read_csv;

    fn table() -> Table {
        read_csv(
            b"total_spend,visitFrequency,region,member\n\
              100,1,Adama,yes\n\
              120,2,Adama,no\n\
              110,1,Adama,yes\n\
              900,9,Addis Ababa,no\n\
              950,8,Addis Ababa,no\n\
              NA,9,Addis Ababa,no\n",
        )
        .unwrap()
    }

    #[test]
    fn numeric_traits_and_names() {
        let t = table();
        let labels = [1, 1, 1, 0, 0, 0];
        let p = profile_segments(&t, &labels, 2, &[0, 1], &[2, 3], &[0.7, 0.6]);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].size, p[0].share), (3, 0.5));
        let spend = &p[0].numeric[0];
        // Segment 0 spend: 900, 950 (the missing cell is left out); table: 100, 120, 110, 900, 950.
        assert_eq!(spend.mean, Some(925.0));
        assert_eq!(spend.median, Some(925.0));
        assert_eq!(spend.missing, 1);
        let (m, s) = mean_std([100.0, 120.0, 110.0, 900.0, 950.0].into_iter());
        assert!((spend.z.unwrap() - (925.0 - m) / s).abs() < 1e-12);
        assert_eq!(p[0].name, "High spend, high visit frequency, Addis Ababa");
        assert_eq!(p[1].name, "Low visit frequency, low spend, Adama");
        assert_eq!(p[0].silhouette, Some(0.7));
        let region = &p[1].categorical[0];
        assert_eq!(region.levels[0].value, "Adama");
        assert_eq!(region.levels[0].share, 1.0);
        assert_eq!(region.levels[0].lift, 2.0);
    }

    /// The traits as (feature, reading) pairs, to compare in one assertion.
    fn described(p: &SegmentProfile) -> Vec<(String, String)> {
        p.traits()
            .iter()
            .map(|t| match t {
                SegmentTrait::Numeric {
                    feature, deviation, ..
                } => (feature.to_string(), format!("{deviation:?}")),
                SegmentTrait::Category { feature, level } => {
                    (feature.to_string(), level.value.clone())
                }
            })
            .collect()
    }

    #[test]
    fn traits_are_what_stands_out_strongest_first() {
        let t = table();
        let p = profile_segments(&t, &[1, 1, 1, 0, 0, 0], 2, &[0, 1], &[2, 3], &[]);
        // Segment 0: region lift 2, member "no" lift 1.5 (4 of 6 overall, all 3 here), spend
        // z = 1.22, visits z = 0.99 (just short of "well above").
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            described(&p[0]),
            pairs(&[
                ("region", "Addis Ababa"),
                ("member", "no"),
                ("total_spend", "WellAbove"),
                ("visitFrequency", "Above"),
            ])
        );
        // Segment 1: equal lifts (2) keep the profile's order; z = -0.99 is not "well below".
        assert_eq!(
            described(&p[1]),
            pairs(&[
                ("region", "Adama"),
                ("member", "yes"),
                ("visitFrequency", "Below"),
                ("total_spend", "Below"),
            ])
        );
    }

    #[test]
    fn deviations_start_at_half_a_standard_deviation() {
        assert_eq!(Deviation::of(0.49), None);
        assert_eq!(Deviation::of(-0.49), None);
        assert_eq!(Deviation::of(0.5), Some(Deviation::Above));
        assert_eq!(Deviation::of(-0.5), Some(Deviation::Below));
        assert_eq!(Deviation::of(1.0), Some(Deviation::WellAbove));
        assert_eq!(Deviation::of(-1.0), Some(Deviation::WellBelow));
        assert!(Deviation::Above.is_above() && !Deviation::WellBelow.is_above());
    }

    #[test]
    fn only_the_most_common_level_is_a_trait() {
        let level = |value: &str, share: f64, lift: f64| LevelShare {
            value: value.into(),
            count: 1,
            share,
            lift,
        };
        let p = SegmentProfile {
            segment: 0,
            name: String::new(),
            size: 10,
            share: 0.1,
            numeric: Vec::new(),
            categorical: vec![CategoricalTrait {
                feature: "region".into(),
                // "Adama" is over-represented but not the most common: the segment is not
                // "mostly Adama".
                levels: vec![level("Harar", 0.5, 1.0), level("Adama", 0.45, 2.0)],
            }],
            silhouette: None,
        };
        assert!(p.traits().is_empty());
    }

    #[test]
    fn a_segment_without_values_has_no_mean() {
        // The issue's reproduction: the first two customers lack `visits`.
        let t = read_csv(b"spend,visits\n1,\n1.1,\n50,5\n51,6\n52,7\n100,8\n101,9\n").unwrap();
        let p = profile_segments(&t, &[1, 1, 0, 0, 0, 2, 2], 3, &[0, 1], &[], &[]);
        let visits = &p[1].numeric[1];
        assert_eq!((visits.mean, visits.median, visits.z), (None, None, None));
        assert_eq!(visits.missing, 2);
        assert!(p[1].numeric[0].mean.is_some());
        // It survives JSON, where NaN would have become null.
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            serde_json::from_value::<Vec<SegmentProfile>>(json).unwrap(),
            p
        );
        // A profile stored before `missing` existed still reads.
        let old: NumericTrait =
            serde_json::from_str(r#"{"feature":"a","mean":1.0,"median":1.0,"z":0.5}"#).unwrap();
        assert_eq!(old.missing, 0);
    }

    #[test]
    fn vague_levels_name_their_feature_and_names_are_unique() {
        let t = read_csv(b"x,member\n1,yes\n1,yes\n1,no\n1,no\n").unwrap();
        let p = profile_segments(&t, &[0, 0, 1, 1], 2, &[0], &[1], &[]);
        assert_eq!(p[0].name, "Member: yes");
        assert_eq!(p[1].name, "Member: no");
        assert_eq!(p[0].silhouette, None);
        // Nothing distinctive: both fall back, and the second gets a suffix.
        let p = profile_segments(&t, &[0, 1, 0, 1], 2, &[0], &[1], &[]);
        assert_eq!(p[0].name, "Typical customers");
        assert_eq!(p[1].name, "Typical customers (2)");
    }

    #[test]
    fn words_from_names() {
        assert_eq!(feature_words("total_spend"), "spend");
        assert_eq!(feature_words("avg_basket_size"), "basket size");
        assert_eq!(feature_words("visitFrequency"), "visit frequency");
        assert_eq!(feature_words("Total"), "total");
    }
}
