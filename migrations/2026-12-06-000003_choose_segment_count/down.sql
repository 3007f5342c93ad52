-- Runs that chose their count cannot be described without the column.
DELETE FROM clustering_runs WHERE n_clusters IS NULL AND distance_threshold IS NULL;
ALTER TABLE clustering_runs
    DROP CONSTRAINT clustering_runs_cut_check,
    DROP COLUMN auto_clusters,
    ADD CONSTRAINT clustering_runs_check
        CHECK (n_clusters IS NOT NULL OR distance_threshold IS NOT NULL);
