//! Segment sizes: one horizontal bar per segment with its name, count and share.
//!
//! Wide, names stand left of their bars. Narrow, each name is written above its bar across the
//! whole width, wrapped over up to [`NARROW_NAME_LINES`] lines, so the bars keep their length.

use super::{
    Chart, Colors, Layout, NARROW_MIN_FONT, NARROW_WIDTH, RenderError, RenderOptions, ThemedMesh,
    draw_err, render, segment_color, thousands, wrap,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

struct Sizes<'a> {
    sizes: &'a [usize],
    names: &'a [String],
}

/// Lines a name may take above its bar on a narrow chart.
const NARROW_NAME_LINES: usize = 2;
/// Height of one line of a name on a narrow chart.
const NARROW_LINE: u32 = NARROW_MIN_FONT + 4;
/// Height of a bar and the space below it on a narrow chart.
const NARROW_BAR: u32 = 18;
const NARROW_GAP: u32 = 12;
/// Margin, caption and axis of a narrow chart: everything but the rows.
const NARROW_FRAME: u32 = 120;

/// Characters of a name per line on a narrow chart: DejaVu Sans averages about 0.58 em.
fn narrow_chars_per_line(width: u32) -> usize {
    (f64::from(width.saturating_sub(40)) / (f64::from(NARROW_MIN_FONT) * 0.58)) as usize
}

/// The label above segment `s`'s bar, as lines.
fn narrow_label(s: usize, name: &str, chars: usize) -> Vec<String> {
    wrap(&format!("{s} · {name}"), chars, NARROW_NAME_LINES)
}

/// Height of the narrow sizes chart for segments named `names`, so every name has its lines.
pub fn sizes_narrow_height(names: &[String]) -> u32 {
    let chars = narrow_chars_per_line(NARROW_WIDTH);
    let rows: u32 = names
        .iter()
        .enumerate()
        .map(|(s, n)| narrow_row_height(narrow_label(s, n, chars).len()))
        .sum();
    NARROW_FRAME + rows.max(narrow_row_height(1))
}

fn narrow_row_height(lines: usize) -> u32 {
    lines as u32 * NARROW_LINE + NARROW_BAR + NARROW_GAP
}

impl Sizes<'_> {
    fn share(&self, size: usize, total: usize) -> f64 {
        if total > 0 {
            size as f64 / total as f64 * 100.0
        } else {
            0.0
        }
    }

    /// Names above the bars, whose length is counted in pixels of the rows they sit in.
    fn draw_narrow<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
    ) -> Result<(), RenderError> {
        let total: usize = self.sizes.iter().sum();
        let max = self.sizes.iter().copied().max().unwrap_or(1).max(1) as f64;
        let (w, _) = area.dim_in_pixel();
        let chars = narrow_chars_per_line(w);
        let labels: Vec<Vec<String>> = (0..self.sizes.len())
            .map(|s| {
                let name = self.names.get(s).map_or("", String::as_str);
                narrow_label(s, name, chars)
            })
            .collect();
        let heights: Vec<f64> = labels
            .iter()
            .map(|l| f64::from(narrow_row_height(l.len())))
            .collect();
        let rows: f64 = heights.iter().sum();
        let font = NARROW_MIN_FONT;
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .caption("Segment sizes", colors.font(20))
            .x_label_area_size(52)
            .y_label_area_size(4)
            .build_cartesian_2d(0.0..max * 1.6, 0.0..rows)
            .map_err(draw_err)?;
        let fx = |v: &f64| thousands(v.max(0.0).round() as usize);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(4)
            .x_label_formatter(&fx)
            .x_desc("Customers")
            .themed(colors, font + 2)
            .draw()
            .map_err(draw_err)?;
        // Rows from the top: label lines, then the bar.
        let mut top = rows;
        for (s, (&size, lines)) in self.sizes.iter().zip(&labels).enumerate() {
            let (lx, ly) = chart.backend_coord(&(0.0, top));
            for (i, line) in lines.iter().enumerate() {
                area.draw(&Text::new(
                    line.clone(),
                    (lx + 4, ly + (i as u32 * NARROW_LINE) as i32),
                    colors.font(font).pos(Pos::new(HPos::Left, VPos::Top)),
                ))
                .map_err(draw_err)?;
            }
            let bar_top = top - (lines.len() as u32 * NARROW_LINE) as f64 - 2.0;
            let bar_bottom = bar_top - f64::from(NARROW_BAR);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, bar_bottom), (size as f64, bar_top)],
                    segment_color(s).filled(),
                )))
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(size as f64, (bar_top + bar_bottom) / 2.0));
            area.draw(&Text::new(
                format!("{} ({:.1}%)", thousands(size), self.share(size, total)),
                (px + 6, py),
                colors.font(font).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(draw_err)?;
            top -= heights[s];
        }
        Ok(())
    }
}

impl Chart for Sizes<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: Layout,
    ) -> Result<(), RenderError> {
        if layout == Layout::Narrow {
            return self.draw_narrow(area, colors);
        }
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
            let share = self.share(size, total);
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
    use super::super::test_support::{
        assert_png, assert_readable_on_a_phone, assert_svg, narrow, opts,
    };
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

    #[test]
    fn narrow_layout_writes_names_above_the_bars_readably() {
        let sizes = [1200, 450, 350];
        let names: Vec<String> = [
            "High spend, Addis Ababa",
            "preferred_category groceries, older, weekly visits, paying by card",
            "Typical customers",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let height = sizes_narrow_height(&names);
        let svg = segment_sizes(&sizes, &names, &narrow(height)).unwrap();
        assert_readable_on_a_phone(&svg, height);
        assert_svg(&svg, "0 · High spend, Addis Ababa");
        assert_svg(&svg, "1,200 (60.0%)");
        // The long name takes a second line, broken between words.
        assert_svg(&svg, "\n1 · preferred_category groceries,\n");
        assert_svg(&svg, "\nolder, weekly visits, paying by card\n");
        // One line more than three one-line names would need.
        let short: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        assert_eq!(height, sizes_narrow_height(&short) + NARROW_LINE);
    }
}
