//! SegmentIQ: customer segmentation by hierarchical clustering.

pub mod engine;
