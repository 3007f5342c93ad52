#!/usr/bin/env python3
"""The Python way to run exact Ward on a table that is already numeric: the reference of
`bench/ward40k.sh`. pandas reads the CSV, every column is standardized (population standard
deviation, as SegmentIQ does), `fastcluster.linkage_vector(x, "ward")` builds the tree,
`fcluster(z, k, "maxclust")` cuts it and scikit-learn's exact `silhouette_score` scores it.

    python bench/fastcluster_pipeline.py blobs.csv --clusters 4

Prints one `stage seconds` line per stage, then `silhouette <score>`.
"""
import argparse
import time

started = time.perf_counter()

import fastcluster  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.cluster.hierarchy import fcluster  # noqa: E402
from sklearn.metrics import silhouette_score  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--clusters", type=int, default=4)
    args = parser.parse_args()
    stages = {"imports": time.perf_counter() - started}

    def stage(name, since):
        stages[name] = time.perf_counter() - since
        return time.perf_counter()

    t = time.perf_counter()
    x = pd.read_csv(args.csv).to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    t = stage("read_and_scale", t)
    z = fastcluster.linkage_vector(x, method="ward")
    t = stage("linkage", t)
    labels = fcluster(z, args.clusters, criterion="maxclust")
    t = stage("cut", t)
    score = silhouette_score(x, labels)
    stage("silhouette", t)
    for name, seconds in stages.items():
        print(f"{name} {seconds:.2f}")
    print(f"silhouette {score:.12f}")


if __name__ == "__main__":
    main()
