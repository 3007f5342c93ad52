//! Cutting a merge tree into flat segments.
//!
//! Segment numbers are deterministic so that the same tree always gives the same labels, in the
//! database, the CSV export and the charts: **segment 0 is the largest; segments of equal size
//! are ordered by the smallest row index they contain.** scipy's `fcluster` and scikit-learn
//! number clusters differently (by tree position); the partitions are the same, only the names
//! differ.
//!
//! A tree that was not made by [`super::linkage::linkage`] may reference clusters that do not
//! exist yet; such merges are ignored rather than trusted.

use super::types::Merge;

/// Labels for the `n = z.len() + 1` rows when the tree is cut into `k` segments: the partition
/// left after the first `n - k` merges, which is what `AgglomerativeClustering(n_clusters=k)`
/// returns (it undoes the last `k - 1` merges) and, for trees without inversions,
/// `fcluster(Z, k, 'maxclust')` when no heights tie. `k` is clamped to `1..=n`.
pub fn cut_clusters(z: &[Merge], k: usize) -> Vec<usize> {
    let n = z.len() + 1;
    let k = k.clamp(1, n);
    let mut forest = Forest::new(n);
    for (i, m) in z.iter().take(n - k).enumerate() {
        forest.merge(n + i, m);
    }
    forest.labels()
}

/// Labels when the tree is cut at height `h`, like `fcluster(Z, h, criterion='distance')`: rows
/// end up together when their cophenetic distance is at most `h`. For trees with inversions
/// (centroid, median) a cluster is kept whole when the highest merge inside it is at most `h`,
/// as scipy does.
pub fn cut_height(z: &[Merge], h: f64) -> Vec<usize> {
    let n = z.len() + 1;
    // Highest merge inside each cluster (0 for a leaf).
    let mut max_inside = vec![0.0f64; 2 * n - 1];
    let mut forest = Forest::new(n);
    for (i, m) in z.iter().enumerate() {
        let (Some(&l), Some(&r)) = (max_inside.get(m.left), max_inside.get(m.right)) else {
            continue;
        };
        if m.left >= n + i || m.right >= n + i {
            continue;
        }
        let highest = m.height.max(l).max(r);
        max_inside[n + i] = highest;
        if highest <= h {
            forest.merge(n + i, m);
        }
    }
    forest.labels()
}

/// A height at which to draw the cut into `k` segments on a dendrogram: halfway between the last
/// merge kept (`n - k`) and the first merge undone (`n - k + 1`). For `k = 1` it is a little
/// above the root; for `k >= n` halfway below the lowest merge.
pub fn cut_line(z: &[Merge], k: usize) -> f64 {
    let n = z.len() + 1;
    let k = k.clamp(1, n);
    match z.len() {
        0 => 0.0,
        _ if k == 1 => {
            let top = z.iter().map(|m| m.height).fold(0.0, f64::max);
            if top > 0.0 { top * 1.05 } else { 1.0 }
        }
        _ if k == n => z[0].height / 2.0,
        _ => (z[n - k - 1].height + z[n - k].height) / 2.0,
    }
}

/// Segment sizes for labels produced by this module (index = segment).
pub fn segment_sizes(labels: &[usize], k: usize) -> Vec<usize> {
    let mut sizes = vec![0usize; k];
    for &l in labels {
        if let Some(s) = sizes.get_mut(l) {
            *s += 1;
        }
    }
    sizes
}

/// Labels of the rows of a tree whose leaves are groups of rows (the large-table path's
/// micro-clusters): row `r` is in leaf `leaf_of[r]`, and `leaf_labels` is a cut of the tree
/// (one label per leaf). Segments are numbered as everywhere else, by rows: 0 is the largest,
/// equal sizes ordered by their smallest row index.
pub fn rows_of_leaves(leaf_labels: &[usize], leaf_of: &[u32]) -> Vec<usize> {
    let k = leaf_labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut size = vec![0usize; k];
    let mut first = vec![usize::MAX; k];
    for (row, &leaf) in leaf_of.iter().enumerate() {
        let l = leaf_labels[leaf as usize];
        size[l] += 1;
        first[l] = first[l].min(row);
    }
    let mut order: Vec<usize> = (0..k).filter(|&l| size[l] > 0).collect();
    order.sort_by_key(|&l| (std::cmp::Reverse(size[l]), first[l]));
    let mut renamed = vec![0usize; k];
    for (label, &l) in order.iter().enumerate() {
        renamed[l] = label;
    }
    leaf_of
        .iter()
        .map(|&leaf| renamed[leaf_labels[leaf as usize]])
        .collect()
}

/// Union-find over rows that tracks which row stands for each tree cluster.
struct Forest {
    n: usize,
    parent: Vec<usize>,
    /// A member row of each cluster id `0..2n-1` that exists so far.
    member: Vec<Option<usize>>,
}

impl Forest {
    fn new(n: usize) -> Self {
        let mut member = vec![None; 2 * n - 1];
        for (i, m) in member.iter_mut().take(n).enumerate() {
            *m = Some(i);
        }
        Forest {
            n,
            parent: (0..n).collect(),
            member,
        }
    }

    fn find(&mut self, mut a: usize) -> usize {
        let mut root = a;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        while self.parent[a] != root {
            let next = self.parent[a];
            self.parent[a] = root;
            a = next;
        }
        root
    }

    /// Records merge `m` creating cluster `id`; merges naming unknown clusters are skipped.
    fn merge(&mut self, id: usize, m: &Merge) {
        let (Some(Some(a)), Some(Some(b))) = (
            self.member.get(m.left).copied(),
            self.member.get(m.right).copied(),
        ) else {
            return;
        };
        let (ra, rb) = (self.find(a), self.find(b));
        self.parent[rb] = ra;
        if let Some(slot) = self.member.get_mut(id) {
            *slot = Some(ra);
        }
    }

    /// Final labels in the documented order: by size descending, then by smallest row.
    fn labels(mut self) -> Vec<usize> {
        let n = self.n;
        let roots: Vec<usize> = (0..n).map(|i| self.find(i)).collect();
        let mut size = vec![0usize; n];
        let mut first = vec![usize::MAX; n];
        for (i, &r) in roots.iter().enumerate() {
            size[r] += 1;
            first[r] = first[r].min(i);
        }
        let mut order: Vec<usize> = (0..n).filter(|&r| size[r] > 0).collect();
        order.sort_by_key(|&r| (std::cmp::Reverse(size[r]), first[r]));
        let mut label_of_root = vec![0usize; n];
        for (label, &r) in order.iter().enumerate() {
            label_of_root[r] = label;
        }
        roots.into_iter().map(|r| label_of_root[r]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_leaves_are_numbered_by_rows() {
        // Leaf 0 is the larger group of leaves, but leaf 1 holds more rows.
        let leaf_labels = [0, 1, 0];
        let leaf_of = [1, 1, 1, 0, 2];
        assert_eq!(rows_of_leaves(&leaf_labels, &leaf_of), [0, 0, 0, 1, 1]);
        // Equal sizes: the segment holding the first row comes first.
        assert_eq!(rows_of_leaves(&[1, 0], &[1, 0, 1, 0]), [0, 1, 0, 1]);
    }

    fn m(left: usize, right: usize, height: f64, size: usize) -> Merge {
        Merge {
            left,
            right,
            height,
            size,
        }
    }

    /// Rows 0..5: {1,3} at 1, {0,4} at 2, {1,3,2} at 3, everything at 4.
    fn tree() -> Vec<Merge> {
        vec![
            m(1, 3, 1.0, 2),
            m(0, 4, 2.0, 2),
            m(2, 5, 3.0, 3),
            m(6, 7, 4.0, 5),
        ]
    }

    #[test]
    fn cut_by_count_numbers_largest_first() {
        let z = tree();
        assert_eq!(cut_clusters(&z, 1), vec![0, 0, 0, 0, 0]);
        assert_eq!(cut_clusters(&z, 2), vec![1, 0, 0, 0, 1]);
        // {0,4} and {1,3} tie on size: the one holding row 0 comes first.
        assert_eq!(cut_clusters(&z, 3), vec![0, 1, 2, 1, 0]);
        assert_eq!(cut_clusters(&z, 5), vec![0, 1, 2, 3, 4]);
        // Out-of-range requests are clamped rather than rejected.
        assert_eq!(cut_clusters(&z, 0), cut_clusters(&z, 1));
        assert_eq!(cut_clusters(&z, 99), cut_clusters(&z, 5));
    }

    #[test]
    fn cut_by_height_is_inclusive_like_fcluster() {
        let z = tree();
        assert_eq!(cut_height(&z, 0.5), cut_clusters(&z, 5));
        assert_eq!(cut_height(&z, 2.0), cut_clusters(&z, 3));
        assert_eq!(cut_height(&z, 3.5), cut_clusters(&z, 2));
        assert_eq!(cut_height(&z, 10.0), cut_clusters(&z, 1));
    }

    #[test]
    fn cut_height_respects_inversions() {
        // Cluster 5 = {4, 2} sits lower (0.5) than its child 4 = {0, 1} (1.0), as centroid linkage
        // can produce; at h = 0.7 neither may be formed.
        let z = vec![m(0, 1, 1.0, 2), m(2, 4, 0.5, 3), m(3, 5, 2.0, 4)];
        assert_eq!(cut_height(&z, 0.7), vec![0, 1, 2, 3]);
        assert_eq!(cut_height(&z, 1.0), vec![0, 0, 0, 1]);
    }

    #[test]
    fn cut_line_falls_between_the_kept_and_undone_merges() {
        let z = tree();
        assert_eq!(cut_line(&z, 2), 3.5);
        assert_eq!(cut_line(&z, 3), 2.5);
        assert_eq!(cut_line(&z, 5), 0.5);
        assert!(cut_line(&z, 1) > 4.0);
    }

    #[test]
    fn malformed_trees_do_not_panic() {
        let z = vec![m(0, 7, 1.0, 2), m(1, 2, 2.0, 2)];
        assert_eq!(cut_clusters(&z, 1), vec![1, 0, 0]);
        assert_eq!(cut_height(&z, 5.0), vec![1, 0, 0]);
        assert_eq!(segment_sizes(&[0, 1, 1, 5], 2), vec![1, 2]);
    }
}
