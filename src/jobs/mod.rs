//! Background work: the run queue worker and the clustering job.

pub mod cluster;
pub mod progress;
pub mod worker;
