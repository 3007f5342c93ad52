//! The dendrogram: the cluster tree with its cut, branches coloured by segment.
//!
//! Large trees are truncated like scipy's `dendrogram(truncate_mode="lastp", p=30)`: only the
//! last `p - 1` merges are drawn, and each of the `p` clusters they join is a leaf labelled with
//! its size, e.g. "(123)" (single rows keep their row index). Leaf order is scipy's: the
//! left child (`Merge::left`) of every merge is drawn first. A link whose rows all belong to one
//! segment gets that segment's colour; links spanning several segments are neutral.
//! The tree is walked with explicit stacks, since a single-linkage chain can be as deep as the
//! number of rows.

use super::{
    Chart, Colors, NARROW_MIN_FONT, RenderError, RenderOptions, ThemedMesh, WIDE_LABELS, draw_err,
    render, segment_color, tick,
};
use crate::engine::types::Merge;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Leaves shown before the tree is truncated (scipy's usual `p`).
pub const DEFAULT_LAST_P: usize = 30;

/// Leaves shown on a narrow chart, each with room for its label at a readable size.
pub const NARROW_LAST_P: usize = 12;

/// One drawn leaf.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Leaf {
    pub x: f64,
    pub label: String,
    pub segment: Option<usize>,
}

/// One drawn merge: a "U" from the left child's top up to `y`, across, and down to the right.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Link {
    pub x_left: f64,
    pub y_left: f64,
    pub x_right: f64,
    pub y_right: f64,
    pub y: f64,
    pub segment: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layout {
    pub leaves: Vec<Leaf>,
    pub links: Vec<Link>,
    pub max_height: f64,
    pub truncated: bool,
}

/// Computes leaf positions (`0.5, 1.5, ...`) and links of the last `p - 1` merges.
pub(crate) fn layout(z: &[Merge], labels: &[usize], p: usize) -> Result<Layout, RenderError> {
    let n = z.len() + 1;
    if z.is_empty() {
        return Err(RenderError::Input(
            "a dendrogram needs at least two rows".into(),
        ));
    }
    if !labels.is_empty() && labels.len() != n {
        return Err(RenderError::Input(format!(
            "the tree has {n} rows but {} segment labels were given",
            labels.len()
        )));
    }
    for (i, m) in z.iter().enumerate() {
        if m.left >= n + i || m.right >= n + i || !m.height.is_finite() {
            return Err(RenderError::Input(format!(
                "merge {i} of the linkage matrix is not valid (it refers to a later cluster or has no height)"
            )));
        }
    }
    // Segment of every node: leaves from the labels, merges when both children agree.
    let mut segment: Vec<Option<usize>> = Vec::with_capacity(2 * n - 1);
    segment.extend((0..n).map(|i| labels.get(i).copied()));
    for m in z {
        let s = match (segment[m.left], segment[m.right]) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        };
        segment.push(s);
    }

    let p = p.max(2);
    let truncated = n > p;
    // Merges with index >= first_shown are drawn; older clusters become leaves.
    let first_shown = if truncated { n - p } else { 0 };
    let is_drawn = |node: usize| node >= n + first_shown;
    let size_of = |node: usize| if node < n { 1 } else { z[node - n].size };

    let root = 2 * n - 2;
    // Position of each drawn node: (x, y).
    let mut pos: std::collections::HashMap<usize, (f64, f64)> = std::collections::HashMap::new();
    let mut leaves = Vec::new();
    let mut links = Vec::new();
    // Post-order walk: (node, children_done).
    let mut stack = vec![(root, false)];
    while let Some((node, done)) = stack.pop() {
        if !is_drawn(node) {
            let x = leaves.len() as f64 + 0.5;
            let label = if node < n {
                node.to_string()
            } else {
                format!("({})", size_of(node))
            };
            leaves.push(Leaf {
                x,
                label,
                segment: segment[node],
            });
            pos.insert(node, (x, 0.0));
            continue;
        }
        let m = &z[node - n];
        if !done {
            stack.push((node, true));
            stack.push((m.right, false));
            stack.push((m.left, false));
            continue;
        }
        let (xl, yl) = pos.get(&m.left).copied().unwrap_or((0.0, 0.0));
        let (xr, yr) = pos.get(&m.right).copied().unwrap_or((0.0, 0.0));
        links.push(Link {
            x_left: xl,
            y_left: yl,
            x_right: xr,
            y_right: yr,
            y: m.height,
            segment: segment[node],
        });
        pos.insert(node, ((xl + xr) / 2.0, m.height));
    }
    let max_height = z.iter().map(|m| m.height).fold(0.0, f64::max);
    Ok(Layout {
        leaves,
        links,
        max_height,
        truncated,
    })
}

struct Dendrogram {
    layout: Layout,
    cut_height: Option<f64>,
}

impl Chart for Dendrogram {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: super::Layout,
    ) -> Result<(), RenderError> {
        let narrow = layout == super::Layout::Narrow;
        // Wide: the sizes the desktop pages have always shown. Narrow: nothing below
        // NARROW_MIN_FONT, and fewer ticks.
        let (caption, desc, label_font, leaf_font) = if narrow {
            (20, NARROW_MIN_FONT + 2, NARROW_MIN_FONT, NARROW_MIN_FONT)
        } else {
            (20, 15, 13, 11)
        };
        let l = &self.layout;
        let cut = self.cut_height.filter(|h| h.is_finite() && *h >= 0.0);
        let top = l.max_height.max(cut.unwrap_or(0.0)) * 1.08;
        let top = if top > 0.0 { top } else { 1.0 };
        let n_leaves = l.leaves.len() as f64;
        let title = if l.truncated {
            format!("Cluster tree (last {} merges)", l.links.len())
        } else {
            "Cluster tree".to_string()
        };

        let mut chart = ChartBuilder::on(area)
            .margin(if narrow { 12 } else { 16 })
            .caption(title, colors.font(caption))
            .x_label_area_size(72)
            .y_label_area_size(if narrow { 66 } else { 72 })
            .build_cartesian_2d(0.0..n_leaves, 0.0..top)
            .map_err(draw_err)?;
        let fmt = |v: &f64| tick(*v, top);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_labels(if narrow { 5 } else { WIDE_LABELS })
            .y_label_formatter(&fmt)
            .x_desc("Customers")
            .y_desc("Merge height")
            .themed(colors, desc)
            .draw()
            .map_err(draw_err)?;

        let stroke = |s: Option<usize>| s.map_or(colors.neutral, segment_color).stroke_width(2);
        chart
            .draw_series(l.links.iter().map(|k| {
                PathElement::new(
                    vec![
                        (k.x_left, k.y_left),
                        (k.x_left, k.y),
                        (k.x_right, k.y),
                        (k.x_right, k.y_right),
                    ],
                    stroke(k.segment),
                )
            }))
            .map_err(draw_err)?;

        if let Some(h) = cut {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(0.0, h), (n_leaves, h)],
                    8,
                    6,
                    colors.accent.stroke_width(2),
                ))
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(n_leaves, h));
            area.draw(&Text::new(
                format!("cut at {}", tick(h, top)),
                (px - 4, py - 4),
                colors
                    .font(label_font)
                    .color(&colors.accent)
                    .pos(Pos::new(HPos::Right, VPos::Bottom)),
            ))
            .map_err(draw_err)?;
        }

        // Leaf labels under the axis; turned upright when they would collide.
        let (x0, _) = chart.backend_coord(&(0.0, 0.0));
        let (x1, y_axis) = chart.backend_coord(&(n_leaves, 0.0));
        let spacing = (x1 - x0) as f64 / n_leaves.max(1.0);
        let longest = l.leaves.iter().map(|f| f.label.len()).max().unwrap_or(1) as f64;
        // DejaVu Sans averages about 0.56 em per character (6.2 px at 11 px).
        let upright = longest * 6.2 * f64::from(leaf_font) / 11.0 > spacing * 0.95;
        for leaf in &l.leaves {
            let (px, _) = chart.backend_coord(&(leaf.x, 0.0));
            let color = leaf.segment.map_or(colors.muted, segment_color);
            let style = if upright {
                colors
                    .font(leaf_font)
                    .color(&color)
                    .transform(FontTransform::Rotate90)
                    .pos(Pos::new(HPos::Left, VPos::Center))
            } else {
                colors
                    .font(leaf_font)
                    .color(&color)
                    .pos(Pos::new(HPos::Center, VPos::Top))
            };
            area.draw(&Text::new(leaf.label.clone(), (px, y_axis + 6), style))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Draws the dendrogram of linkage `z` (truncated to the last [`DEFAULT_LAST_P`] clusters, or
/// [`NARROW_LAST_P`] on a narrow chart), coloured by `labels` (one segment per row; empty for no
/// colouring), with the cut drawn as a dashed line at `cut_height`.
pub fn dendrogram(
    z: &[Merge],
    labels: &[usize],
    cut_height: Option<f64>,
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    let p = match opts.layout {
        super::Layout::Wide => DEFAULT_LAST_P,
        super::Layout::Narrow => NARROW_LAST_P,
    };
    dendrogram_truncated(z, labels, cut_height, p, opts)
}

/// [`dendrogram`] showing the last `p` clusters instead of [`DEFAULT_LAST_P`].
pub fn dendrogram_truncated(
    z: &[Merge],
    labels: &[usize],
    cut_height: Option<f64>,
    p: usize,
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    let chart = Dendrogram {
        layout: layout(z, labels, p)?,
        cut_height,
    };
    render(&chart, opts)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_png, assert_readable_on_a_phone, assert_svg, narrow, opts,
    };
    use super::super::{Format, Theme};
    use super::*;

    fn merge(left: usize, right: usize, height: f64, size: usize) -> Merge {
        Merge {
            left,
            right,
            height,
            size,
        }
    }

    /// scipy: linkage([[0],[1],[5],[6],[20]], "single") ->
    /// [[0,1,1,2],[2,3,1,2],[5,6,4,4],[4,7,14,5]].
    fn tree() -> Vec<Merge> {
        vec![
            merge(0, 1, 1.0, 2),
            merge(2, 3, 1.0, 2),
            merge(5, 6, 4.0, 4),
            merge(4, 7, 14.0, 5),
        ]
    }

    #[test]
    fn full_layout_matches_scipy_leaf_order_and_colours() {
        let l = layout(&tree(), &[0, 0, 1, 1, 2], 30).unwrap();
        let labels: Vec<&str> = l.leaves.iter().map(|f| f.label.as_str()).collect();
        // scipy dendrogram(...)["ivl"] == ['4', '0', '1', '2', '3'].
        assert_eq!(labels, ["4", "0", "1", "2", "3"]);
        assert!(!l.truncated);
        assert_eq!(l.links.len(), 4);
        let by_height: Vec<Option<usize>> = l.links.iter().map(|k| k.segment).collect();
        assert_eq!(by_height, [Some(0), Some(1), None, None]);
        let root = l.links.last().unwrap();
        assert_eq!((root.x_left, root.y_left, root.y), (0.5, 0.0, 14.0));
        assert_eq!((root.x_right, root.y_right), (3.0, 4.0));
    }

    #[test]
    fn lastp_truncation_labels_cluster_sizes() {
        let l = layout(&tree(), &[], 3).unwrap();
        assert!(l.truncated);
        let labels: Vec<&str> = l.leaves.iter().map(|f| f.label.as_str()).collect();
        // scipy truncate_mode="lastp", p=3: ['4', '(2)', '(2)'].
        assert_eq!(labels, ["4", "(2)", "(2)"]);
        assert_eq!(l.links.len(), 2);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(layout(&[], &[], 30).is_err());
        assert!(layout(&tree(), &[0, 1], 30).is_err());
        assert!(layout(&[merge(0, 5, 1.0, 2)], &[], 30).is_err());
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let n = 200_000;
        let mut z = vec![merge(0, 1, 1.0, 2)];
        for i in 2..n {
            z.push(merge(i, n + i - 2, i as f64, i + 1));
        }
        let l = layout(&z, &[], 30).unwrap();
        assert_eq!(l.leaves.len(), 30);
    }

    #[test]
    fn renders_png_and_svg_in_both_themes() {
        for theme in [Theme::Dark, Theme::Light] {
            let png = dendrogram(
                &tree(),
                &[0, 0, 1, 1, 2],
                Some(9.0),
                &opts(theme, Format::Png),
            )
            .unwrap();
            assert_png(&png, 900, 500);
            let svg = dendrogram(
                &tree(),
                &[0, 0, 1, 1, 2],
                Some(9.0),
                &opts(theme, Format::Svg),
            )
            .unwrap();
            assert_svg(&svg, "Merge height");
            assert_svg(&svg, "Customers");
            assert_svg(&svg, "cut at");
        }
        let again = dendrogram(
            &tree(),
            &[0, 0, 1, 1, 2],
            Some(9.0),
            &opts(Theme::Dark, Format::Png),
        )
        .unwrap();
        let first = dendrogram(
            &tree(),
            &[0, 0, 1, 1, 2],
            Some(9.0),
            &opts(Theme::Dark, Format::Png),
        )
        .unwrap();
        assert_eq!(again, first, "rendering is deterministic");
    }

    #[test]
    fn rejects_silly_sizes() {
        let o = RenderOptions {
            width: 10,
            ..RenderOptions::default()
        };
        assert!(matches!(
            dendrogram(&tree(), &[], None, &o),
            Err(RenderError::Size { .. })
        ));
    }

    #[test]
    fn narrow_layout_shows_fewer_leaves_readably() {
        // A chain of 40 rows: wide shows 30 leaves, narrow 12.
        let n = 40;
        let mut z = vec![merge(0, 1, 1.0, 2)];
        for i in 2..n {
            z.push(merge(i, n + i - 2, i as f64, i + 1));
        }
        let labels: Vec<usize> = (0..n).map(|i| usize::from(i >= 20)).collect();
        let svg = dendrogram(&z, &labels, Some(30.0), &narrow(420)).unwrap();
        assert_readable_on_a_phone(&svg, 420);
        assert_svg(&svg, "Cluster tree (last 11 merges)");
        assert_svg(&svg, "cut at");
        let wide = dendrogram(&z, &labels, Some(30.0), &opts(Theme::Dark, Format::Svg)).unwrap();
        assert_svg(&wide, "Cluster tree (last 29 merges)");
    }
}
