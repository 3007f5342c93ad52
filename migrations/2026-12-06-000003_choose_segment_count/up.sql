-- A run may leave the number of segments to the engine ("auto"): it then has neither a count
-- nor a height when queued, and records the count it chose in its metrics.
ALTER TABLE clustering_runs
    ADD COLUMN auto_clusters BOOLEAN NOT NULL DEFAULT FALSE,
    DROP CONSTRAINT clustering_runs_check,
    ADD CONSTRAINT clustering_runs_cut_check
        CHECK (n_clusters IS NOT NULL OR distance_threshold IS NOT NULL OR auto_clusters);
