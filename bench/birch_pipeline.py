#!/usr/bin/env python3
"""The Python way to segment a large customer table, timed stage by stage: the reference of
`bench/exact.sh` and `bench/large.sh`.

pandas reads the `segmentiq sample-data` CSV; the preprocessing is SegmentIQ's (identifier column
left out, numeric columns median-imputed and standardized with the population standard deviation,
categorical columns imputed with their most frequent value and one-hot encoded with every level);
then `Birch(threshold=1.0, n_clusters=AgglomerativeClustering(k, linkage="ward"))` and
`silhouette_score(sample_size=10000, random_state=0)`.

    python bench/birch_pipeline.py customers.csv --clusters 5 [--labels labels.txt]

Prints one `stage seconds` line per stage, then `silhouette <score>` and `total <seconds>`;
`--labels` also writes each row's segment, one per line (for `bench/large.py ari`).
"""
import argparse
import time

started = time.perf_counter()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.cluster import AgglomerativeClustering, Birch  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402

ID_COLUMNS = {"customer_id"}


def preprocess(frame):
    columns = []
    for name in frame.columns:
        if name in ID_COLUMNS:
            continue
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col):
            v = col.fillna(col.median()).to_numpy(dtype=float)
            std = v.std()
            columns.append((v - v.mean()) / (std if std > 0 else 1.0))
        else:
            filled = col.fillna(col.mode().iloc[0])
            dummies = pd.get_dummies(filled, dtype=float)
            columns.extend(dummies[level].to_numpy() for level in sorted(dummies.columns))
    return np.column_stack(columns)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("csv")
    p.add_argument("--clusters", type=int, default=5)
    p.add_argument("--labels", help="write each row's segment to this file, one per line")
    args = p.parse_args()
    print(f"imports {time.perf_counter() - started:.2f}")

    t = time.perf_counter()
    frame = pd.read_csv(args.csv)
    x = preprocess(frame)
    print(f"read+preprocess {time.perf_counter() - t:.2f}  # {x.shape[0]} rows x {x.shape[1]} features")

    t = time.perf_counter()
    model = Birch(threshold=1.0,
                  n_clusters=AgglomerativeClustering(n_clusters=args.clusters, linkage="ward"))
    labels = model.fit_predict(x)
    print(f"birch {time.perf_counter() - t:.2f}  # {len(model.subcluster_centers_)} subclusters")

    t = time.perf_counter()
    score = silhouette_score(x, labels, sample_size=10000, random_state=0)
    print(f"silhouette_sampled {time.perf_counter() - t:.2f}")
    print(f"silhouette {score:.6f}")
    if args.labels:
        np.savetxt(args.labels, labels, fmt="%d")
    print(f"total {time.perf_counter() - started:.2f}")


if __name__ == "__main__":
    main()
