//! Background work: the run queue worker, the clustering job and the progress hub.

pub mod cluster;
pub mod hub;
pub mod progress;
pub mod worker;
