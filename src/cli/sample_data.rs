//! `segmentiq sample-data`: writes the synthetic customer table, for demos and benchmarks.

use crate::engine::sample::write_sample_customers;
use anyhow::Context;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Write a realistic synthetic customer table (CSV) of an Ethiopian supermarket chain.
#[derive(Debug, Clone, clap::Args)]
pub struct SampleDataArgs {
    /// Number of customers (rows) to generate.
    #[arg(long, default_value_t = 2000, value_parser = parse_rows)]
    pub rows: usize,
    /// Random seed; the same rows and seed always give the same file.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A table needs a data row: the reader refuses a file with only a header.
fn parse_rows(s: &str) -> Result<usize, String> {
    match s.trim().replace('_', "").parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{s}` is not a row count of at least 1 (e.g. 2000)"
        )),
    }
}

pub fn run(args: SampleDataArgs) -> anyhow::Result<()> {
    match &args.out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("could not create `{}`", path.display()))?;
            let mut w = BufWriter::new(file);
            write_sample_customers(&mut w, args.rows, args.seed)
                .and_then(|_| w.flush())
                .with_context(|| format!("could not write `{}`", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            write_sample_customers(&mut w, args.rows, args.seed)
                .and_then(|_| w.flush())
                .context("could not write to standard output")?;
        }
    }
    Ok(())
}
