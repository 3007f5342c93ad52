-- Datasets: the upload as sent (raw_file) plus what was learnt when parsing it.
CREATE TABLE datasets (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    filename TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    row_count INTEGER NOT NULL,
    -- Per column: name, kind, missing, distinct, numeric summary, top values.
    columns JSONB NOT NULL,
    raw_file BYTEA NOT NULL,
    -- Set while a delete is in progress so that no new run is queued against it.
    deleting BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per data row of the upload, typed (numbers as JSON numbers, missing as null).
CREATE TABLE dataset_rows (
    dataset_id BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    row_index INTEGER NOT NULL,
    payload JSONB NOT NULL,
    PRIMARY KEY (dataset_id, row_index)
);

-- A clustering run is also a job in the queue (status, worker, heartbeat).
CREATE TABLE clustering_runs (
    id BIGSERIAL PRIMARY KEY,
    dataset_id BIGINT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    linkage TEXT NOT NULL,
    metric TEXT NOT NULL DEFAULT 'euclidean',
    n_clusters INTEGER,
    distance_threshold DOUBLE PRECISION,
    use_pca BOOLEAN NOT NULL DEFAULT FALSE,
    pca_components INTEGER,
    pca_variance DOUBLE PRECISION,
    -- What the caller asked for: included/excluded columns, forced kinds.
    params JSONB NOT NULL DEFAULT '{}'::jsonb,
    feature_config JSONB,
    metrics JSONB,
    profiles JSONB,
    k_sweep JSONB,
    timings JSONB,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    stage TEXT,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    error TEXT,
    -- scipy's linkage matrix, little-endian f64 rows (left, right, height, size).
    linkage_matrix BYTEA,
    -- 2-D PCA coordinates per row, little-endian f32 pairs, for the segment map.
    map_points BYTEA,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    worker TEXT,
    heartbeat_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    CHECK (n_clusters IS NOT NULL OR distance_threshold IS NOT NULL)
);

CREATE INDEX clustering_runs_dataset_idx ON clustering_runs (dataset_id, id);
CREATE INDEX clustering_runs_queue_idx ON clustering_runs (created_at, id) WHERE status = 'queued';
CREATE INDEX clustering_runs_running_idx ON clustering_runs (heartbeat_at) WHERE status = 'running';

-- The segment of every row; written in the same transaction as the run's final status.
CREATE TABLE cluster_assignments (
    run_id BIGINT NOT NULL REFERENCES clustering_runs (id) ON DELETE CASCADE,
    row_index INTEGER NOT NULL,
    cluster_label INTEGER NOT NULL,
    silhouette DOUBLE PRECISION,
    PRIMARY KEY (run_id, row_index)
);

CREATE INDEX cluster_assignments_label_idx ON cluster_assignments (run_id, cluster_label, row_index);

-- The predecessor's shape, for BI tools that read tables directly.
CREATE VIEW cluster_assignments_v AS
SELECT a.run_id, a.row_index, a.cluster_label, r.payload
FROM cluster_assignments a
JOIN clustering_runs c ON c.id = a.run_id
JOIN dataset_rows r ON r.dataset_id = c.dataset_id AND r.row_index = a.row_index;
