//! A realistic synthetic customer table of an Ethiopian supermarket chain.
//!
//! Used for the committed sample file, demos, tests and benchmarks (1k to 1M rows). It has the
//! predecessor's columns and is drawn from five believable customer types, so a good clustering
//! finds real segments; about 2% of every column except the id is missing, as in real exports.
//! Output depends only on `(rows, seed)`: the generator is ChaCha8 seeded with `seed`.
//!
//! Columns: `customer_id` (C000001, ...), `age` (years), `gender`, `region` (the twelve regional
//! states and the two chartered cities, most customers in Addis Ababa), `total_spend` (ETB per
//! month, roughly log-normal around 6,000 overall), `visit_frequency` (visits per month),
//! `avg_basket_size` (items per visit), `preferred_category`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};
use std::io::Write;

/// The twelve regional states and two chartered cities, with the share of customers each has
/// before a customer type skews it (the chain is strongest in Addis Ababa).
const REGIONS: [(&str, f64); 14] = [
    ("Addis Ababa", 44.0),
    ("Oromia", 12.0),
    ("Amhara", 10.0),
    ("Dire Dawa", 6.0),
    ("Tigray", 4.0),
    ("Sidama", 4.0),
    ("Central Ethiopia", 4.0),
    ("South Ethiopia", 3.0),
    ("Harari", 3.0),
    ("Somali", 3.0),
    ("Afar", 2.0),
    ("South West Ethiopia", 2.0),
    ("Benishangul-Gumuz", 1.5),
    ("Gambela", 1.5),
];

const CATEGORIES: [&str; 9] = [
    "Teff & Injera",
    "Coffee",
    "Spices (berbere, shiro)",
    "Pulses",
    "Dairy",
    "Bakery",
    "Edible oil",
    "Beverages",
    "Household goods",
];

/// One kind of customer: how common it is and how its members shop.
struct CustomerType {
    weight: f64,
    /// Age: mean and standard deviation, clamped to 16..=85.
    age: (f64, f64),
    female_share: f64,
    /// Multiplier per region (same order as [`REGIONS`]); 1.0 keeps the base share.
    region_bias: [f64; 14],
    /// Median monthly spend (ETB) and log-scale spread.
    spend: (f64, f64),
    /// Visits per month: mean and spread, at least 1.
    visits: (f64, f64),
    /// Items per visit: mean and spread, at least 1.
    basket: (f64, f64),
    /// Relative preference per category (same order as [`CATEGORIES`]).
    categories: [f64; 9],
}

const URBAN: [f64; 14] = [
    2.0, 0.6, 0.6, 1.5, 0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.4, 0.4, 0.4, 0.4,
];
const EVEN: [f64; 14] = [1.0; 14];
const RURAL: [f64; 14] = [
    0.25, 2.0, 2.0, 0.5, 1.6, 1.8, 1.8, 1.8, 1.0, 1.6, 1.6, 1.8, 1.8, 1.8,
];

const TYPES: [CustomerType; 5] = [
    // Families stocking staples: mid spend, big baskets, weekly trips.
    CustomerType {
        weight: 0.32,
        age: (41.0, 8.0),
        female_share: 0.64,
        region_bias: EVEN,
        spend: (6200.0, 0.25),
        visits: (5.0, 1.5),
        basket: (24.0, 5.0),
        categories: [5.0, 1.5, 3.0, 3.0, 1.5, 1.0, 3.0, 0.5, 1.5],
    },
    // Young professionals in the cities: frequent small trips, coffee and ready food.
    CustomerType {
        weight: 0.24,
        age: (28.0, 4.0),
        female_share: 0.5,
        region_bias: URBAN,
        spend: (7200.0, 0.3),
        visits: (13.0, 3.0),
        basket: (6.0, 2.0),
        categories: [1.0, 4.0, 0.5, 0.5, 2.0, 3.5, 0.5, 3.5, 1.0],
    },
    // Affluent households buying in bulk, mostly in Addis Ababa and Dire Dawa.
    CustomerType {
        weight: 0.12,
        age: (52.0, 8.0),
        female_share: 0.55,
        region_bias: [
            3.0, 0.3, 0.3, 2.0, 0.2, 0.3, 0.3, 0.2, 0.8, 0.2, 0.1, 0.1, 0.1, 0.1,
        ],
        spend: (19000.0, 0.3),
        visits: (4.0, 1.2),
        basket: (42.0, 8.0),
        categories: [2.0, 2.0, 1.0, 0.5, 2.5, 0.5, 1.0, 1.5, 4.0],
    },
    // Occasional shoppers in the regions: few trips, modest spend, spices and pulses.
    CustomerType {
        weight: 0.2,
        age: (45.0, 12.0),
        female_share: 0.45,
        region_bias: RURAL,
        spend: (2600.0, 0.35),
        visits: (2.0, 0.8),
        basket: (14.0, 4.0),
        categories: [3.0, 1.0, 4.0, 4.0, 0.5, 0.3, 2.0, 0.3, 0.5],
    },
    // Students: small baskets and small spend, bakery and drinks.
    CustomerType {
        weight: 0.12,
        age: (21.0, 2.0),
        female_share: 0.48,
        region_bias: URBAN,
        spend: (1700.0, 0.3),
        visits: (9.0, 2.5),
        basket: (4.0, 1.5),
        categories: [0.5, 2.0, 0.3, 0.5, 1.0, 5.0, 0.2, 4.0, 0.3],
    },
];

/// Share of cells left empty in every column except the id.
const MISSING_RATE: f64 = 0.02;

pub const HEADER: [&str; 8] = [
    "customer_id",
    "age",
    "gender",
    "region",
    "total_spend",
    "visit_frequency",
    "avg_basket_size",
    "preferred_category",
];

/// Index drawn with probability proportional to `weights`.
fn pick(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let mut r = rng.random::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if r < w {
            return i;
        }
        r -= w;
        last = i;
    }
    last
}

fn normal(rng: &mut ChaCha8Rng, (mean, sd): (f64, f64)) -> f64 {
    // The parameters are constants above with sd > 0, so construction cannot fail.
    Normal::new(mean, sd).map_or(mean, |d| d.sample(rng))
}

/// Writes `rows` customers as CSV (header first) to `out`.
pub fn write_sample_customers<W: Write>(out: W, rows: usize, seed: u64) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let mut record: Vec<String> = Vec::with_capacity(HEADER.len());
    for i in 0..rows {
        let t = &TYPES[pick(&mut rng, TYPES.iter().map(|t| t.weight))];
        let age = normal(&mut rng, t.age).round().clamp(16.0, 85.0);
        let gender = if rng.random::<f64>() < t.female_share {
            "Female"
        } else {
            "Male"
        };
        let region = REGIONS[pick(
            &mut rng,
            REGIONS.iter().zip(&t.region_bias).map(|((_, w), b)| w * b),
        )]
        .0;
        let spend =
            LogNormal::new(t.spend.0.ln(), t.spend.1).map_or(t.spend.0, |d| d.sample(&mut rng));
        let visits = normal(&mut rng, t.visits).max(1.0);
        let basket = normal(&mut rng, t.basket).max(1.0);
        let category = CATEGORIES[pick(&mut rng, t.categories.iter().copied())];

        record.clear();
        record.push(format!("C{:06}", i + 1));
        record.push(format!("{age}"));
        record.push(gender.to_string());
        record.push(region.to_string());
        record.push(format!("{spend:.2}"));
        record.push(format!("{visits:.1}"));
        record.push(format!("{basket:.1}"));
        record.push(category.to_string());
        for cell in record.iter_mut().skip(1) {
            if rng.random::<f64>() < MISSING_RATE {
                cell.clear();
            }
        }
        w.write_record(&record)?;
    }
    w.flush()
}

/// The sample table as CSV text.
pub fn sample_customers(rows: usize, seed: u64) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_sample_customers(&mut out, rows, seed);
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ingest::{ColumnKind, read_csv};

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(sample_customers(300, 7), sample_customers(300, 7));
        assert_ne!(sample_customers(300, 7), sample_customers(300, 8));
        // A longer table starts with the shorter one: rows do not depend on the row count.
        let long = sample_customers(50, 7);
        let short = sample_customers(20, 7);
        assert!(long.starts_with(&short));
    }

    #[test]
    fn looks_like_the_predecessors_table() {
        let t = read_csv(sample_customers(2000, 42).as_bytes()).unwrap();
        assert_eq!(t.headers, HEADER);
        assert_eq!(t.n_rows, 2000);
        let p = t.column_profiles();
        let kinds: Vec<ColumnKind> = p.iter().map(|c| c.kind).collect();
        use ColumnKind::*;
        assert_eq!(
            kinds,
            [
                Identifier,
                Numeric,
                Categorical,
                Categorical,
                Numeric,
                Numeric,
                Numeric,
                Categorical
            ]
        );
        assert_eq!(p[0].missing, 0);
        for c in &p[1..] {
            assert!(
                c.missing > 10 && c.missing < 90,
                "{}: {}",
                c.name,
                c.missing
            );
        }
        assert_eq!(p[3].top_values[0].value, "Addis Ababa");
        assert_eq!(p[3].distinct, 14);
        assert_eq!(p[7].distinct, 9);
        let spend = p[4].numeric.as_ref().unwrap();
        assert!(
            spend.median > 4000.0 && spend.median < 8000.0,
            "{}",
            spend.median
        );
        assert!(spend.min > 0.0);
        assert_eq!(
            &sample_customers(1, 42)[..HEADER.join(",").len()],
            HEADER.join(",")
        );
    }
}
