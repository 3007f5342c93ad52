//! The clustering engine: pure numerics that turn a customer table into segments.
//!
//! Nothing here knows about HTTP, the database or async runtimes (no tokio, axum, diesel or
//! async-graphql imports), so the engine runs the same way from the CLI, the run worker, tests
//! and benchmarks.
//!
//! Pipeline (see [`pipeline::run`]): ingest CSV -> detect column kinds -> impute -> standardize and
//! one-hot encode -> optional PCA -> linkage -> cut -> silhouette and quality -> profiles.
//! Renders ([`render`]) are drawn on request from a stored linkage matrix and labels.

pub mod compare;
pub mod cut;
pub mod distance;
pub mod export;
pub mod ingest;
#[cfg(test)]
mod known_types;
pub mod linkage;
mod meter;
pub mod microclusters;
pub mod model;
pub mod number_format;
pub mod pca;
pub mod pipeline;
pub mod preprocess;
pub mod profile;
pub mod quality;
#[cfg(test)]
mod reference;
pub mod render;
pub mod sample;
pub mod silhouette;
pub mod spec;
pub mod stability;
mod tiles;
pub mod types;

pub use ingest::{ColumnData, ColumnKind, ColumnProfile, IngestError, Table, read_csv};
pub use pipeline::{
    Cut, EngineError, FeatureConfig, FeatureSelection, Metrics, Outcome, Params, PcaSpec,
    StageTiming, run, validate,
};
pub use profile::SegmentProfile;
pub use types::{Cancelled, Merge, Method, Metric, NoProgress, Progress, Stage};
