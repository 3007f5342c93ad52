// @generated automatically by Diesel CLI.

diesel::table! {
    cluster_assignments (run_id, row_index) {
        run_id -> Int8,
        row_index -> Int4,
        cluster_label -> Int4,
        silhouette -> Nullable<Float8>,
    }
}

diesel::table! {
    clustering_runs (id) {
        id -> Int8,
        dataset_id -> Int8,
        linkage -> Text,
        metric -> Text,
        n_clusters -> Nullable<Int4>,
        distance_threshold -> Nullable<Float8>,
        use_pca -> Bool,
        pca_components -> Nullable<Int4>,
        pca_variance -> Nullable<Float8>,
        params -> Jsonb,
        feature_config -> Nullable<Jsonb>,
        metrics -> Nullable<Jsonb>,
        profiles -> Nullable<Jsonb>,
        k_sweep -> Nullable<Jsonb>,
        timings -> Nullable<Jsonb>,
        status -> Text,
        stage -> Nullable<Text>,
        progress -> Float8,
        error -> Nullable<Text>,
        linkage_matrix -> Nullable<Bytea>,
        map_points -> Nullable<Bytea>,
        cancel_requested -> Bool,
        worker -> Nullable<Text>,
        heartbeat_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        auto_clusters -> Bool,
        model -> Nullable<Jsonb>,
    }
}

diesel::table! {
    dataset_rows (dataset_id, row_index) {
        dataset_id -> Int8,
        row_index -> Int4,
        payload -> Jsonb,
    }
}

diesel::table! {
    datasets (id) {
        id -> Int8,
        name -> Text,
        filename -> Text,
        byte_size -> Int8,
        row_count -> Int4,
        #[sql_name = "columns"]
        column_profiles -> Jsonb,
        raw_file -> Bytea,
        deleting -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    scored_rows (scoring_id, row_index) {
        scoring_id -> Int8,
        row_index -> Int4,
        cluster_label -> Int4,
        remarks -> Array<Nullable<Text>>,
        payload -> Jsonb,
    }
}

diesel::table! {
    scorings (id) {
        id -> Int8,
        run_id -> Int8,
        name -> Text,
        filename -> Text,
        byte_size -> Int8,
        row_count -> Int4,
        headers -> Jsonb,
        notes -> Jsonb,
        segment_sizes -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    segment_labels (run_id, segment) {
        run_id -> Int8,
        segment -> Int4,
        name -> Nullable<Text>,
        note -> Nullable<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(cluster_assignments -> clustering_runs (run_id));
diesel::joinable!(clustering_runs -> datasets (dataset_id));
diesel::joinable!(dataset_rows -> datasets (dataset_id));
diesel::joinable!(scored_rows -> scorings (scoring_id));
diesel::joinable!(scorings -> clustering_runs (run_id));
diesel::joinable!(segment_labels -> clustering_runs (run_id));

diesel::allow_tables_to_appear_in_same_query!(
    cluster_assignments,
    clustering_runs,
    dataset_rows,
    datasets,
    scored_rows,
    scorings,
    segment_labels,
);
