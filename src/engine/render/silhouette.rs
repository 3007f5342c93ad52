//! The silhouette plot: every row's silhouette, grouped by segment and sorted, with the mean.
//!
//! Each segment is drawn as one filled profile (its sorted silhouettes as a shape whose height
//! is proportional to the segment size) rather than one bar per row, so a million rows draw as
//! fast and as small as a hundred.

use super::{
    Chart, Colors, Layout, NARROW_MIN_FONT, RenderError, RenderOptions, ThemedMesh, WIDE_LABELS,
    draw_err, render, segment_color,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Points per segment profile at most; enough for a smooth outline at any chart size.
const OUTLINE_POINTS: usize = 400;

struct SilhouettePlot {
    /// Per segment: silhouettes sorted from highest to lowest.
    segments: Vec<Vec<f64>>,
    mean: f64,
    n: usize,
}

impl Chart for SilhouettePlot {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: Layout,
    ) -> Result<(), RenderError> {
        let narrow = layout == Layout::Narrow;
        let (caption, desc, label) = if narrow {
            (20, NARROW_MIN_FONT + 2, NARROW_MIN_FONT)
        } else {
            (20, 15, 13)
        };
        let k = self.segments.len();
        // Vertical space: each segment's share of rows plus a fixed gap between segments.
        let gap = 0.02;
        let total = 1.0 + gap * (k.saturating_sub(1)) as f64;
        let x_min = self
            .segments
            .iter()
            .flatten()
            .copied()
            .fold(0.0f64, f64::min)
            .clamp(-1.0, -0.1);
        let mut chart = ChartBuilder::on(area)
            .margin(if narrow { 12 } else { 16 })
            .caption("Silhouette by segment", colors.font(caption))
            .x_label_area_size(56)
            .y_label_area_size(if narrow { 52 } else { 56 })
            .build_cartesian_2d(x_min..1.0, 0.0..total)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(if narrow { 5 } else { WIDE_LABELS })
            .x_desc(if narrow {
                "Silhouette"
            } else {
                "Silhouette (how much closer each customer is to its own segment)"
            })
            .y_desc(if narrow {
                "Segments"
            } else {
                "Customers by segment"
            })
            .themed(colors, desc)
            .draw()
            .map_err(draw_err)?;

        let mut top = total;
        for (s, values) in self.segments.iter().enumerate() {
            let height = values.len() as f64 / self.n.max(1) as f64;
            let bottom = top - height;
            let steps = values.len().clamp(1, OUTLINE_POINTS);
            let mut outline = vec![(0.0, top)];
            for i in 0..=steps {
                let t = i as f64 / steps as f64;
                let idx = ((t * (values.len() - 1) as f64).round() as usize).min(values.len() - 1);
                outline.push((values[idx], top - t * height));
            }
            outline.push((0.0, bottom));
            let color = segment_color(s);
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    color.mix(0.85).filled(),
                )))
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(x_min, (top + bottom) / 2.0));
            area.draw(&Text::new(
                s.to_string(),
                (px - 8, py),
                colors
                    .font(label)
                    .color(&color)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(draw_err)?;
            top = bottom - gap;
        }

        chart
            .draw_series(DashedLineSeries::new(
                vec![(self.mean, 0.0), (self.mean, total)],
                8,
                6,
                colors.accent.stroke_width(2),
            ))
            .map_err(draw_err)?;
        let (px, py) = chart.backend_coord(&(self.mean, total));
        area.draw(&Text::new(
            format!("mean {:.3}", self.mean),
            (px + 6, py + 4),
            colors
                .font(label)
                .color(&colors.accent)
                .pos(Pos::new(HPos::Left, VPos::Top)),
        ))
        .map_err(draw_err)?;
        Ok(())
    }
}

/// Draws the silhouette of every row (`samples`), grouped by segment (`labels`).
pub fn silhouette_plot(
    samples: &[f64],
    labels: &[usize],
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    if samples.is_empty() || samples.len() != labels.len() {
        return Err(RenderError::Input(format!(
            "a silhouette plot needs one silhouette per row ({} silhouettes, {} labels)",
            samples.len(),
            labels.len()
        )));
    }
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut segments: Vec<Vec<f64>> = vec![Vec::new(); k];
    for (&s, &l) in samples.iter().zip(labels) {
        segments[l].push(if s.is_finite() {
            s.clamp(-1.0, 1.0)
        } else {
            0.0
        });
    }
    for seg in &mut segments {
        seg.sort_by(|a, b| b.total_cmp(a));
    }
    segments.retain(|s| !s.is_empty());
    let mean = samples.iter().filter(|s| s.is_finite()).sum::<f64>() / samples.len() as f64;
    render(
        &SilhouettePlot {
            segments,
            mean,
            n: samples.len(),
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
        let samples = [0.8, 0.7, 0.75, 0.2, -0.1, 0.5, 0.4];
        let labels = [0, 0, 0, 1, 1, 2, 2];
        assert_png(
            &silhouette_plot(&samples, &labels, &opts(Theme::Dark, Format::Png)).unwrap(),
            900,
            500,
        );
        assert_svg(
            &silhouette_plot(&samples, &labels, &opts(Theme::Light, Format::Svg)).unwrap(),
            "mean 0.464",
        );
        assert!(silhouette_plot(&samples, &labels[..3], &opts(Theme::Dark, Format::Svg)).is_err());
    }

    #[test]
    fn narrow_layout_is_readable_on_a_phone() {
        let samples = [0.8, 0.7, 0.75, 0.2, -0.1, 0.5, 0.4];
        let labels = [0, 0, 0, 1, 1, 2, 2];
        let svg = silhouette_plot(&samples, &labels, &narrow(440)).unwrap();
        assert_readable_on_a_phone(&svg, 440);
        assert_svg(&svg, "mean 0.464");
    }
}
