ALTER TABLE clustering_runs DROP COLUMN model;
