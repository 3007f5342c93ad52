//! Cutting a linkage tree into flat segments (interim naive version).

use super::types::Merge;

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Applies the first `applied` merges and labels the resulting clusters, 0 = largest.
fn labels_after(z: &[Merge], applied: usize) -> Vec<usize> {
    let n = z.len() + 1;
    let mut parent: Vec<usize> = (0..2 * n - 1).collect();
    for (i, m) in z.iter().take(applied).enumerate() {
        let node = n + i;
        let (a, b) = (find(&mut parent, m.left), find(&mut parent, m.right));
        parent[a] = node;
        parent[b] = node;
    }
    let roots: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let mut order: Vec<usize> = Vec::new();
    let mut size = std::collections::HashMap::new();
    for &r in &roots {
        let e = size.entry(r).or_insert(0usize);
        if *e == 0 {
            order.push(r);
        }
        *e += 1;
    }
    order.sort_by(|a, b| size[b].cmp(&size[a]));
    let label: std::collections::HashMap<usize, usize> =
        order.iter().enumerate().map(|(l, &r)| (r, l)).collect();
    roots.iter().map(|r| label[r]).collect()
}

/// Labels for `k` clusters; 0 is the largest segment (ties: first row first).
pub fn cut_clusters(z: &[Merge], k: usize) -> Vec<usize> {
    let n = z.len() + 1;
    labels_after(z, n.saturating_sub(k.max(1)))
}

/// Labels for a cut at height `h`: merges at or below `h` are applied.
pub fn cut_height(z: &[Merge], h: f64) -> Vec<usize> {
    labels_after(z, z.iter().take_while(|m| m.height <= h).count())
}

/// A height that cuts the tree into `k` clusters (midway between the merges around it).
pub fn cut_line(z: &[Merge], k: usize) -> f64 {
    let n = z.len() + 1;
    if z.is_empty() || k >= n {
        return 0.0;
    }
    if k <= 1 {
        return z[z.len() - 1].height * 1.05;
    }
    (z[n - k - 1].height + z[n - k].height) / 2.0
}
