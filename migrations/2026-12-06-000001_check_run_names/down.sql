ALTER TABLE clustering_runs
    DROP CONSTRAINT clustering_runs_stage_check,
    DROP CONSTRAINT clustering_runs_metric_check,
    DROP CONSTRAINT clustering_runs_linkage_check;
