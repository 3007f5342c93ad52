-- New customers placed in the segments of a finished run with its model, without clustering
-- again ("scoring"). Each upload is kept with its notes; deleting the run deletes its scorings.
CREATE TABLE scorings (
    id BIGSERIAL PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES clustering_runs (id) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    filename TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    row_count INTEGER NOT NULL CHECK (row_count >= 0),
    -- The file's column names in order, for downloads.
    headers JSONB NOT NULL,
    -- Sentences about what did not fit the run exactly (filled cells, unseen levels, ignored
    -- columns), as `segmentiq assign` prints them.
    notes JSONB NOT NULL,
    -- Customers placed in each segment 0..k.
    segment_sizes JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX scorings_run_idx ON scorings (run_id, id);

CREATE TABLE scored_rows (
    scoring_id BIGINT NOT NULL REFERENCES scorings (id) ON DELETE CASCADE,
    row_index INTEGER NOT NULL CHECK (row_index >= 0),
    cluster_label INTEGER NOT NULL CHECK (cluster_label >= 0),
    -- What was done to this row to place it (a cell filled, a level the run never saw).
    remarks TEXT[] NOT NULL DEFAULT '{}',
    payload JSONB NOT NULL,
    PRIMARY KEY (scoring_id, row_index)
);
CREATE INDEX scored_rows_label_idx ON scored_rows (scoring_id, cluster_label, row_index);
