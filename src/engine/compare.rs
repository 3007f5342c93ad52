//! Two segmentations of the same customers side by side: how many customers moved from which
//! segment of the first to which of the second (the contingency table), and how well the two
//! agree overall: the adjusted Rand index (Hubert and Arabie), as scikit-learn's
//! `adjusted_rand_score`: 1 for the same partition whatever the segment numbers, about 0 for
//! partitions no more alike than chance, negative for less.

use std::collections::BTreeMap;

/// Customers in segment `from` of the first run and `to` of the second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Move {
    pub from: usize,
    pub to: usize,
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// Every pair of segments that shares customers, by `from` then `to`.
    pub migration: Vec<Move>,
    pub adjusted_rand_index: f64,
}

/// Compares the segments of the same rows; `a` and `b` are the segments of row 0, 1, ...
pub fn compare(a: &[usize], b: &[usize]) -> Comparison {
    assert_eq!(a.len(), b.len(), "both segmentations cover the same rows");
    let mut table: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (&from, &to) in a.iter().zip(b) {
        *table.entry((from, to)).or_default() += 1;
    }
    let migration: Vec<Move> = table
        .iter()
        .map(|(&(from, to), &count)| Move { from, to, count })
        .collect();
    Comparison {
        adjusted_rand_index: adjusted_rand_index(&migration, a.len()),
        migration,
    }
}

/// Pairs among `n` (exact in f64 up to about 10^8 rows).
fn pairs(n: usize) -> f64 {
    let n = n as f64;
    n * (n - 1.0) / 2.0
}

fn adjusted_rand_index(migration: &[Move], n: usize) -> f64 {
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut columns: BTreeMap<usize, usize> = BTreeMap::new();
    for m in migration {
        *rows.entry(m.from).or_default() += m.count;
        *columns.entry(m.to).or_default() += m.count;
    }
    let index: f64 = migration.iter().map(|m| pairs(m.count)).sum();
    let sum_rows: f64 = rows.values().map(|&c| pairs(c)).sum();
    let sum_columns: f64 = columns.values().map(|&c| pairs(c)).sum();
    let expected = sum_rows * sum_columns / pairs(n).max(1.0);
    let max = (sum_rows + sum_columns) / 2.0;
    if max == expected {
        // Both put every customer in one segment, or each in its own: the same partition
        // (scikit-learn's special case).
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_scikit_learn() {
        // Values from scikit-learn's documentation of adjusted_rand_score.
        for (a, b, expected) in [
            (&[0, 0, 1, 1][..], &[0, 0, 1, 1][..], 1.0),
            (&[0, 0, 1, 1], &[1, 1, 0, 0], 1.0),
            (&[0, 0, 1, 2], &[0, 0, 1, 1], 0.571_428_571_428_571_5),
            (&[0, 0, 1, 1], &[0, 0, 1, 2], 0.571_428_571_428_571_5),
            (&[0, 0, 0, 0], &[0, 1, 2, 3], 0.0),
            (&[0, 0, 1, 1], &[0, 1, 0, 1], -0.5),
            (&[0, 0, 0], &[0, 0, 0], 1.0),
            (&[0, 1, 2], &[2, 0, 1], 1.0),
        ] {
            let ari = compare(a, b).adjusted_rand_index;
            assert!((ari - expected).abs() < 1e-12, "{a:?} {b:?}: {ari}");
        }
    }

    #[test]
    fn migration_counts_every_customer_once() {
        let c = compare(&[0, 0, 1, 1, 1], &[0, 1, 1, 1, 2]);
        assert_eq!(
            c.migration,
            vec![
                Move {
                    from: 0,
                    to: 0,
                    count: 1
                },
                Move {
                    from: 0,
                    to: 1,
                    count: 1
                },
                Move {
                    from: 1,
                    to: 1,
                    count: 2
                },
                Move {
                    from: 1,
                    to: 2,
                    count: 1
                },
            ]
        );
    }
}
