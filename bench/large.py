"""Adjusted Rand index of two label files, for bench/large.sh.

`ari A B`: each file is SegmentIQ's assignments.csv (its `cluster` column) or a label file with
one segment per line (`bench/birch_pipeline.py --labels`).

`thin CSV STEP OUT`: writes CSV without every STEP-th customer (rows i with i % STEP == STEP // 2,
counting from 0), fields unchanged.

`ari-thinned WHOLE PART STEP`: the index of PART's segments (a run on the thinned table) against
WHOLE's (a run on the whole table) on the customers both have: how far the reference itself
moves when a few customers are missing.
"""

import csv
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score


def labels_of(path):
    if path.endswith(".csv"):
        return pd.read_csv(path, usecols=["cluster"])["cluster"].to_numpy()
    return np.loadtxt(path, dtype=int)


def kept(n, step):
    return np.arange(n) % step != step // 2


def ari(a, b):
    print(f"{adjusted_rand_score(labels_of(a), labels_of(b)):.4f}")


def thin(path, step, out):
    step = int(step)
    with open(path, newline="", encoding="utf-8") as src, open(out, "w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i % step != step // 2:
                writer.writerow(row)


def ari_thinned(whole, part, step):
    whole = labels_of(whole)
    part = labels_of(part)
    same = whole[kept(len(whole), int(step))]
    assert len(same) == len(part), (len(same), len(part))
    print(f"{adjusted_rand_score(same, part):.4f}")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    {"ari": ari, "thin": thin, "ari-thinned": ari_thinned}[command](*args)
