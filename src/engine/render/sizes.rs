//! Segment sizes: one horizontal bar per segment with its name, count and share.

use super::{
    Chart, Colors, RenderError, RenderOptions, ThemedMesh, draw_err, render, segment_color,
    thousands,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

struct Sizes<'a> {
    sizes: &'a [usize],
    names: &'a [String],
}

impl Chart for Sizes<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
    ) -> Result<(), RenderError> {
        let k = self.sizes.len();
        let total: usize = self.sizes.iter().sum();
        let max = self.sizes.iter().copied().max().unwrap_or(1).max(1) as f64;
        let (w, _) = area.dim_in_pixel();
        let label_width = (w as f64 * 0.38).min(380.0) as u32;
        let mut chart = ChartBuilder::on(area)
            .margin(16)
            .caption("Segment sizes", colors.font(20))
            .x_label_area_size(44)
            .y_label_area_size(label_width)
            .build_cartesian_2d(0.0..max * 1.3, 0.0..k as f64)
            .map_err(draw_err)?;
        let fx = |v: &f64| thousands(v.max(0.0).round() as usize);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_label_formatter(&fx)
            .x_desc("Customers")
            .themed(colors, 15)
            .draw()
            .map_err(draw_err)?;
        for (s, &size) in self.sizes.iter().enumerate() {
            // Segment 0 at the top.
            let top = (k - s) as f64 - 0.15;
            let bottom = (k - s - 1) as f64 + 0.15;
            let color = segment_color(s);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, bottom), (size as f64, top)],
                    color.filled(),
                )))
                .map_err(draw_err)?;
            let share = if total > 0 {
                size as f64 / total as f64 * 100.0
            } else {
                0.0
            };
            let (px, py) = chart.backend_coord(&(size as f64, (top + bottom) / 2.0));
            area.draw(&Text::new(
                format!("{} ({share:.1}%)", thousands(size)),
                (px + 6, py),
                colors.font(13).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
            let (lx, ly) = chart.backend_coord(&(0.0, (top + bottom) / 2.0));
            let name = self.names.get(s).map_or(String::new(), |n| n.clone());
            let max_chars = (label_width / 8) as usize;
            let name = if name.chars().count() > max_chars {
                let cut: String = name.chars().take(max_chars.saturating_sub(1)).collect();
                format!("{cut}…")
            } else {
                name
            };
            area.draw(&Text::new(
                format!("{s} · {name}"),
                (lx - 8, ly),
                colors
                    .font(13)
                    .color(&colors.text)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Draws one bar per segment (`sizes[s]` customers, named `names[s]`), largest first.
pub fn segment_sizes(
    sizes: &[usize],
    names: &[String],
    opts: &RenderOptions,
) -> Result<Vec<u8>, RenderError> {
    if sizes.is_empty() {
        return Err(RenderError::Input("there are no segments to draw".into()));
    }
    render(&Sizes { sizes, names }, opts)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_png, assert_svg, opts};
    use super::super::{Format, Theme};
    use super::*;

    #[test]
    fn renders_png_and_svg() {
        let sizes = [1200, 450, 350];
        let names: Vec<String> = ["High spend, Addis Ababa", "Low visits", "Typical customers"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_png(
            &segment_sizes(&sizes, &names, &opts(Theme::Light, Format::Png)).unwrap(),
            900,
            500,
        );
        let svg = segment_sizes(&sizes, &names, &opts(Theme::Dark, Format::Svg)).unwrap();
        assert_svg(&svg, "1,200 (60.0%)");
        assert_svg(&svg, "High spend, Addis Ababa");
        assert!(segment_sizes(&[], &[], &opts(Theme::Dark, Format::Svg)).is_err());
    }
}
