//! The segment map: every customer at its first two principal components, coloured by segment.
//!
//! Wide, the legend sits in the plot's corner. Narrow, the plot is square and the legend is a
//! grid below it, [`NARROW_LEGEND_COLUMNS`] segments a row.

use super::{
    Chart, Colors, Layout, NARROW_MIN_FONT, NARROW_WIDTH, RenderError, RenderOptions, ThemedMesh,
    draw_err, render, segment_color, tick,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Legend entries per row below a narrow map.
const NARROW_LEGEND_COLUMNS: usize = 3;
/// Height of one row of the narrow legend.
const NARROW_LEGEND_ROW: u32 = NARROW_MIN_FONT + 9;

/// Height of the legend below a narrow map of `k` segments.
fn narrow_legend_height(k: usize) -> u32 {
    k.div_ceil(NARROW_LEGEND_COLUMNS) as u32 * NARROW_LEGEND_ROW + 16
}

/// Height of the narrow map of `k` segments: a square plot and the legend below it.
pub fn map_narrow_height(k: usize) -> u32 {
    NARROW_WIDTH + 20 + narrow_legend_height(k.max(1))
}

/// Points drawn at most; above it every `ceil(n / MAP_MAX_POINTS)`-th row is drawn, which is
/// deterministic and keeps each segment's share (an SVG of a million circles helps no one).
pub const MAP_MAX_POINTS: usize = 5000;

struct Map {
    points: Vec<([f64; 2], usize)>,
    k: usize,
    shown_of: Option<usize>,
}

impl Map {
    /// The legend below a narrow map: a coloured dot and the segment number, in a grid.
    fn draw_narrow_legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
    ) -> Result<(), RenderError> {
        let (w, _) = area.dim_in_pixel();
        let column = (w as i32 - 24) / NARROW_LEGEND_COLUMNS as i32;
        for s in 0..self.k {
            let x = 12 + (s % NARROW_LEGEND_COLUMNS) as i32 * column;
            let y = 8
                + (s / NARROW_LEGEND_COLUMNS) as i32 * NARROW_LEGEND_ROW as i32
                + NARROW_LEGEND_ROW as i32 / 2;
            area.draw(&Circle::new((x + 6, y), 6, segment_color(s).filled()))
                .map_err(draw_err)?;
            area.draw(&Text::new(
                format!("Segment {s}"),
                (x + 18, y),
                colors
                    .font(NARROW_MIN_FONT)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

impl Chart for Map {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: Layout,
    ) -> Result<(), RenderError> {
        let narrow = layout == Layout::Narrow;
        let bounds = |axis: usize| {
            let (lo, hi) = self
                .points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (p, _)| {
                    (lo.min(p[axis]), hi.max(p[axis]))
                });
            let pad = ((hi - lo) * 0.05).max(1e-6);
            (lo - pad, hi + pad)
        };
        let (x0, x1) = bounds(0);
        let (y0, y1) = bounds(1);
        let title = match self.shown_of {
            Some(n) if narrow => format!(
                "Segment map, {} of {} shown",
                super::thousands(self.points.len()),
                super::thousands(n)
            ),
            Some(n) => format!(
                "Segment map (PCA, {} of {} customers shown)",
                super::thousands(self.points.len()),
                super::thousands(n)
            ),
            None => "Segment map (PCA)".to_string(),
        };
        let (plot, legend) = if narrow {
            let (_, h) = area.dim_in_pixel();
            let legend = narrow_legend_height(self.k.max(1)).min(h / 2);
            let (plot, legend) = area.split_vertically(h - legend);
            (plot, Some(legend))
        } else {
            (area.clone(), None)
        };
        let mut chart = if narrow {
            ChartBuilder::on(&plot)
                .margin(12)
                .caption(title, colors.font(19))
                .x_label_area_size(52)
                .y_label_area_size(68)
                .build_cartesian_2d(x0..x1, y0..y1)
        } else {
            ChartBuilder::on(&plot)
                .margin(16)
                .caption(title, colors.font(20))
                .x_label_area_size(50)
                .y_label_area_size(64)
                .build_cartesian_2d(x0..x1, y0..y1)
        }
        .map_err(draw_err)?;
        let fx = |v: &f64| tick(*v, x1 - x0);
        let fy = |v: &f64| tick(*v, y1 - y0);
        let mut mesh = chart.configure_mesh();
        mesh.x_label_formatter(&fx).y_label_formatter(&fy);
        if narrow {
            mesh.x_labels(4)
                .y_labels(5)
                .x_desc("Component 1")
                .y_desc("Component 2")
                .themed(colors, NARROW_MIN_FONT + 2);
        } else {
            mesh.x_desc("Principal component 1")
                .y_desc("Principal component 2")
                .themed(colors, 15);
        }
        mesh.draw().map_err(draw_err)?;
        for s in 0..self.k {
            let color = segment_color(s);
            chart
                .draw_series(
                    self.points
                        .iter()
                        .filter(|(_, l)| *l == s)
                        .map(|(p, _)| Circle::new((p[0], p[1]), 3, color.mix(0.75).filled())),
                )
                .map_err(draw_err)?
                .label(format!("Segment {s}"))
                .legend(move |(x, y)| Circle::new((x + 6, y), 5, color.filled()));
        }
        if let Some(legend) = legend {
            return self.draw_narrow_legend(&legend, colors);
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(colors.background.mix(0.85))
            .border_style(colors.grid)
            .label_font(colors.font(13))
            .draw()
            .map_err(draw_err)?;
        Ok(())
    }
}

/// Draws the 2-D map of `points` coloured by `labels` (one per point).
pub fn pca_map(
    points: &[[f64; 2]],
    labels: &[usize],
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    if points.is_empty() || points.len() != labels.len() {
        return Err(RenderError::Input(format!(
            "a map needs one segment per point ({} points, {} labels)",
            points.len(),
            labels.len()
        )));
    }
    let n = points.len();
    let stride = n.div_ceil(MAP_MAX_POINTS).max(1);
    let shown: Vec<([f64; 2], usize)> = points
        .iter()
        .zip(labels)
        .step_by(stride)
        .filter(|(p, _)| p[0].is_finite() && p[1].is_finite())
        .map(|(p, &l)| (*p, l))
        .collect();
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    render(
        &Map {
            points: shown,
            k,
            shown_of: (stride > 1).then_some(n),
        },
        opts,
    )
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_png, assert_readable_on_a_phone, assert_svg, narrow, opts,
    };
    use super::super::{Format, Theme};
    use super::*;

    #[test]
    fn renders_png_and_svg() {
        let points = [[0.0, 1.0], [0.5, 0.8], [3.0, -1.0], [3.2, -0.7]];
        let labels = [0, 0, 1, 1];
        assert_png(
            &pca_map(&points, &labels, &opts(Theme::Dark, Format::Png)).unwrap(),
            900,
            500,
        );
        assert_svg(
            &pca_map(&points, &labels, &opts(Theme::Light, Format::Svg)).unwrap(),
            "Segment 1",
        );
    }

    #[test]
    fn subsamples_large_maps_deterministically() {
        let n = 12_000;
        let points: Vec<[f64; 2]> = (0..n).map(|i| [i as f64, (i % 7) as f64]).collect();
        let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let o = opts(Theme::Dark, Format::Svg);
        let a = pca_map(&points, &labels, &o).unwrap();
        assert_eq!(a, pca_map(&points, &labels, &o).unwrap());
        let svg = String::from_utf8(a).unwrap();
        assert!(svg.contains("4,000 of 12,000 customers shown"));
        assert!(svg.matches("<circle").count() <= MAP_MAX_POINTS + 3);
    }

    #[test]
    fn narrow_layout_puts_the_legend_below_a_square_plot() {
        let points: Vec<[f64; 2]> = (0..60).map(|i| [i as f64, (i % 7) as f64]).collect();
        let labels: Vec<usize> = (0..60).map(|i| i % 14).collect();
        let height = map_narrow_height(14);
        let svg = pca_map(&points, &labels, &narrow(height)).unwrap();
        assert_readable_on_a_phone(&svg, height);
        assert_svg(&svg, "Segment 13");
        // Legend entries sit below the plot, which is as tall as it is wide.
        let text = String::from_utf8(svg).unwrap();
        let at = text.find("\nSegment 13\n").unwrap();
        let y: f64 = text[..at]
            .rsplit(" y=\"")
            .next()
            .and_then(|s| s.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!(y > f64::from(NARROW_WIDTH), "legend at y = {y}");
    }
}
