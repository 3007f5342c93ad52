-- The analyst's own name and note for a segment of a finished run, used wherever the segment is
-- shown (pages, charts, CSV files, GraphQL, REST). The generated name stays in the run's profiles.
CREATE TABLE segment_labels (
    run_id BIGINT NOT NULL REFERENCES clustering_runs (id) ON DELETE CASCADE,
    segment INTEGER NOT NULL CHECK (segment >= 0),
    -- NULL: the generated name.
    name TEXT CHECK (char_length(name) BETWEEN 1 AND 80),
    note TEXT CHECK (char_length(note) BETWEEN 1 AND 2000),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, segment)
);
