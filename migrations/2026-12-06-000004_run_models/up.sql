-- What places new customers in a run's segments (engine::model::Model, versioned by its own
-- `version` field). Runs that succeeded before models existed have none.
ALTER TABLE clustering_runs ADD COLUMN model JSONB;
