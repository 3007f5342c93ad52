-- A run's linkage, metric and stage are closed sets of names, like its status: the database
-- refuses any other value, so every stored run reads back (src/db/text.rs lists the same names;
-- tests/migrations.rs checks the two agree).
ALTER TABLE clustering_runs
    ADD CONSTRAINT clustering_runs_linkage_check
        CHECK (linkage IN ('ward', 'complete', 'average', 'single', 'weighted', 'centroid', 'median')),
    ADD CONSTRAINT clustering_runs_metric_check
        CHECK (metric IN ('euclidean', 'manhattan', 'cosine')),
    ADD CONSTRAINT clustering_runs_stage_check
        CHECK (stage IN ('parsing', 'preprocessing', 'pca', 'linkage', 'cutting', 'silhouette',
                         'cophenetic', 'k_sweep', 'profiling', 'storing'));
