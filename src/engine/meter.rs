//! Throttled progress reporting shared by the parallel numeric stages.
//!
//! Hot loops count work in units they choose (pairs, rows, merges) and call [`Meter::add`] once per
//! chunk of a few thousand units. The meter turns the running total into a fraction of the stage,
//! forwards it to the caller's [`Progress`], and remembers a cancellation so that every worker
//! thread stops at its next chunk, not just the one whose report saw it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::types::{Cancelled, Progress, Stage};

pub(crate) struct Meter<'a> {
    progress: &'a dyn Progress,
    stage: Stage,
    total: f64,
    /// The reported fraction runs from `start` to `end`, so one stage can be split between
    /// sub-steps (e.g. distances then merges) without going backwards.
    start: f64,
    end: f64,
    done: AtomicU64,
    cancelled: AtomicBool,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(progress: &'a dyn Progress, stage: Stage, total: u64) -> Self {
        Self::span(progress, stage, total, 0.0, 1.0)
    }

    pub(crate) fn span(
        progress: &'a dyn Progress,
        stage: Stage,
        total: u64,
        start: f64,
        end: f64,
    ) -> Self {
        Meter {
            progress,
            stage,
            total: total.max(1) as f64,
            start,
            end,
            done: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
        }
    }

    /// Records `work` more units done and reports; `Err` once the caller has asked to stop.
    pub(crate) fn add(&self, work: u64) -> Result<(), Cancelled> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        let done = self.done.fetch_add(work, Ordering::Relaxed) + work;
        let fraction = (done as f64 / self.total).min(1.0);
        let scaled = self.start + (self.end - self.start) * fraction;
        if self.progress.report(self.stage, scaled).is_err() {
            self.cancelled.store(true, Ordering::Relaxed);
            return Err(Cancelled);
        }
        Ok(())
    }

    /// Reports the end of this meter's span.
    pub(crate) fn finish(&self) -> Result<(), Cancelled> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        self.progress.report(self.stage, self.end)
    }
}
