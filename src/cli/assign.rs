//! `segmentiq assign`: new customers placed in the segments of a finished run, from the run's
//! `model.json`, without clustering again (see [`crate::engine::model`]).

use crate::engine::ingest;
use crate::engine::model::Model;
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::PathBuf;

use super::cluster::write_assignments;

/// Place new customers in the segments of a run, using the `model.json` that `segmentiq
/// cluster` wrote.
#[derive(Debug, Clone, clap::Args)]
pub struct AssignArgs {
    /// The run's `model.json`.
    pub model: PathBuf,
    /// The new customers: a CSV with the columns the run used (others are ignored).
    pub csv: PathBuf,
    /// The file to write: `row_index,cluster,segment_name` then the original columns.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: AssignArgs) -> anyhow::Result<()> {
    super::refuse_overwriting(&args.csv, &args.out)?;
    super::refuse_overwriting(&args.model, &args.out)?;
    let model_file = args.model.display().to_string();
    let json =
        std::fs::read(&args.model).with_context(|| format!("could not read `{model_file}`"))?;
    let model = Model::read(&json).map_err(|e| anyhow!("`{model_file}`: {e}"))?;
    let file = args.csv.display().to_string();
    let bytes = std::fs::read(&args.csv).with_context(|| format!("could not read `{file}`"))?;
    let table = ingest::read_csv(&bytes).map_err(|e| anyhow!("`{file}`: {e}"))?;
    let placed = model.place(&table).map_err(|e| anyhow!("`{file}`: {e}"))?;

    let names: Vec<String> = model.segments.iter().map(|s| s.name.clone()).collect();
    write_assignments(&args.out, &bytes, &placed.labels, &names)?;

    let mut err = std::io::stderr().lock();
    let mut sizes = vec![0usize; names.len()];
    for &l in &placed.labels {
        sizes[l] += 1;
    }
    let _ = writeln!(
        err,
        "{file}: {} customers placed in the run's {} segments ({} linkage: {})",
        table.n_rows,
        names.len(),
        model.method.as_str(),
        model.rule()
    );
    for (segment, (name, size)) in names.iter().zip(&sizes).enumerate() {
        let _ = writeln!(err, "  segment {segment}: {size:>7}  {name}");
    }
    for note in &placed.notes {
        let _ = writeln!(err, "note: {note}");
    }
    let _ = writeln!(err, "wrote {}", args.out.display());
    Ok(())
}
