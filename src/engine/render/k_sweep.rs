//! The k sweep: silhouette and within-segment sum of squares for each candidate segment count,
//! so an analyst can see why a count is suggested (highest silhouette, or the elbow of WSS).

use super::{
    Chart, Colors, Layout, NARROW_MIN_FONT, RenderError, RenderOptions, ThemedMesh, WIDE_LABELS,
    draw_err, render, tick,
};
use crate::engine::quality::KSweep;
use plotters::coord::Shift;
use plotters::prelude::*;

struct KSweepChart<'a> {
    sweep: &'a KSweep,
    chosen_k: usize,
}

/// One panel: `values` against k, the chosen k marked.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    colors: &Colors,
    layout: Layout,
    title: &str,
    points: &[(usize, f64)],
    chosen_k: usize,
    suggested_k: usize,
) -> Result<(), RenderError> {
    let k_min = points.iter().map(|p| p.0).min().unwrap_or(2) as f64;
    let k_max = points.iter().map(|p| p.0).max().unwrap_or(2) as f64;
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let pad = ((hi - lo) * 0.1).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let narrow = layout == Layout::Narrow;
    let counts = (k_max - k_min) as usize + 1;
    let mut chart = ChartBuilder::on(area)
        .margin(if narrow { 10 } else { 14 })
        .caption(title, colors.font(if narrow { 18 } else { 17 }))
        .x_label_area_size(if narrow { 52 } else { 40 })
        .y_label_area_size(if narrow { 74 } else { 72 })
        .build_cartesian_2d((k_min - 0.5)..(k_max + 0.5), lo..hi)
        .map_err(draw_err)?;
    let fmt_y = |v: &f64| tick(*v, hi - lo);
    let fmt_x = |v: &f64| format!("{v:.0}");
    chart
        .configure_mesh()
        .x_labels(if narrow { counts.min(7) } else { counts })
        .y_labels(if narrow { 5 } else { WIDE_LABELS })
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&fmt_y)
        .x_desc(if narrow {
            "Segments (k)"
        } else {
            "Number of segments (k)"
        })
        .themed(colors, if narrow { NARROW_MIN_FONT + 2 } else { 14 })
        .draw()
        .map_err(draw_err)?;
    let chosen = chosen_k as f64;
    if chosen >= k_min && chosen <= k_max {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(chosen, lo), (chosen, hi)],
                6,
                5,
                colors.muted.stroke_width(1),
            ))
            .map_err(draw_err)?;
    }
    let line: Vec<(f64, f64)> = points.iter().map(|&(k, v)| (k as f64, v)).collect();
    chart
        .draw_series(LineSeries::new(line.clone(), colors.accent.stroke_width(2)))
        .map_err(draw_err)?;
    chart
        .draw_series(line.iter().map(|&(k, v)| {
            let style = if k as usize == suggested_k {
                colors.accent.filled()
            } else {
                colors.background.filled()
            };
            Circle::new((k, v), 5, style)
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(
            line.iter()
                .map(|&(k, v)| Circle::new((k, v), 5, colors.accent.stroke_width(2))),
        )
        .map_err(draw_err)?;
    Ok(())
}

impl Chart for KSweepChart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: Layout,
    ) -> Result<(), RenderError> {
        let narrow = layout == Layout::Narrow;
        let panels = area.split_evenly((2, 1));
        let sil: Vec<(usize, f64)> = self
            .sweep
            .points
            .iter()
            .map(|p| (p.k, p.silhouette))
            .collect();
        let wss: Vec<(usize, f64)> = self.sweep.points.iter().map(|p| (p.k, p.wss)).collect();
        let suggested = self.sweep.suggested_k;
        panel(
            &panels[0],
            colors,
            layout,
            &match self.sweep.sample_size {
                _ if narrow => format!("Silhouette (suggested k = {suggested})"),
                None => format!(
                    "Silhouette by segment count (higher is better; suggested k = {suggested})"
                ),
                Some(rows) => format!(
                    "Silhouette by segment count, {} sampled rows (suggested k = {suggested})",
                    super::thousands(rows)
                ),
            },
            &sil,
            self.chosen_k,
            suggested,
        )?;
        panel(
            &panels[1],
            colors,
            layout,
            if narrow {
                "Within-segment spread (elbow)"
            } else {
                "Within-segment sum of squares (look for the elbow)"
            },
            &wss,
            self.chosen_k,
            suggested,
        )
    }
}

/// Draws silhouette and WSS against k, marking the suggested k (filled point) and the k of
/// the run (`chosen_k`, dashed line).
pub fn k_sweep_chart(
    sweep: &KSweep,
    chosen_k: usize,
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    if sweep.points.is_empty() {
        return Err(RenderError::Input(
            "the k sweep has no points to draw".into(),
        ));
    }
    render(&KSweepChart { sweep, chosen_k }, opts)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        assert_png, assert_readable_on_a_phone, assert_svg, narrow, opts,
    };
    use super::super::{Format, Theme};
    use super::*;
    use crate::engine::quality::KPoint;

    #[test]
    fn renders_png_and_svg() {
        let sweep = KSweep {
            points: (2..=6)
                .map(|k| KPoint {
                    k,
                    silhouette: 0.5 - (k as f64 - 3.0).abs() * 0.05,
                    wss: 100.0 / k as f64,
                    ..KPoint::default()
                })
                .collect(),
            suggested_k: 3,
            ..KSweep::default()
        };
        assert_png(
            &k_sweep_chart(&sweep, 4, &opts(Theme::Dark, Format::Png)).unwrap(),
            900,
            500,
        );
        assert_svg(
            &k_sweep_chart(&sweep, 4, &opts(Theme::Light, Format::Svg)).unwrap(),
            "suggested k = 3",
        );
        let empty = KSweep {
            points: vec![],
            suggested_k: 2,
            ..KSweep::default()
        };
        assert!(k_sweep_chart(&empty, 2, &opts(Theme::Dark, Format::Svg)).is_err());
    }

    #[test]
    fn narrow_layout_is_readable_on_a_phone() {
        let sweep = KSweep {
            points: (2..=15)
                .map(|k| KPoint {
                    k,
                    silhouette: 0.5 - (k as f64 - 3.0).abs() * 0.02,
                    wss: 123_456.0 / k as f64,
                    ..KPoint::default()
                })
                .collect(),
            suggested_k: 3,
            sample_size: Some(20_000),
            ..KSweep::default()
        };
        let svg = k_sweep_chart(&sweep, 4, &narrow(620)).unwrap();
        assert_readable_on_a_phone(&svg, 620);
        assert_svg(&svg, "Silhouette (suggested k = 3)");
        // Fewer ticks than the fourteen counts.
        let ticks = String::from_utf8(svg).unwrap().matches(">15<").count();
        assert!(ticks <= 2, "{ticks}");
    }
}
