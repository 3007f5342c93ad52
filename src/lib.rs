//! SegmentIQ: customer segmentation by hierarchical clustering.

pub mod cli;
pub mod engine;
