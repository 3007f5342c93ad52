//! Turning the chosen columns into the numeric matrix that is clustered.
//!
//! This reproduces the predecessor's scikit-learn pipeline exactly, so that the same table gives
//! the same matrix (and therefore the same tree) in both products:
//!
//! ```text
//! ColumnTransformer([
//!     ("num", Pipeline([SimpleImputer(strategy="median"), StandardScaler()]), numeric),
//!     ("cat", Pipeline([SimpleImputer(strategy="most_frequent"),
//!                       OneHotEncoder(handle_unknown="ignore")]), categorical),
//! ])
//! ```
//!
//! * numeric: missing cells become the column median (of the present values); then each column
//!   is centred on its mean and divided by its population standard deviation (`ddof = 0`),
//!   with a zero deviation replaced by 1 as `StandardScaler` does;
//! * categorical: missing cells become the most frequent level (ties go to the smallest level,
//!   as `SimpleImputer` does), then one 0/1 column per level, levels in sorted order, unscaled;
//! * columns: every numeric feature first, then the categorical ones, each group in the order
//!   given (the table's header order), as `ColumnTransformer` concatenates its transformers.

use super::ingest::{
    ColumnData, FastHash, Table, distinct_count, format_number, median_in_place, number_key,
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A column whose missing cells were filled, reported so users can judge the effect.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Imputation {
    pub column: String,
    /// Number of cells filled.
    pub count: usize,
    /// The fill value: a number for numeric columns (the median), a string for categorical ones.
    pub value: serde_json::Value,
}

/// Mean and scale a numeric feature was standardized with (what `StandardScaler` keeps).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Scaling {
    pub mean: f64,
    pub scale: f64,
}

/// The encoded matrix and what each of its columns means.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// `n_rows x encoded_feature_names.len()`, numeric features first.
    pub matrix: Array2<f64>,
    /// Names of the encoded columns: numeric features as is, levels as `column_level`
    /// (scikit-learn's `OneHotEncoder.get_feature_names_out` style).
    pub feature_names: Vec<String>,
    pub imputed: Vec<Imputation>,
    /// One per numeric feature.
    pub scaling: Vec<Scaling>,
    /// What fills a missing cell of each numeric feature (its median), even where none was.
    pub numeric_fills: Vec<f64>,
    /// Sorted levels of each categorical feature.
    pub levels: Vec<Vec<String>>,
    /// What fills a missing cell of each categorical feature (its most frequent level).
    pub categorical_fills: Vec<Option<String>>,
}

/// The text form of a categorical cell. Numeric columns forced to be categorical use their
/// shortest number form as the level.
pub(crate) fn levels_of(data: &ColumnData) -> Vec<Option<String>> {
    match data {
        ColumnData::Text(v) => v.clone(),
        ColumnData::Numeric(v) => v.iter().map(|x| x.map(format_number)).collect(),
    }
}

/// Sorted distinct levels of a column. Text sorts by code point (as NumPy sorts strings);
/// numbers forced to be categorical sort numerically (as `OneHotEncoder` does for numbers).
/// Only the distinct values are sorted (a million cells of a dozen levels sort a dozen).
pub fn sorted_levels(data: &ColumnData) -> Vec<String> {
    match data {
        ColumnData::Text(v) => {
            let distinct: HashSet<&str, FastHash> =
                v.iter().flatten().map(String::as_str).collect();
            let mut levels: Vec<String> = distinct.into_iter().map(str::to_string).collect();
            levels.sort_unstable();
            levels
        }
        ColumnData::Numeric(v) => {
            let distinct: HashSet<u64, FastHash> =
                v.iter().flatten().map(|&x| number_key(x)).collect();
            let mut values: Vec<f64> = distinct.into_iter().map(f64::from_bits).collect();
            values.sort_unstable_by(f64::total_cmp);
            values.into_iter().map(format_number).collect()
        }
    }
}

/// Number of distinct non-missing levels (cheap sizing check before encoding).
pub fn level_count(data: &ColumnData) -> usize {
    distinct_count(data)
}

/// Each cell's position in `levels` (the column's [`sorted_levels`]), `None` when missing.
pub(crate) fn level_indexes(data: &ColumnData, levels: &[String]) -> Vec<Option<usize>> {
    let index: HashMap<&str, usize, FastHash> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| (l.as_str(), i))
        .collect();
    match data {
        ColumnData::Text(v) => v
            .iter()
            .map(|cell| cell.as_deref().and_then(|l| index.get(l).copied()))
            .collect(),
        ColumnData::Numeric(v) => {
            // One formatting per distinct number, not per cell.
            let mut by_key: HashMap<u64, Option<usize>, FastHash> = HashMap::default();
            v.iter()
                .map(|cell| {
                    let x = (*cell)?;
                    *by_key
                        .entry(number_key(x))
                        .or_insert_with(|| index.get(format_number(x).as_str()).copied())
                })
                .collect()
        }
    }
}

/// Encodes `numeric` and `categorical` columns (indices into the table) as described in the
/// module docs. Numeric indices must point at numeric columns; callers validate kinds first.
pub fn encode(table: &Table, numeric: &[usize], categorical: &[usize]) -> Encoded {
    let n = table.n_rows;
    let mut levels: Vec<Vec<String>> = Vec::with_capacity(categorical.len());
    for &c in categorical {
        levels.push(sorted_levels(&table.columns[c]));
    }
    let width = numeric.len() + levels.iter().map(Vec::len).sum::<usize>();
    let mut matrix = Array2::<f64>::zeros((n, width));
    let mut feature_names = Vec::with_capacity(width);
    let mut imputed = Vec::new();
    let mut scaling = Vec::with_capacity(numeric.len());
    let mut numeric_fills = Vec::with_capacity(numeric.len());
    let mut categorical_fills = Vec::with_capacity(categorical.len());

    for (j, &c) in numeric.iter().enumerate() {
        let name = &table.headers[c];
        feature_names.push(name.clone());
        let values: &[Option<f64>] = match &table.columns[c] {
            ColumnData::Numeric(v) => v,
            ColumnData::Text(_) => &[],
        };
        let mut present: Vec<f64> = values.iter().flatten().copied().collect();
        let missing = n - present.len();
        let fill = if present.is_empty() {
            0.0
        } else {
            median_in_place(&mut present)
        };
        if missing > 0 {
            imputed.push(Imputation {
                column: name.clone(),
                count: missing,
                value: serde_json::Number::from_f64(fill)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
            });
        }
        let filled = |i: usize| values.get(i).copied().flatten().unwrap_or(fill);
        let mean = (0..n).map(filled).sum::<f64>() / n as f64;
        let var = (0..n).map(|i| (filled(i) - mean).powi(2)).sum::<f64>() / n as f64;
        let scale = if var > 0.0 { var.sqrt() } else { 1.0 };
        for i in 0..n {
            matrix[[i, j]] = (filled(i) - mean) / scale;
        }
        scaling.push(Scaling { mean, scale });
        numeric_fills.push(fill);
    }

    let mut offset = numeric.len();
    for (&c, lv) in categorical.iter().zip(&levels) {
        let name = &table.headers[c];
        let cells = level_indexes(&table.columns[c], lv);
        let mut counts = vec![0usize; lv.len()];
        for &k in cells.iter().flatten() {
            counts[k] += 1;
        }
        // Most frequent level; ties go to the smallest level text.
        let mode = (0..lv.len()).reduce(|best, k| match counts[k].cmp(&counts[best]) {
            std::cmp::Ordering::Greater => k,
            std::cmp::Ordering::Equal if lv[k] < lv[best] => k,
            _ => best,
        });
        let missing = cells.iter().filter(|c| c.is_none()).count();
        if missing > 0 {
            if let Some(mode) = mode {
                imputed.push(Imputation {
                    column: name.clone(),
                    count: missing,
                    value: serde_json::Value::String(lv[mode].clone()),
                });
            }
        }
        for l in lv {
            feature_names.push(format!("{name}_{l}"));
        }
        for (i, cell) in cells.iter().enumerate() {
            if let Some(k) = cell.or(mode) {
                matrix[[i, offset + k]] = 1.0;
            }
        }
        offset += lv.len();
        categorical_fills.push(mode.map(|k| lv[k].clone()));
    }

    Encoded {
        matrix,
        feature_names,
        imputed,
        scaling,
        numeric_fills,
        levels,
        categorical_fills,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ingest::read_csv;

    /// Expected values from scikit-learn 1.9.1 / NumPy 2.4.6 / pandas 3.1.1:
    ///
    /// ```python
    /// df = pd.read_csv(io.StringIO(CSV))
    /// ct = ColumnTransformer([
    ///     ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["age", "spend"]),
    ///     ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
    ///                           OneHotEncoder(sparse_output=False)), ["region", "gender"])])
    /// ct.fit_transform(df)
    /// ```
    const CSV: &str = "age,spend,region,gender\n\
        25,1200.5,Addis Ababa,F\n\
        40,,Oromia,M\n\
        NA,300,Addis Ababa,\n\
        33,8000,Amhara,M\n\
        58,450.25,,F\n\
        33,2500,Oromia,F\n";

    #[rustfmt::skip]
    const EXPECTED: [[f64; 7]; 6] = [
        [-1.1600837868547962, -0.4044446648281645, 1.0, 0.0, 0.0, 1.0, 0.0],
        [0.29002094671369905, -0.4044446648281645, 0.0, 0.0, 1.0, 0.0, 1.0],
        [-0.3866945956182654, -0.7433295598099925, 1.0, 0.0, 0.0, 1.0, 0.0],
        [-0.3866945956182654, 2.154409131317243, 0.0, 1.0, 0.0, 0.0, 1.0],
        [2.030146626995893, -0.6867860223629968, 1.0, 0.0, 0.0, 1.0, 0.0],
        [-0.3866945956182654, 0.08459578051207481, 0.0, 0.0, 1.0, 1.0, 0.0],
    ];

    #[test]
    fn matches_scikit_learn_column_transformer() {
        let t = read_csv(CSV.as_bytes()).unwrap();
        let e = encode(&t, &[0, 1], &[2, 3]);
        assert_eq!(
            e.feature_names,
            [
                "age",
                "spend",
                "region_Addis Ababa",
                "region_Amhara",
                "region_Oromia",
                "gender_F",
                "gender_M"
            ]
        );
        assert_eq!(e.matrix.dim(), (6, 7));
        for (i, row) in EXPECTED.iter().enumerate() {
            for (j, &want) in row.iter().enumerate() {
                let got = e.matrix[[i, j]];
                assert!((got - want).abs() < 1e-12, "[{i},{j}] {got} != {want}");
            }
        }
        assert_eq!(
            e.imputed,
            [
                Imputation {
                    column: "age".into(),
                    count: 1,
                    value: serde_json::json!(33.0)
                },
                Imputation {
                    column: "spend".into(),
                    count: 1,
                    value: serde_json::json!(1200.5)
                },
                Imputation {
                    column: "region".into(),
                    count: 1,
                    value: serde_json::json!("Addis Ababa")
                },
                Imputation {
                    column: "gender".into(),
                    count: 1,
                    value: serde_json::json!("F")
                },
            ]
        );
    }

    #[test]
    fn constant_numeric_scales_by_one_and_ties_take_smallest_level() {
        let t = read_csv(b"x,g\n5,b\n5,a\nNA,\n").unwrap();
        let e = encode(&t, &[0], &[1]);
        assert_eq!(
            e.scaling,
            [Scaling {
                mean: 5.0,
                scale: 1.0
            }]
        );
        assert_eq!(e.matrix.column(0).to_vec(), [0.0, 0.0, 0.0]);
        // "a" and "b" tie once each: the missing cell becomes "a".
        assert_eq!(e.matrix.row(2).to_vec(), [0.0, 1.0, 0.0]);
    }

    #[test]
    fn numbers_forced_categorical_sort_numerically() {
        let t = read_csv(b"stars\n10\n2\n1\n").unwrap();
        let e = encode(&t, &[], &[0]);
        assert_eq!(e.feature_names, ["stars_1", "stars_2", "stars_10"]);
        assert_eq!(e.matrix.row(0).to_vec(), [0.0, 0.0, 1.0]);
    }
}
