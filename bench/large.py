"""The Python side of bench/large.sh.

`birch CSV LABELS`: the reference pipeline for tables too large for exact Ward in Python:
pandas, preprocessing like SegmentIQ's (identifier column dropped, median / most frequent
imputation, StandardScaler on numeric columns, OneHotEncoder with every level on categorical
ones), scikit-learn's Birch(threshold=1.0, n_clusters=AgglomerativeClustering(5, ward)) and
silhouette_score(sample_size=10000). Writes one label per row to LABELS.

`ari A B`: adjusted Rand index of two label files (SegmentIQ's assignments.csv or a label
file written by `birch`).
"""

import sys
import time

import numpy as np
import pandas as pd
from sklearn.cluster import AgglomerativeClustering, Birch
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["age", "total_spend", "visit_frequency", "avg_basket_size"]
CATEGORICAL = ["gender", "region", "preferred_category"]


def birch(csv, out):
    started = time.perf_counter()
    df = pd.read_csv(csv)
    numeric = df[NUMERIC].fillna(df[NUMERIC].median())
    categorical = df[CATEGORICAL].fillna(df[CATEGORICAL].mode().iloc[0])
    x = np.hstack(
        [
            StandardScaler().fit_transform(numeric),
            OneHotEncoder(sparse_output=False).fit_transform(categorical),
        ]
    )
    model = Birch(threshold=1.0, n_clusters=AgglomerativeClustering(5, linkage="ward"))
    labels = model.fit_predict(x)
    score = silhouette_score(x, labels, sample_size=10000, random_state=0)
    np.savetxt(out, labels, fmt="%d")
    print(
        f"birch: {len(labels)} rows, {x.shape[1]} features, "
        f"{len(model.subcluster_centers_)} subclusters, silhouette {score:.4f} (10,000-row sample), "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def labels_of(path):
    if path.endswith(".csv"):
        return pd.read_csv(path, usecols=["cluster"])["cluster"].to_numpy()
    return np.loadtxt(path, dtype=int)


def ari(a, b):
    print(f"{adjusted_rand_score(labels_of(a), labels_of(b)):.4f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"birch": birch, "ari": ari}[command](*args)
