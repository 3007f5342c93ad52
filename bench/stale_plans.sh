#!/usr/bin/env bash
# Times one 1,001-row assignments page of a 50,000-row run with stale statistics (autovacuum
# off), for the page query before and after it was rewritten, and for the plain join on
# (dataset_id, row_index). Two kinds of staleness: never analyzed, and analyzed before the
# dataset was loaded. Needs psql and a PostgreSQL that `psql` reaches (PGHOST, PGUSER...).
# Usage: bench/stale_plans.sh [rows] [after]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-50000}
after=${2:-40000}
db=segmentiq_bench_plans

queries() {
  local ds=$1 run=$2
  cat <<SQL
\\echo before: through clustering_runs
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT a.row_index, a.cluster_label, a.silhouette, r.payload
  FROM cluster_assignments a JOIN clustering_runs c ON c.id = a.run_id
  JOIN dataset_rows r ON r.dataset_id = c.dataset_id AND r.row_index = a.row_index
  WHERE a.run_id = $run AND a.row_index > $after ORDER BY a.row_index LIMIT 1001;
\\echo plain join on (dataset_id, row_index)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT a.row_index, a.cluster_label, a.silhouette, r.payload
  FROM cluster_assignments a JOIN dataset_rows r ON r.dataset_id = $ds AND r.row_index = a.row_index
  WHERE a.run_id = $run AND a.row_index > $after ORDER BY a.row_index LIMIT 1001;
\\echo now: page first, payloads by primary key (db::assignments::PageQuery)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT a.row_index, a.cluster_label, a.silhouette, r.payload
  FROM (SELECT row_index, cluster_label, silhouette FROM cluster_assignments
        WHERE run_id = $run AND row_index > $after ORDER BY row_index LIMIT 1001 OFFSET 0) AS a
  CROSS JOIN LATERAL (SELECT payload FROM dataset_rows
        WHERE dataset_id = $ds AND row_index = a.row_index LIMIT 1) AS r
  ORDER BY a.row_index;
SQL
}

load() {
  cat <<SQL
INSERT INTO datasets (name, filename, byte_size, row_count, columns, raw_file) VALUES ('b', 'b.csv', 1, $rows, '[]', '');
INSERT INTO dataset_rows SELECT currval('datasets_id_seq'), i, jsonb_build_object('customer_id', 'C' || i, 'age', 20 + i % 50, 'region', 'Addis Ababa', 'total_spend', i * 1.5) FROM generate_series(0, $rows - 1) AS i;
INSERT INTO clustering_runs (dataset_id, linkage, n_clusters, status) VALUES (currval('datasets_id_seq'), 'ward', 4, 'succeeded');
INSERT INTO cluster_assignments (run_id, row_index, cluster_label) SELECT currval('clustering_runs_id_seq'), i, i % 4 FROM generate_series(0, $rows - 1) AS i;
SQL
}

dropdb --if-exists "$db"
createdb "$db"
psql -q -d "$db" -f migrations/*/up.sql
for t in datasets dataset_rows clustering_runs cluster_assignments; do
  psql -q -d "$db" -c "ALTER TABLE $t SET (autovacuum_enabled = false)"
done
load | psql -q -d "$db"
echo "== never analyzed"
queries 1 1 | psql -q -d "$db" | grep -E "^(before|plain|now)|Execution Time"
psql -q -d "$db" -c ANALYZE
load | psql -q -d "$db"
echo "== analyzed before this dataset was loaded"
queries 2 2 | psql -q -d "$db" | grep -E "^(before|plain|now)|Execution Time"
dropdb "$db"
