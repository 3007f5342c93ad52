#!/usr/bin/env python3
"""Times SegmentIQ's linkage and silhouette against scipy, fastcluster and scikit-learn.

Every tool gets the same matrix, written once to a CSV that the `time_linkage` example reads:
with `--data blobs` (the default) seeded points around 8 segment centres in 12 features,
standardized (as SegmentIQ's preprocessing leaves them); with `--data customers` the table of
`segmentiq sample-data` encoded as SegmentIQ encodes it (median / most frequent imputation,
standardized numbers, every category level one-hot: 32 features with many tied distances).
Usually started through `bench/run.sh`.

    python bench/compare.py --sizes 10000 40000 --binary target/release/examples/time_linkage
"""
import csv
import argparse
import os
import platform
import subprocess
import time

import numpy as np

FEATURES = 12
# Methods whose matrix algorithms need n^2/2 doubles: skipped above this size.
MATRIX_LIMIT = 20000


def customers(n, seed=42):
    rng = np.random.default_rng(seed)
    centres = 3.0 * rng.standard_normal((8, FEATURES))
    x = centres[rng.integers(0, 8, n)] + rng.standard_normal((n, FEATURES))
    return (x - x.mean(axis=0)) / x.std(axis=0)


NUMERIC = ["age", "total_spend", "visit_frequency", "avg_basket_size"]
CATEGORICAL = ["gender", "region", "preferred_category"]
MISSING = {"", "NA", "null", "NaN"}


def sample_customers(segmentiq, n, out, seed=42):
    """`segmentiq sample-data` rows, encoded like SegmentIQ's preprocessing."""
    path = os.path.join(out, f"sample_{n}.csv")
    subprocess.run([segmentiq, "sample-data", "--rows", str(n), "--seed", str(seed),
                    "--out", path], check=True)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns = []
    for name in NUMERIC:
        v = np.array([np.nan if r[name] in MISSING else float(r[name]) for r in rows])
        v[np.isnan(v)] = np.nanmedian(v)
        columns.append((v - v.mean()) / v.std())
    for name in CATEGORICAL:
        values = [r[name] for r in rows]
        present = [v for v in values if v not in MISSING]
        common = max(sorted(set(present)), key=present.count)
        values = [common if v in MISSING else v for v in values]
        for level in sorted(set(values)):
            columns.append(np.array([1.0 if v == level else 0.0 for v in values]))
    return np.column_stack(columns)


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def segmentiq(binary, csv, methods, k):
    cmd = [binary, csv, "--k", str(k)]
    for m in methods:
        cmd += ["--method", m]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    times = {}
    for line in out.splitlines():
        parts = line.split()
        times[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]) if len(parts) > 3 else None)
    return times


def fmt(seconds):
    return "-" if seconds is None else f"{seconds:.2f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[10000])
    p.add_argument("--methods", nargs="+", default=["ward", "single", "average", "complete"])
    p.add_argument("--binary", default="target/release/examples/time_linkage")
    p.add_argument("--out", default="bench/out")
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--data", choices=["blobs", "customers"], default="blobs")
    p.add_argument("--segmentiq", default="target/release/segmentiq",
                   help="the segmentiq binary, for --data customers")
    args = p.parse_args()

    import fastcluster
    import scipy
    import sklearn
    from scipy.cluster.hierarchy import fcluster, linkage
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics import silhouette_score

    os.makedirs(args.out, exist_ok=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"scipy {scipy.__version__}, fastcluster {fastcluster.__version__}, "
          f"scikit-learn {sklearn.__version__}; data {args.data}; seconds, lower is better")
    rows = []
    for n in args.sizes:
        if args.data == "customers":
            x = sample_customers(args.segmentiq, n, args.out)
        else:
            x = customers(n)
        csv_path = os.path.join(args.out, f"{args.data}_{n}_encoded.csv")
        np.savetxt(csv_path, x, delimiter=",", fmt="%.17g")
        methods = [m for m in args.methods if n <= MATRIX_LIMIT or m in ("ward", "single")]
        ours = segmentiq(args.binary, csv_path, methods, args.k)
        for m in methods:
            matrix_ok = n <= MATRIX_LIMIT
            t_scipy, z = timed(lambda: linkage(x, m)) if matrix_ok else (None, None)
            t_fc = timed(lambda: fastcluster.linkage(x, m))[0] if matrix_ok else None
            t_fcv = (timed(lambda: fastcluster.linkage_vector(x, m))[0]
                     if m in ("ward", "single") else None)
            t_sk = (timed(lambda: AgglomerativeClustering(n_clusters=args.k, linkage=m).fit(x))[0]
                    if m == "ward" else None)
            t_ours = ours[("linkage", m)][0]
            best = min(t for t in (t_scipy, t_fc, t_fcv, t_sk) if t is not None)
            rows.append((n, f"linkage {m}", t_scipy, t_fc, t_fcv, t_sk, t_ours, best / t_ours))
            if m == "ward":
                # sklearn's silhouette on the same cut (Ward is the product's default).
                if z is None:
                    z = fastcluster.linkage_vector(x, m)
                labels = fcluster(z, args.k, criterion="maxclust")
                t_sil, score = timed(lambda: silhouette_score(x, labels))
                t_ours_sil, our_score = ours[("silhouette", m)]
                rows.append((n, "silhouette (ward cut)", None, None, None, t_sil, t_ours_sil,
                             t_sil / t_ours_sil))
                print(f"# n={n}: silhouette scikit-learn {score:.12f}, SegmentIQ {our_score:.12f}")

    print()
    print("| n | step | scipy | fastcluster.linkage | fastcluster.linkage_vector "
          "| scikit-learn | SegmentIQ | best other / SegmentIQ |")
    print("|---|---|---|---|---|---|---|---|")
    for n, step, a, b, c, d, ours_t, ratio in rows:
        print(f"| {n} | {step} | {fmt(a)} | {fmt(b)} | {fmt(c)} | {fmt(d)} | {fmt(ours_t)} "
              f"| {ratio:.1f}x |")


if __name__ == "__main__":
    main()
