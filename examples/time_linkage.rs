//! Times the engine's numeric core on a CSV of floats, for `bench/compare.py`.
//!
//! ```text
//! cargo run --release --example time_linkage -- data.csv --method ward --method single --k 4
//! ```
//!
//! The CSV holds one row per observation and only numbers (a header line is skipped if it does
//! not parse). For each method it prints `linkage <method> <seconds>`, then, when `--k` is
//! given, `silhouette <method> <seconds> <score>` for the cut into k segments; with `--sweep`,
//! `k_sweep <method> <seconds> <suggested k>`; with `--cophenetic`,
//! `cophenetic <method> <seconds> <correlation>`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use ndarray::Array2;
use segmentiq::engine::cut::cut_clusters;
use segmentiq::engine::linkage::linkage;
use segmentiq::engine::quality::{cophenetic_correlation, k_sweep};
use segmentiq::engine::silhouette::{silhouette_samples, silhouette_score};
use segmentiq::engine::{Method, Metric, NoProgress};

#[derive(Parser)]
struct Args {
    /// CSV of floats, one row per observation.
    csv: PathBuf,
    /// Linkage methods to time (repeatable).
    #[arg(long = "method", default_value = "ward")]
    methods: Vec<Method>,
    #[arg(long, default_value = "euclidean")]
    metric: Metric,
    /// Also time the silhouette of the cut into this many segments.
    #[arg(long)]
    k: Option<usize>,
    /// Also time the k sweep (k = 2..12).
    #[arg(long)]
    sweep: bool,
    /// Also time the cophenetic correlation.
    #[arg(long)]
    cophenetic: bool,
}

fn read_matrix(path: &PathBuf) -> Result<Array2<f64>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .with_context(|| format!("reading {}", path.display()))?;
    let mut values = Vec::new();
    let mut cols = 0;
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let row: Result<Vec<f64>, _> = record.iter().map(|f| f.trim().parse::<f64>()).collect();
        match row {
            Ok(row) => {
                cols = row.len();
                values.extend(row);
            }
            Err(_) if line == 0 => continue,
            Err(e) => anyhow::bail!("line {}: {e}", line + 1),
        }
    }
    let rows = values.len() / cols.max(1);
    Ok(Array2::from_shape_vec((rows, cols), values)?)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let x = read_matrix(&args.csv)?;
    eprintln!("{} rows x {} columns", x.nrows(), x.ncols());
    for &method in &args.methods {
        let started = Instant::now();
        let z = linkage(x.view(), method, args.metric, &NoProgress)?;
        println!("linkage {method} {:.3}", started.elapsed().as_secs_f64());
        if let Some(k) = args.k {
            let labels = cut_clusters(&z, k);
            let started = Instant::now();
            let samples = silhouette_samples(x.view(), &labels, args.metric, &NoProgress)?;
            let score = silhouette_score(&samples);
            println!(
                "silhouette {method} {:.3} {score:.12}",
                started.elapsed().as_secs_f64()
            );
        }
        if args.sweep {
            let started = Instant::now();
            let sweep = k_sweep(x.view(), &z, args.metric, &NoProgress)?;
            let secs = started.elapsed().as_secs_f64();
            println!("k_sweep {method} {secs:.3} {}", sweep.suggested_k);
        }
        if args.cophenetic {
            let started = Instant::now();
            let c = cophenetic_correlation(x.view(), &z, args.metric, &NoProgress)?;
            let secs = started.elapsed().as_secs_f64();
            println!("cophenetic {method} {secs:.3} {c:.12}");
        }
    }
    Ok(())
}
