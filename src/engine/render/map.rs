//! The segment map: every customer at its first two principal components, coloured by segment.

use super::{
    Chart, Colors, RenderError, RenderOptions, ThemedMesh, draw_err, render, segment_color, tick,
};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Points drawn at most; above it every `ceil(n / MAP_MAX_POINTS)`-th row is drawn, which is
/// deterministic and keeps each segment's share (an SVG of a million circles helps no one).
pub const MAP_MAX_POINTS: usize = 5000;

struct Map {
    points: Vec<([f64; 2], usize)>,
    k: usize,
    shown_of: Option<usize>,
}

impl Chart for Map {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
    ) -> Result<(), RenderError> {
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
            Some(n) => format!(
                "Segment map (PCA, {} of {} customers shown)",
                super::thousands(self.points.len()),
                super::thousands(n)
            ),
            None => "Segment map (PCA)".to_string(),
        };
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .caption(title, colors.font(20))
            .x_label_area_size(50)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?;
        let fx = |v: &f64| tick(*v, x1 - x0);
        let fy = |v: &f64| tick(*v, y1 - y0);
        chart
            .configure_mesh()
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .x_desc("Principal component 1")
            .y_desc("Principal component 2")
            .themed(colors, 15)
            .draw()
            .map_err(draw_err)?;
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
    use super::super::test_support::{assert_png, assert_svg, opts};
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
}
