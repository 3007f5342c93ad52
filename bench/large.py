"""Adjusted Rand index of two label files, for bench/large.sh.

`ari A B`: each file is SegmentIQ's assignments.csv (its `cluster` column) or a label file with
one segment per line (`bench/birch_pipeline.py --labels`).
"""

import sys

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score


def labels_of(path):
    if path.endswith(".csv"):
        return pd.read_csv(path, usecols=["cluster"])["cluster"].to_numpy()
    return np.loadtxt(path, dtype=int)


def ari(a, b):
    print(f"{adjusted_rand_score(labels_of(a), labels_of(b)):.4f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"ari": ari}[command](*args)
