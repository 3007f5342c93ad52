//! The `segmentiq` binary: one clap app with a subcommand per way of running SegmentIQ.

use clap::{Parser, Subcommand};
use segmentiq::cli;

#[derive(Debug, Parser)]
#[command(
    name = "segmentiq",
    version,
    about = "Customer segmentation by hierarchical clustering"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Segment a CSV file offline and write assignments, linkage, metrics and charts.
    Cluster(cli::cluster::ClusterArgs),
    /// Write the synthetic Ethiopian supermarket customer table as CSV.
    SampleData(cli::sample_data::SampleDataArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cluster(args) => cli::cluster::run(args),
        Command::SampleData(args) => cli::sample_data::run(args),
    };
    if let Err(e) = result {
        // One sentence, the file and position included, then a non-zero exit.
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
