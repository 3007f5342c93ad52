//! What a finished run keeps so that new customers can be placed in its segments without
//! clustering again: the run's preprocessing (fill values, scaling, one-hot levels, PCA) and
//! a rule that places a row of the run's feature space in a segment.
//!
//! The rule depends on the linkage, because each linkage means something different by "the
//! segment a customer belongs to":
//!
//! * **Ward** merges the two segments whose union adds least to the within-segment sum of
//!   squares. Adding one customer `x` to a segment of `n` customers with centroid `c` adds
//!   `n / (n + 1) * |x - c|^2`, so a new customer goes to the segment where that is least: the
//!   Ward criterion itself, applied once more ([`Placement::Centroids`]).
//! * **Single, complete, average and weighted** linkages join segments by the distances
//!   between their members: the nearest pair (single), the farthest pair (complete), the mean
//!   over all pairs (average, weighted). A new customer goes to the segment that the same
//!   criterion puts nearest: the segment of its nearest member, the segment whose farthest
//!   member is nearest, the segment with the least mean distance to its members
//!   ([`Placement::Members`]), in the run's distance. The members are the run's rows, or a
//!   fixed-seed sample of [`MAX_REFERENCE`] of them for larger runs, so a model stays a small
//!   file.
//! * **Centroid and median** linkages join the segments whose centres are nearest: a new
//!   customer goes to the segment with the nearest centroid.
//!
//! A model is JSON with a `version`; this version reads every earlier one ([`Model::read`]).

use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::distance::distance;
use super::ingest::{ColumnData, Table};
use super::pca::Pca;
use super::preprocess::{Encoded, levels_of};
use super::types::{Method, Metric};

/// The model format this version writes. Readers accept every version up to theirs.
pub const MODEL_VERSION: u32 = 1;

/// Most reference customers a neighbour rule keeps.
pub const MAX_REFERENCE: usize = 5_000;

/// Seed of the reference sample; fixed so that the same run gives the same model.
const REFERENCE_SEED: u64 = 0x5E6_0DE1;

/// The preprocessing and placement rule of a finished run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Model {
    pub version: u32,
    pub method: Method,
    pub metric: Metric,
    #[serde(flatten)]
    pub preprocessing: Preprocessing,
    /// Segment names and sizes, segment 0 first.
    pub segments: Vec<SegmentSummary>,
    pub placement: Placement,
}

/// How a run turned a table into its feature space: scikit-learn's fitted `ColumnTransformer`
/// (see [`super::preprocess`]) and PCA, kept to apply to new rows.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Preprocessing {
    /// Standardized columns, in the run's feature order.
    pub numeric: Vec<NumericFeature>,
    /// One-hot encoded columns, after the numeric ones.
    pub categorical: Vec<CategoricalFeature>,
    /// The run's PCA, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pca: Option<Projection>,
}

impl Preprocessing {
    /// What the run fitted: its `numeric` and `categorical` feature columns as `encoded`
    /// fitted them, without PCA (see [`Projection::of`]).
    pub fn fitted(numeric: &[String], categorical: &[String], encoded: &Encoded) -> Preprocessing {
        Preprocessing {
            numeric: numeric
                .iter()
                .zip(&encoded.scaling)
                .zip(&encoded.numeric_fills)
                .map(|((column, s), &fill)| NumericFeature {
                    column: column.clone(),
                    fill,
                    mean: s.mean,
                    scale: s.scale,
                })
                .collect(),
            categorical: categorical
                .iter()
                .zip(&encoded.levels)
                .zip(&encoded.categorical_fills)
                .map(|((column, levels), fill)| CategoricalFeature {
                    column: column.clone(),
                    fill: fill.clone(),
                    levels: levels.clone(),
                })
                .collect(),
            pca: None,
        }
    }

    /// The columns it reads, numeric then categorical.
    pub fn columns(&self) -> Vec<String> {
        self.numeric
            .iter()
            .map(|f| f.column.clone())
            .chain(self.categorical.iter().map(|f| f.column.clone()))
            .collect()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NumericFeature {
    pub column: String,
    /// What a missing cell becomes (the run's median).
    pub fill: f64,
    pub mean: f64,
    pub scale: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CategoricalFeature {
    pub column: String,
    /// What a missing cell becomes (the run's most frequent level).
    pub fill: Option<String>,
    /// One 0/1 feature per level, in this order. A level the run did not see sets none of
    /// them, as scikit-learn's `OneHotEncoder(handle_unknown="ignore")` does.
    pub levels: Vec<String>,
}

/// `(x - mean) @ components.T`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Projection {
    pub mean: Vec<f64>,
    /// One principal axis per row.
    pub components: Vec<Vec<f64>>,
}

impl Projection {
    pub fn of(pca: &Pca) -> Projection {
        Projection {
            mean: pca.mean.clone(),
            components: pca
                .components
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SegmentSummary {
    pub segment: usize,
    pub name: String,
    pub size: usize,
}

/// What a row of the run's feature space is compared with to place it in a segment; the
/// comparison is the run's linkage criterion (see the module docs).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Placement {
    /// Each segment's mean row (Ward, centroid and median linkage).
    Centroids { centroids: Vec<Vec<f64>> },
    /// Members of every segment, `labels[i]` the segment of `points[i]` (single, complete,
    /// average and weighted linkage).
    Members {
        points: Vec<Vec<f64>>,
        labels: Vec<usize>,
    },
}

/// Why a table cannot be placed with a model; every message names what to change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the model is version {found}; this SegmentIQ reads models up to version {MODEL_VERSION}: use a newer SegmentIQ"
    )]
    TooNew { found: u32 },
    #[error("the model is not readable: {0}")]
    Unreadable(String),
    #[error("the table has no column {}; the run used {}", quoted(.missing), quoted(.expected))]
    MissingColumns {
        missing: Vec<String>,
        expected: Vec<String>,
    },
    /// Every numeric column of the run that holds words here, so one upload names them all.
    #[error("{}", not_numbers(.0))]
    NotNumbers(Vec<WordsInNumbers>),
}

/// A numeric column of the run that holds words in the table being placed.
#[derive(Debug, Clone, PartialEq)]
pub struct WordsInNumbers {
    pub column: String,
    /// The first few offending cells: row index (from 0, as in the output) and text.
    pub rows: Vec<(usize, String)>,
    pub count: usize,
}

fn not_numbers(columns: &[WordsInNumbers]) -> String {
    columns
        .iter()
        .map(|c| {
            format!(
                "column `{}` must hold numbers, as in the run, but {}",
                c.column,
                bad_cells(&c.rows, c.count)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bad_cells(rows: &[(usize, String)], count: usize) -> String {
    let shown = rows
        .iter()
        .map(|(row, text)| format!("row_index {row} holds `{text}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let more = count.saturating_sub(rows.len());
    if more > 0 {
        format!("{shown} (and {more} more)")
    } else {
        shown
    }
}

/// Rows named per problem in messages; the rest are counted.
const SHOWN_ROWS: usize = 5;

/// New customers placed in a run's segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    /// Segment of every row, in input order.
    pub labels: Vec<usize>,
    /// What was done to rows that did not fit the run exactly (missing cells filled, levels
    /// the run never saw, columns the model does not use), in sentences naming columns and
    /// rows.
    pub notes: Vec<String>,
    /// Per row, in input order, what was done to place it: a cell filled with the run's value,
    /// a level the run never saw. Empty for rows that fit the run exactly.
    pub remarks: Vec<Vec<String>>,
}

impl Model {
    /// The model of a run: its `preprocessing`, the clustered matrix `x` (in the feature space
    /// after PCA), the segment of every row and the segments' names.
    pub fn build(
        method: Method,
        metric: Metric,
        preprocessing: Preprocessing,
        x: ArrayView2<f64>,
        labels: &[usize],
        names: &[String],
    ) -> Model {
        let mut sizes = vec![0usize; names.len()];
        for &l in labels {
            sizes[l] += 1;
        }
        let placement = match method {
            Method::Ward | Method::Centroid | Method::Median => Placement::Centroids {
                centroids: centroids(x, labels, &sizes),
            },
            Method::Single | Method::Complete | Method::Average | Method::Weighted => {
                let rows = reference_rows(x.nrows());
                Placement::Members {
                    points: rows.iter().map(|&i| x.row(i).to_vec()).collect(),
                    labels: rows.iter().map(|&i| labels[i]).collect(),
                }
            }
        };
        Model {
            version: MODEL_VERSION,
            method,
            metric,
            preprocessing,
            segments: names
                .iter()
                .enumerate()
                .map(|(segment, name)| SegmentSummary {
                    segment,
                    name: name.clone(),
                    size: sizes[segment],
                })
                .collect(),
            placement,
        }
    }

    /// How a new customer is placed, in words.
    pub fn rule(&self) -> &'static str {
        match self.method {
            Method::Ward => "the segment whose sum of squares grows least",
            Method::Centroid | Method::Median => "the segment with the nearest centre",
            Method::Single => "the segment of the nearest customer of the run",
            Method::Complete => "the segment whose farthest customer is nearest",
            Method::Average | Method::Weighted => "the segment nearest on average",
        }
    }

    /// Reads a model written by this or an earlier version.
    pub fn read(json: &[u8]) -> Result<Model, ModelError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let version: Version =
            serde_json::from_slice(json).map_err(|e| ModelError::Unreadable(e.to_string()))?;
        if version.version > MODEL_VERSION {
            return Err(ModelError::TooNew {
                found: version.version,
            });
        }
        let model: Model =
            serde_json::from_slice(json).map_err(|e| ModelError::Unreadable(e.to_string()))?;
        model.check().map_err(ModelError::Unreadable)?;
        Ok(model)
    }

    /// That the parts fit together (a hand-edited or truncated file may not): every
    /// dimension agrees, every segment number exists, every number is finite.
    fn check(&self) -> Result<(), String> {
        let p = &self.preprocessing;
        let encoded = p.numeric.len() + p.categorical.iter().map(|c| c.levels.len()).sum::<usize>();
        let mut width = encoded;
        if let Some(pca) = &p.pca {
            if pca.mean.len() != encoded || pca.components.iter().any(|c| c.len() != encoded) {
                return Err(format!(
                    "its PCA does not take the {encoded} encoded features"
                ));
            }
            width = pca.components.len();
        }
        if p.numeric.iter().any(|f| {
            !(f.fill.is_finite() && f.mean.is_finite() && f.scale.is_finite() && f.scale != 0.0)
        }) {
            return Err("a numeric feature has a fill, mean or scale that is not a finite number (or a zero scale)".into());
        }
        let k = self.segments.len();
        if k == 0 {
            return Err("it has no segments".into());
        }
        let rows = match &self.placement {
            Placement::Centroids { centroids } => {
                if centroids.len() != k {
                    return Err(format!(
                        "it has {} centroids for {k} segments",
                        centroids.len()
                    ));
                }
                centroids
            }
            Placement::Members { points, labels } => {
                if points.len() != labels.len() || labels.iter().any(|&l| l >= k) {
                    return Err(format!("its members do not belong to its {k} segments"));
                }
                points
            }
        };
        if rows
            .iter()
            .any(|r| r.len() != width || r.iter().any(|v| !v.is_finite()))
        {
            return Err(format!(
                "its placement points do not have the run's {width} features"
            ));
        }
        Ok(())
    }

    /// Places every row of `table` in a segment. Extra columns are ignored (and named in the
    /// notes); a missing column or a text cell in a numeric column is refused.
    pub fn place(&self, table: &Table) -> Result<Placed, ModelError> {
        let mut notes = Vec::new();
        let mut remarks = vec![Vec::new(); table.n_rows];
        let x = self.encode(table, &mut notes, &mut remarks)?;
        let x = match &self.preprocessing.pca {
            Some(p) => project(x.view(), p),
            None => x,
        };
        let labels = x
            .rows()
            .into_iter()
            .map(|r| self.segment_of(&r.to_vec()))
            .collect();
        let used = self.preprocessing.columns();
        let extra: Vec<String> = table
            .headers
            .iter()
            .filter(|h| !used.contains(h))
            .cloned()
            .collect();
        if !extra.is_empty() {
            notes.push(format!(
                "columns the run did not use were ignored: {}",
                quoted(&extra)
            ));
        }
        Ok(Placed {
            labels,
            notes,
            remarks,
        })
    }

    /// The run's preprocessing applied to `table`.
    fn encode(
        &self,
        table: &Table,
        notes: &mut Vec<String>,
        remarks: &mut [Vec<String>],
    ) -> Result<Array2<f64>, ModelError> {
        let Preprocessing {
            numeric,
            categorical,
            ..
        } = &self.preprocessing;
        let expected = self.preprocessing.columns();
        let missing: Vec<String> = expected
            .iter()
            .filter(|c| !table.headers.contains(c))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(ModelError::MissingColumns { missing, expected });
        }
        let column = |name: &str| {
            let i = table.headers.iter().position(|h| h == name).unwrap_or(0);
            &table.columns[i]
        };
        let width = numeric.len() + categorical.iter().map(|c| c.levels.len()).sum::<usize>();
        let mut x = Array2::<f64>::zeros((table.n_rows, width));
        let (read, words): (Vec<_>, Vec<_>) = numeric
            .iter()
            .map(|f| numbers(&f.column, column(&f.column)))
            .partition(Result::is_ok);
        if !words.is_empty() {
            return Err(ModelError::NotNumbers(
                words.into_iter().filter_map(Result::err).collect(),
            ));
        }
        for ((j, f), values) in numeric.iter().enumerate().zip(read.into_iter().flatten()) {
            let filled = values.iter().filter(|v| v.is_none()).count();
            if filled > 0 {
                notes.push(format!(
                    "{filled} missing `{}` cells were filled with the run's median, {}",
                    f.column,
                    super::ingest::format_number(f.fill)
                ));
            }
            let fill = super::ingest::format_number(f.fill);
            for (i, v) in values.iter().enumerate() {
                if v.is_none() {
                    remarks[i].push(format!("`{}` was missing: filled with {fill}", f.column));
                }
                x[[i, j]] = (v.unwrap_or(f.fill) - f.mean) / f.scale;
            }
        }
        let mut offset = numeric.len();
        for f in categorical {
            let cells = levels_of(column(&f.column));
            let index: BTreeMap<&str, usize> = f
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i))
                .collect();
            let mut unknown: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
            let mut filled = 0;
            for (i, cell) in cells.iter().enumerate() {
                if cell.is_none() {
                    filled += 1;
                    if let Some(fill) = &f.fill {
                        remarks[i]
                            .push(format!("`{}` was missing: filled with `{fill}`", f.column));
                    }
                }
                let Some(level) = cell.as_deref().or(f.fill.as_deref()) else {
                    continue;
                };
                match index.get(level) {
                    Some(&k) => x[[i, offset + k]] = 1.0,
                    None => {
                        remarks[i]
                            .push(format!("`{}` level `{level}` was not in the run", f.column));
                        unknown.entry(level).or_default().push(i);
                    }
                }
            }
            if filled > 0 {
                notes.push(format!(
                    "{filled} missing `{}` cells were filled with the run's most frequent level, `{}`",
                    f.column,
                    f.fill.as_deref().unwrap_or("")
                ));
            }
            for (level, rows) in unknown {
                let shown: Vec<String> =
                    rows.iter().take(SHOWN_ROWS).map(usize::to_string).collect();
                let more = rows.len().saturating_sub(SHOWN_ROWS);
                notes.push(format!(
                    "`{}` level `{level}` was not in the run, so it counts as none of the run's levels: row_index {}{}",
                    f.column,
                    shown.join(", "),
                    if more > 0 { format!(" (and {more} more)") } else { String::new() }
                ));
            }
            offset += f.levels.len();
        }
        Ok(x)
    }

    /// The segment of one row of the run's feature space: the least cost by the run's
    /// linkage criterion, the first segment on a tie.
    fn segment_of(&self, row: &[f64]) -> usize {
        let k = self.segments.len();
        let mut cost = vec![0.0; k];
        match &self.placement {
            Placement::Centroids { centroids } => {
                for (s, c) in centroids.iter().enumerate() {
                    cost[s] = if self.method == Method::Ward {
                        let n = self.segments.get(s).map_or(1, |s| s.size) as f64;
                        let d2: f64 = row.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum();
                        n / (n + 1.0) * d2
                    } else {
                        distance(row, c, Metric::Euclidean)
                    };
                }
            }
            Placement::Members { points, labels } => {
                let start = match self.method {
                    Method::Single => f64::INFINITY,
                    _ => 0.0,
                };
                cost.fill(start);
                let mut members = vec![0usize; k];
                for (p, &l) in points.iter().zip(labels) {
                    let d = distance(row, p, self.metric);
                    cost[l] = match self.method {
                        Method::Single => cost[l].min(d),
                        Method::Complete => cost[l].max(d),
                        _ => cost[l] + d,
                    };
                    members[l] += 1;
                }
                for (c, &m) in cost.iter_mut().zip(&members) {
                    if m == 0 {
                        *c = f64::INFINITY;
                    } else if !matches!(self.method, Method::Single | Method::Complete) {
                        *c /= m as f64;
                    }
                }
            }
        }
        (0..k).fold(0, |best, s| if cost[s] < cost[best] { s } else { best })
    }
}

/// The numbers of a column the run used as numeric. A column that reads as text in the new
/// file (one stray word makes a whole column text) is refused with the cells that are not
/// numbers.
fn numbers(name: &str, data: &ColumnData) -> Result<Vec<Option<f64>>, WordsInNumbers> {
    match data {
        ColumnData::Numeric(v) => Ok(v.clone()),
        ColumnData::Text(cells) => {
            let mut bad = Vec::new();
            let mut count = 0;
            let values = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let c = c.as_deref()?;
                    let parsed = c.trim().parse::<f64>().ok().filter(|v| v.is_finite());
                    if parsed.is_none() {
                        count += 1;
                        if bad.len() < SHOWN_ROWS {
                            bad.push((i, c.to_string()));
                        }
                    }
                    parsed
                })
                .collect();
            if count > 0 {
                return Err(WordsInNumbers {
                    column: name.to_string(),
                    rows: bad,
                    count,
                });
            }
            Ok(values)
        }
    }
}

fn project(x: ArrayView2<f64>, p: &Projection) -> Array2<f64> {
    let d = p.mean.len();
    let components = Array2::from_shape_fn((p.components.len(), d), |(i, j)| p.components[i][j]);
    let centred = &x - &ndarray::ArrayView1::from(&p.mean);
    centred.dot(&components.t())
}

/// Mean row of each segment.
fn centroids(x: ArrayView2<f64>, labels: &[usize], sizes: &[usize]) -> Vec<Vec<f64>> {
    let d = x.ncols();
    let mut sums = vec![vec![0.0; d]; sizes.len()];
    for (row, &l) in x.rows().into_iter().zip(labels) {
        for (s, v) in sums[l].iter_mut().zip(row) {
            *s += v;
        }
    }
    for (sum, &n) in sums.iter_mut().zip(sizes) {
        sum.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    sums
}

/// The rows a neighbour rule keeps: all of them up to [`MAX_REFERENCE`], else a fixed-seed
/// uniform sample in row order (segments keep their shares, up to sampling noise).
fn reference_rows(n: usize) -> Vec<usize> {
    if n <= MAX_REFERENCE {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(REFERENCE_SEED);
    let mut rows = rand::seq::index::sample(&mut rng, n, MAX_REFERENCE).into_vec();
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::compare::compare;
    use crate::engine::ingest::read_csv;
    use crate::engine::pipeline::{Params, run};
    use crate::engine::{NoProgress, PcaSpec};
    use rand::Rng;
    use rand_distr::{Distribution, Normal};

    /// Customers of four known types: three numbers around each type's centre and a favourite
    /// category most of the type shares. Returns the CSV and every row's type.
    fn customers(n: usize, seed: u64) -> (String, Vec<usize>) {
        const CENTRES: [[f64; 3]; 4] = [
            [25.0, 2_000.0, 12.0],
            [45.0, 6_000.0, 5.0],
            [60.0, 15_000.0, 3.0],
            [35.0, 9_000.0, 9.0],
        ];
        const SPREAD: [f64; 3] = [4.0, 900.0, 1.5];
        const FAVOURITE: [&str; 4] = ["Bakery", "Teff", "Meat", "Coffee"];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut csv = String::from("customer_id,age,total_spend,visits,favourite,store\n");
        let mut types = Vec::with_capacity(n);
        for i in 0..n {
            let t = rng.random_range(0..4);
            let value = |j: usize, rng: &mut ChaCha8Rng| {
                Normal::new(CENTRES[t][j], SPREAD[j]).unwrap().sample(rng)
            };
            let (age, spend, visits) = (value(0, &mut rng), value(1, &mut rng), value(2, &mut rng));
            let favourite = if rng.random_bool(0.8) {
                FAVOURITE[t]
            } else {
                FAVOURITE[rng.random_range(0..4)]
            };
            csv.push_str(&format!(
                "C{i:05},{age:.1},{spend:.2},{visits:.1},{favourite},S{}\n",
                rng.random_range(0..3)
            ));
            types.push(t);
        }
        (csv, types)
    }

    fn params(method: Method, pca: Option<PcaSpec>) -> Params {
        let mut params = Params {
            pca,
            k_sweep: false,
            ..Params::new(method, 4)
        };
        // A column that tells nothing about the type, left out as an analyst would.
        params.features.exclude = vec!["store".into()];
        params
    }

    /// New customers of the same types are placed as accurately as a run places its own: the
    /// adjusted Rand index of the placed customers against their true types is within 0.02 of
    /// what a run over everyone (the run's customers and the new ones together) scores on the
    /// same new customers, for Ward, average, complete and single linkage, with and without
    /// PCA.
    #[test]
    fn new_customers_are_placed_as_well_as_the_runs_own() {
        let (all, types) = customers(1_000, 1);
        let lines: Vec<&str> = all.lines().collect();
        let (header, rows) = (lines[0], &lines[1..]);
        let table = |rows: &[&str]| {
            read_csv(format!("{header}\n{}\n", rows.join("\n")).as_bytes()).unwrap()
        };
        let (train, fresh) = (table(&rows[..600]), table(&rows[600..]));
        let everyone = read_csv(all.as_bytes()).unwrap();
        let fresh_types = &types[600..];
        for (method, pca) in [
            (Method::Ward, None),
            (Method::Ward, Some(PcaSpec::Components(3))),
            (Method::Average, None),
            (Method::Complete, None),
            (Method::Single, Some(PcaSpec::Variance(0.9))),
        ] {
            let p = params(method, pca);
            let joint = run(&everyone, &p, &NoProgress).unwrap();
            let joint = compare(&joint.labels[600..], fresh_types).adjusted_rand_index;
            let outcome = run(&train, &p, &NoProgress).unwrap();
            let placed = outcome.model.place(&fresh).unwrap();
            let new = compare(&placed.labels, fresh_types).adjusted_rand_index;
            assert!(
                new >= joint - 0.02,
                "{method:?} {pca:?}: placed {new}, in a run {joint}"
            );
            // The run's own customers land in their own segments.
            let again = outcome.model.place(&train).unwrap();
            let same = again
                .labels
                .iter()
                .zip(&outcome.labels)
                .filter(|(a, b)| a == b)
                .count();
            assert!(
                same as f64 >= 0.97 * train.n_rows as f64,
                "{method:?}: {same}"
            );
            assert!(
                placed.notes.iter().any(|n| n.contains("`customer_id`")),
                "{:?}",
                placed.notes
            );
        }
    }

    #[test]
    fn a_model_round_trips_through_json_and_refuses_newer_versions() {
        let (train, _) = customers(200, 3);
        let train = read_csv(train.as_bytes()).unwrap();
        for method in [Method::Ward, Method::Complete] {
            let model = run(
                &train,
                &params(method, Some(PcaSpec::Components(2))),
                &NoProgress,
            )
            .unwrap()
            .model;
            let json = serde_json::to_vec(&model).unwrap();
            assert_eq!(Model::read(&json).unwrap(), model);
        }
        let err = Model::read(br#"{"version": 2, "method": "ward"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the model is version 2; this SegmentIQ reads models up to version 1: use a newer SegmentIQ"
        );
        assert!(matches!(Model::read(b"{}"), Err(ModelError::Unreadable(_))));
        // Parts that do not fit together are refused, not left to fail while placing.
        let mut model: serde_json::Value =
            serde_json::from_slice(include_bytes!("../../tests/fixtures/models/v1-ward.json"))
                .unwrap();
        let refusal = |model: &serde_json::Value| {
            Model::read(model.to_string().as_bytes())
                .unwrap_err()
                .to_string()
        };
        model["placement"]["centroids"][0]
            .as_array_mut()
            .unwrap()
            .pop();
        assert_eq!(
            refusal(&model),
            "the model is not readable: its placement points do not have the run's 6 features"
        );
        model["placement"]["centroids"]
            .as_array_mut()
            .unwrap()
            .pop();
        let err = refusal(&model);
        assert!(err.ends_with("it has 2 centroids for 3 segments"), "{err}");
    }

    /// A model written by the first version of the format, committed as it was written, is
    /// read and used by this version.
    #[test]
    fn models_of_the_first_version_stay_readable() {
        let json = include_bytes!("../../tests/fixtures/models/v1-ward.json");
        let model = Model::read(json).unwrap();
        assert_eq!(model.version, 1);
        let table =
            read_csv(b"age,total_spend,visits,favourite\n25,2100,12,Bakery\n61,14800,3,Meat\n")
                .unwrap();
        let placed = model.place(&table).unwrap();
        let name = |row: usize| model.segments[placed.labels[row]].name.as_str();
        assert_eq!(name(0), "High visits, younger, Bakery");
        assert_eq!(name(1), "High spend, older, Meat");
    }

    #[test]
    fn tables_that_do_not_fit_are_refused_or_noted_by_row() {
        let (train, _) = customers(200, 4);
        let train = read_csv(train.as_bytes()).unwrap();
        let model = run(&train, &params(Method::Ward, None), &NoProgress)
            .unwrap()
            .model;
        let place = |csv: &str| model.place(&read_csv(csv.as_bytes()).unwrap());

        let err = place("age,visits\n30,4\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "the table has no column `total_spend`, `favourite`; the run used `age`, `total_spend`, `visits`, `favourite`"
        );
        let err = place(
            "age,total_spend,visits,favourite\n30,4000,4,Teff\n31,lots,5,Teff\n40,n/a?,3,Meat\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "column `total_spend` must hold numbers, as in the run, but row_index 1 holds `lots`, row_index 2 holds `n/a?`"
        );
        // Every such column is named at once, not one per upload.
        let err = place("age,total_spend,visits,favourite\nold,4000,4,Teff\n31,lots,5,Teff\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column `age` must hold numbers, as in the run, but row_index 0 holds `old`; column `total_spend` must hold numbers, as in the run, but row_index 1 holds `lots`"
        );
        let placed = place(
            "age,total_spend,visits,favourite,email\n30,,4,Teff,a@b\n31,5000,5,Chocolate,c@d\n32,5000,5,,e@f\n",
        )
        .unwrap();
        assert_eq!(placed.labels.len(), 3);
        let notes = placed.notes.join("\n");
        assert!(
            notes.contains("1 missing `total_spend` cells were filled with the run's median"),
            "{notes}"
        );
        assert!(notes.contains("`favourite` level `Chocolate` was not in the run, so it counts as none of the run's levels: row_index 1"), "{notes}");
        assert!(
            notes.contains(
                "1 missing `favourite` cells were filled with the run's most frequent level"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("columns the run did not use were ignored: `email`"),
            "{notes}"
        );
        // The same, row by row.
        assert_eq!(placed.remarks.len(), 3);
        assert_eq!(placed.remarks[0].len(), 1);
        assert!(
            placed.remarks[0][0].starts_with("`total_spend` was missing: filled with "),
            "{:?}",
            placed.remarks[0]
        );
        assert_eq!(
            placed.remarks[1],
            ["`favourite` level `Chocolate` was not in the run"]
        );
        assert_eq!(placed.remarks[2].len(), 1);
        assert!(
            placed.remarks[2][0].starts_with("`favourite` was missing: filled with `"),
            "{:?}",
            placed.remarks[2]
        );
    }

    #[test]
    fn neighbour_rules_keep_a_bounded_sample() {
        assert_eq!(reference_rows(10), (0..10).collect::<Vec<_>>());
        let rows = reference_rows(100_000);
        assert_eq!(rows.len(), MAX_REFERENCE);
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(rows, reference_rows(100_000), "the sample is fixed");
    }
}
