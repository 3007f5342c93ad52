//! Turning engine progress into run progress: one overall fraction across stages, throttled so
//! subscribers hear every stage change and at least every 5% without flooding the database.

use crate::engine::Stage;

/// Share of a typical run's time spent in each stage; used to make one overall fraction.
fn stage_span(stage: Stage) -> (f64, f64) {
    match stage {
        Stage::Parsing => (0.00, 0.03),
        Stage::Preprocessing => (0.03, 0.06),
        Stage::Pca => (0.06, 0.10),
        Stage::Linkage => (0.10, 0.55),
        Stage::Cutting => (0.55, 0.57),
        Stage::Silhouette => (0.57, 0.80),
        Stage::Cophenetic => (0.80, 0.84),
        Stage::KSweep => (0.84, 0.93),
        Stage::Profiling => (0.93, 0.97),
        Stage::Storing => (0.97, 1.00),
    }
}

/// Overall progress of the run when `stage` is `fraction` done.
pub fn overall(stage: Stage, fraction: f64) -> f64 {
    let (start, end) = stage_span(stage);
    start + (end - start) * fraction.clamp(0.0, 1.0)
}

/// Steps of overall progress that are always reported.
pub const STEP: f64 = 0.05;

/// Decides which engine reports are worth sending on: stage changes and 5% steps.
#[derive(Default)]
pub struct Throttle {
    last: Option<(Stage, i64)>,
    /// The highest fraction sent so far.
    highest: f64,
}

impl Throttle {
    /// Returns the overall fraction when this report should be sent.
    pub fn admit(&mut self, stage: Stage, fraction: f64) -> Option<f64> {
        // A run that chooses its count compares counts before cutting, out of the usual
        // order; its progress holds still until the stages catch up rather than going back.
        let overall = overall(stage, fraction).max(self.highest);
        let bucket = (overall / STEP).floor() as i64;
        match self.last {
            Some((s, b)) if s == stage && b >= bucket => None,
            _ => {
                self.last = Some((stage, bucket));
                self.highest = overall;
                Some(overall)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overall_progress_is_monotonic_across_stages() {
        let stages = Stage::ALL;
        let mut last = 0.0;
        for stage in stages {
            for f in [0.0, 0.5, 1.0] {
                let o = overall(stage, f);
                assert!(o >= last, "{stage:?} {f}");
                last = o;
            }
        }
        assert_eq!(last, 1.0);
    }

    #[test]
    fn a_run_that_compares_counts_before_cutting_never_goes_back() {
        let mut t = Throttle::default();
        let mut sent = Vec::new();
        for stage in [
            Stage::Linkage,
            Stage::KSweep,
            Stage::Cutting,
            Stage::Silhouette,
        ] {
            for f in [0.0, 0.5, 1.0] {
                sent.extend(t.admit(stage, f));
            }
        }
        assert!(sent.windows(2).all(|w| w[0] <= w[1]), "{sent:?}");
        assert_eq!(sent.last(), Some(&overall(Stage::KSweep, 1.0)));
    }

    #[test]
    fn throttle_sends_stage_changes_and_five_percent_steps() {
        let mut t = Throttle::default();
        assert!(t.admit(Stage::Linkage, 0.0).is_some());
        assert!(t.admit(Stage::Linkage, 0.01).is_none());
        let sent = (0..=1000)
            .filter(|i| t.admit(Stage::Linkage, *i as f64 / 1000.0).is_some())
            .count();
        // Linkage spans 45% of the run: about nine 5% steps.
        assert!((8..=10).contains(&sent), "{sent}");
        assert!(t.admit(Stage::Cutting, 0.0).is_some());
    }
}
