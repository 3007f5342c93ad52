DROP VIEW IF EXISTS cluster_assignments_v;
DROP TABLE IF EXISTS cluster_assignments;
DROP TABLE IF EXISTS clustering_runs;
DROP TABLE IF EXISTS dataset_rows;
DROP TABLE IF EXISTS datasets;
