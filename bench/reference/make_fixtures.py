#!/usr/bin/env python3
"""Writes the reference numbers the engine tests compare against.

Run with a virtualenv that has numpy, scipy and scikit-learn:

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install numpy scipy scikit-learn
    /tmp/refvenv/bin/python bench/reference/make_fixtures.py > tests/fixtures/engine/reference.json

The data is a 30 x 4 matrix of seeded normal floats: no two pairwise distances are equal, so no
tie decides a merge and the trees, cuts and silhouettes are unique. The JSON records the library
versions it came from.
"""
import json
import sys

import numpy as np
import scipy
import sklearn
from scipy.cluster.hierarchy import cophenet, fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import silhouette_samples, silhouette_score

SCIPY_METRIC = {"euclidean": "euclidean", "manhattan": "cityblock", "cosine": "cosine"}
SKLEARN_METHODS = {"ward", "complete", "average", "single"}


def case(x, method, metric):
    z = linkage(x, method=method, metric=SCIPY_METRIC[metric])
    d = pdist(x, SCIPY_METRIC[metric])
    out = {
        "method": method,
        "metric": metric,
        "z": [[int(r[0]), int(r[1]), float(r[2]), int(r[3])] for r in z],
        "cophenetic": float(cophenet(z, d)[0]),
    }
    # A height between two merges in the upper part of the tree, and fcluster's cut there.
    h = float((z[-5, 2] + z[-4, 2]) / 2)
    out["cut_height"] = h
    out["fcluster_distance"] = [int(v) for v in fcluster(z, h, criterion="distance")]
    if method in SKLEARN_METHODS:
        out["sklearn"] = {}
        for k in (3, 4):
            model = AgglomerativeClustering(n_clusters=k, linkage=method, metric=metric).fit(x)
            labels = model.labels_
            out["sklearn"][str(k)] = {
                "labels": [int(v) for v in labels],
                "silhouette": float(silhouette_score(x, labels, metric=metric)),
                "samples": [float(v) for v in silhouette_samples(x, labels, metric=metric)],
            }
    return out


def k_sweep(x):
    """Silhouette and within-segment sum of squares of Ward cuts for k = 2..12."""
    points = []
    for k in range(2, 13):
        labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
        wss = sum(
            float(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum()) for c in range(k)
        )
        points.append({"k": k, "silhouette": float(silhouette_score(x, labels)), "wss": wss})
    return points


def main():
    rng = np.random.default_rng(20261101)
    x = rng.standard_normal((30, 4))
    cases = []
    for method in ["ward", "complete", "average", "single", "weighted", "centroid", "median"]:
        cases.append(case(x, method, "euclidean"))
    for metric in ["manhattan", "cosine"]:
        for method in ["complete", "average", "single", "weighted"]:
            cases.append(case(x, method, metric))
    doc = {
        "generator": "bench/reference/make_fixtures.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "x": x.tolist(),
        "cases": cases,
        "ward_k_sweep": k_sweep(x),
    }
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
