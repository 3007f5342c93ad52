//! Charts of a run, drawn on request with plotters as PNG or SVG bytes.
//!
//! Charts are rendered from stored results (linkage matrix, labels, silhouettes, sweep, map
//! coordinates), never kept as files, so every chart can be redrawn in either theme and size.
//! Text uses the embedded DejaVu Sans font (registered once with plotters under the name
//! `sans-serif`), so rendering needs no system fonts and looks the same on every machine; SVG
//! output names the family `sans-serif`, which browsers resolve to their own sans font.
//!
//! Output is deterministic: the same input and options give the same bytes.

mod dendrogram;
mod k_sweep;
mod map;
mod silhouette;
mod sizes;

pub use dendrogram::{DEFAULT_LAST_P, NARROW_LAST_P, dendrogram, dendrogram_truncated};
pub use k_sweep::k_sweep_chart;
pub use map::{MAP_MAX_POINTS, map_narrow_height, pca_map};
pub use silhouette::silhouette_plot;
pub use sizes::{segment_sizes, sizes_narrow_height};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The chart font, embedded so rendering never depends on installed fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../../static/fonts/DejaVuSans.ttf");

/// Family name the font is registered under (and written into SVG text).
pub(crate) const FONT: &str = "sans-serif";

/// Colour scheme of a chart.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Near-black background with gold accents, matching the web pages.
    #[default]
    Dark,
    /// White paper, for reports and printing.
    Light,
}

/// Image encoding.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    #[default]
    Svg,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

/// How much room a chart is drawn for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// A desktop page or a report: captions, axis titles and legends beside the plot.
    #[default]
    Wide,
    /// A phone held upright: [`NARROW_WIDTH`] pixels wide, no text smaller than
    /// [`NARROW_MIN_FONT`], fewer ticks, short titles, names above their bars and legends
    /// below the plot, so nothing has to shrink to fit.
    Narrow,
}

/// Width of a [`Layout::Narrow`] chart. A phone 375 CSS pixels wide shows the chart in about
/// 333 pixels (the page's and the chart frame's padding taken off), scaled by about 0.92.
pub const NARROW_WIDTH: u32 = 360;

/// Tick labels per axis on a wide chart: plotters' own default, written out where a narrow
/// chart asks for fewer.
pub(crate) const WIDE_LABELS: usize = 11;

/// Smallest font of a [`Layout::Narrow`] chart, in plotters' units. plotters writes SVG text at
/// 1/1.24 of its size, so this is 12.1 px in the SVG and 11.2 px as a 375 px phone shows it.
pub const NARROW_MIN_FONT: u32 = 15;

/// How to draw a chart.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    pub theme: Theme,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub layout: Layout,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            theme: Theme::Dark,
            format: Format::Svg,
            width: 1200,
            height: 700,
            layout: Layout::Wide,
        }
    }
}

/// Largest accepted chart side in pixels: a PNG bitmap is `width * height * 3` bytes.
pub const MAX_SIDE: u32 = 8000;
/// Smallest chart side that leaves room for axes and labels.
pub const MIN_SIDE: u32 = 200;

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("chart size {width}x{height} is outside {MIN_SIDE}..={MAX_SIDE} pixels per side")]
    Size { width: u32, height: u32 },
    #[error("{0}")]
    Input(String),
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the PNG failed: {0}")]
    Encode(String),
}

/// Converts any plotters error into a [`RenderError`].
pub(crate) fn draw_err<E: std::fmt::Debug>(e: E) -> RenderError {
    RenderError::Draw(format!("{e:?}"))
}

/// Colours of one theme.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Colors {
    pub background: RGBColor,
    pub text: RGBColor,
    pub muted: RGBColor,
    pub grid: RGBColor,
    pub accent: RGBColor,
    /// Links and bars that belong to no single segment.
    pub neutral: RGBColor,
}

impl Colors {
    pub fn of(theme: Theme) -> Self {
        match theme {
            Theme::Dark => Colors {
                background: RGBColor(0x11, 0x13, 0x18),
                text: RGBColor(0xe8, 0xe6, 0xe3),
                muted: RGBColor(0xa0, 0xa4, 0xab),
                grid: RGBColor(0x2c, 0x30, 0x38),
                accent: RGBColor(0xd4, 0xaf, 0x37),
                neutral: RGBColor(0x8a, 0x8f, 0x98),
            },
            Theme::Light => Colors {
                background: RGBColor(0xff, 0xff, 0xff),
                text: RGBColor(0x1d, 0x1f, 0x24),
                muted: RGBColor(0x5b, 0x61, 0x6b),
                grid: RGBColor(0xe3, 0xe5, 0xe8),
                accent: RGBColor(0xa8, 0x84, 0x1c),
                neutral: RGBColor(0x6b, 0x72, 0x80),
            },
        }
    }

    pub fn font(&self, size: u32) -> TextStyle<'static> {
        (FONT, size).into_font().color(&self.text)
    }

    pub fn muted_font(&self, size: u32) -> TextStyle<'static> {
        (FONT, size).into_font().color(&self.muted)
    }
}

/// The themed axes every chart shares: descriptions at `desc_size`, tick labels two sizes
/// smaller and muted, muted axis lines, grid lines only at the major ticks.
pub(crate) trait ThemedMesh {
    fn themed(&mut self, colors: &Colors, desc_size: u32) -> &mut Self;
}

impl<X, Y, XT, YT, DB> ThemedMesh for plotters::chart::MeshStyle<'_, '_, X, Y, DB>
where
    X: Ranged<ValueType = XT> + plotters::coord::ranged1d::ValueFormatter<XT>,
    Y: Ranged<ValueType = YT> + plotters::coord::ranged1d::ValueFormatter<YT>,
    DB: DrawingBackend,
{
    fn themed(&mut self, colors: &Colors, desc_size: u32) -> &mut Self {
        self.axis_desc_style(colors.font(desc_size))
            .label_style(colors.muted_font(desc_size - 2))
            .axis_style(colors.muted)
            .bold_line_style(colors.grid)
            .light_line_style(colors.background)
    }
}

/// Segment colours, one palette for the charts and the pages' swatches. Every colour stays
/// readable on both themes' backgrounds (contrast at least 4.5:1 on the dark one and 1.8:1 on
/// white) and the first twenty are pairwise at least 17 apart in CIELAB (CIE76), more than the
/// closest pair of matplotlib's `tab20` (16.6); the grey of links spanning segments is kept clear
/// of all of them. Segment 0, the largest, gets the house gold. The first twelve are the
/// palette charts have always used; the last eight were chosen greedily, each as far as
/// possible from those before it within the same contrast limits. Segment 20 starts the palette
/// again; every chart and legend names segments by number beside their colour, so a repeated
/// colour never leaves a reader guessing.
pub const PALETTE: [(u8, u8, u8); 20] = [
    (0xe3, 0xa7, 0x2f), // gold
    (0x4f, 0x9d, 0xdb), // sky blue
    (0xe1, 0x57, 0x59), // red
    (0x59, 0xb5, 0x7c), // green
    (0xa1, 0x7f, 0xd6), // violet
    (0xff, 0x9d, 0xa7), // pink
    (0x47, 0xb8, 0xc2), // teal
    (0xb0, 0x7a, 0x4f), // brown
    (0x9d, 0xbe, 0x3c), // lime
    (0xd6, 0x72, 0xb8), // magenta
    (0x6f, 0x7c, 0xe8), // indigo
    (0xc9, 0xc2, 0x4a), // olive
    (0xc8, 0x5f, 0x0f), // burnt orange
    (0x1e, 0x91, 0x23), // forest green
    (0x7d, 0x87, 0x41), // moss
    (0xe6, 0x3c, 0x82), // raspberry
    (0xff, 0x96, 0x69), // apricot
    (0xeb, 0x8c, 0xff), // orchid
    (0x1e, 0xcd, 0x73), // emerald
    (0xcd, 0xb4, 0x73), // sand
];

/// The colour of segment `s`, from [`PALETTE`] (cyclically after its last colour).
pub fn segment_color(s: usize) -> RGBColor {
    let (r, g, b) = PALETTE[s % PALETTE.len()];
    RGBColor(r, g, b)
}

/// [`segment_color`] as `#rrggbb`, for the pages' swatches next to the charts.
pub fn segment_color_hex(s: usize) -> String {
    let RGBColor(r, g, b) = segment_color(s);
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Registers the embedded font with plotters once per process. plotters keeps fonts in its own
/// process-wide table, so this is the one place the engine touches global state.
fn ensure_font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(RenderError::Draw(
            "the embedded chart font could not be loaded".into(),
        ))
    }
}

/// A chart that can draw itself on any plotters backend.
pub(crate) trait Chart {
    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        colors: &Colors,
        layout: Layout,
    ) -> Result<(), RenderError>;
}

/// Draws `chart` with `opts` and returns the encoded image.
pub(crate) fn render<C: Chart>(chart: &C, opts: &RenderOptions) -> Result<Vec<u8>, RenderError> {
    let (w, h) = (opts.width, opts.height);
    if !(MIN_SIDE..=MAX_SIDE).contains(&w) || !(MIN_SIDE..=MAX_SIDE).contains(&h) {
        return Err(RenderError::Size {
            width: w,
            height: h,
        });
    }
    ensure_font()?;
    let colors = Colors::of(opts.theme);
    match opts.format {
        Format::Svg => {
            let mut out = String::new();
            {
                let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
                root.fill(&colors.background).map_err(draw_err)?;
                chart.draw(&root, &colors, opts.layout)?;
                root.present().map_err(draw_err)?;
            }
            Ok(out.into_bytes())
        }
        Format::Png => {
            let mut pixels = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
                root.fill(&colors.background).map_err(draw_err)?;
                chart.draw(&root, &colors, opts.layout)?;
                root.present().map_err(draw_err)?;
            }
            encode_png(&pixels, w, h)
        }
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        let mut writer = encoder
            .write_header()
            .map_err(|e| RenderError::Encode(e.to_string()))?;
        writer
            .write_image_data(rgb)
            .map_err(|e| RenderError::Encode(e.to_string()))?;
    }
    Ok(out)
}

/// Tick label for a value on an axis spanning `range`: fewer decimals for larger ranges.
pub(crate) fn tick(v: f64, range: f64) -> String {
    let decimals = if range >= 100.0 {
        0
    } else if range >= 10.0 {
        1
    } else if range >= 1.0 {
        2
    } else {
        3
    };
    format!("{v:.decimals$}")
}

/// Splits `text` into at most `max_lines` lines of at most `max_chars` characters, breaking
/// after spaces and underscores (so `preferred_category` breaks only between its words). A word
/// longer than a line is cut, and text that does not fit ends with "…".
pub(crate) fn wrap(text: &str, max_chars: usize, max_lines: usize) -> Vec<String> {
    let (max_chars, max_lines) = (max_chars.max(2), max_lines.max(1));
    // Pieces that end where a break is allowed, each keeping its trailing separator.
    let mut pieces: Vec<String> = Vec::new();
    let mut piece = String::new();
    for c in text.chars() {
        piece.push(c);
        if c == ' ' || c == '_' {
            pieces.push(std::mem::take(&mut piece));
        }
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces {
        let mut piece = piece.as_str();
        loop {
            let room = max_chars.saturating_sub(line.chars().count());
            let len = piece.trim_end_matches(' ').chars().count();
            if len <= room {
                line.push_str(piece);
                break;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word wider than a whole line: cut it.
            let cut = piece
                .char_indices()
                .nth(max_chars)
                .map_or(piece.len(), |(i, _)| i);
            lines.push(piece[..cut].to_string());
            piece = &piece[cut..];
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    let mut lines: Vec<String> = lines.iter().map(|l| l.trim_end().to_string()).collect();
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        let last = &mut lines[max_lines - 1];
        let keep: String = last.chars().take(max_chars - 1).collect();
        *last = format!("{}…", keep.trim_end());
    }
    lines
}

/// Thousands separators for counts shown on charts ("12,345").
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Checks PNG magic bytes and decodes the header to the expected dimensions.
    pub fn assert_png(bytes: &[u8], width: u32, height: u32) {
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        let decoder = png::Decoder::new(bytes);
        let reader = decoder.read_info().expect("PNG header decodes");
        let info = reader.info();
        assert_eq!((info.width, info.height), (width, height));
    }

    /// Checks that an SVG document starts like one, is complete, and contains `text`.
    pub fn assert_svg(bytes: &[u8], text: &str) {
        let s = std::str::from_utf8(bytes).expect("SVG is UTF-8");
        assert!(
            s.trim_start().starts_with("<svg"),
            "not an SVG: {}",
            &s[..s.len().min(80)]
        );
        assert!(s.trim_end().ends_with("</svg>"));
        assert!(s.contains("<text"), "SVG has no text");
        assert!(s.contains(text), "SVG lacks {text:?}");
    }

    pub fn opts(theme: Theme, format: Format) -> RenderOptions {
        RenderOptions {
            theme,
            format,
            width: 900,
            height: 500,
            layout: Layout::Wide,
        }
    }

    /// Narrow SVG options, `height` pixels tall.
    pub fn narrow(height: u32) -> RenderOptions {
        RenderOptions {
            theme: Theme::Dark,
            format: Format::Svg,
            width: NARROW_WIDTH,
            height,
            layout: Layout::Narrow,
        }
    }

    /// The CSS width a narrow chart is shown at on a phone 375 px wide: the page's padding
    /// (0.75rem a side) and the chart frame's (0.5rem and a 1 px border a side) taken off.
    pub const PHONE_IMAGE_WIDTH: f64 = 375.0 - 2.0 * 12.0 - 2.0 * 8.0 - 2.0;

    /// The value of every `name="..."` attribute of the SVG's elements of `tag`.
    fn attributes(svg: &str, tag: &str, name: &str) -> Vec<String> {
        let open = format!("<{tag} ");
        let key = format!(" {name}=\"");
        svg.split(&open)
            .skip(1)
            .filter_map(|el| {
                // The attributes, with the space the split took off before the first.
                let el = format!(" {}", &el[..el.find('>').unwrap_or(el.len())]);
                let start = el.find(&key)? + key.len();
                Some(el[start..].split('"').next()?.to_string())
            })
            .collect()
    }

    /// Checks a narrow chart: the SVG is [`NARROW_WIDTH`] wide and `height` tall, has text,
    /// and its smallest font, scaled to the width a 375 px phone shows it at, is at least 11 px.
    pub fn assert_readable_on_a_phone(bytes: &[u8], height: u32) {
        let svg = std::str::from_utf8(bytes).expect("SVG is UTF-8");
        assert_eq!(
            attributes(svg, "svg", "width"),
            [NARROW_WIDTH.to_string()],
            "width"
        );
        assert_eq!(
            attributes(svg, "svg", "height"),
            [height.to_string()],
            "height"
        );
        let sizes: Vec<f64> = attributes(svg, "text", "font-size")
            .iter()
            .map(|s| {
                s.trim_end_matches("px")
                    .parse()
                    .expect("font-size is a number")
            })
            .collect();
        assert!(
            sizes.len() >= 3,
            "expected several texts, found {}",
            sizes.len()
        );
        assert_eq!(
            sizes.len(),
            svg.matches("<text").count(),
            "every text has a font size"
        );
        let smallest = sizes.iter().copied().fold(f64::INFINITY, f64::min);
        let shown = smallest * PHONE_IMAGE_WIDTH / f64::from(NARROW_WIDTH);
        assert!(
            shown >= 11.0,
            "smallest font {smallest} px shows as {shown:.1} px on a phone"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sRGB to CIELAB (D65), the textbook formulas.
    fn lab(RGBColor(r, g, b): RGBColor) -> [f64; 3] {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (lin(r), lin(g), lin(b));
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 216.0 / 24389.0 {
                t.cbrt()
            } else {
                (24389.0 / 27.0 * t + 16.0) / 116.0
            }
        };
        [
            116.0 * f(y) - 16.0,
            500.0 * (f(x) - f(y)),
            200.0 * (f(y) - f(z)),
        ]
    }

    /// CIE76 colour difference: about 2.3 is just noticeable.
    fn delta_e(a: RGBColor, b: RGBColor) -> f64 {
        let (a, b) = (lab(a), lab(b));
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    }

    /// WCAG contrast ratio of two colours.
    fn contrast(a: RGBColor, b: RGBColor) -> f64 {
        let luminance = |c: RGBColor| {
            let [l, _, _] = lab(c);
            // Relative luminance Y from L*.
            let fy = (l + 16.0) / 116.0;
            if fy.powi(3) > 216.0 / 24389.0 {
                fy.powi(3)
            } else {
                l * 27.0 / 24389.0
            }
        };
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn first_twenty_segment_colours_are_far_apart() {
        // matplotlib's tab20, a common 20-colour palette for categories, has its closest pair
        // (#aec7e8, #c5b0d5) 16.6 apart; every pair here must be further apart than that.
        assert!(delta_e(RGBColor(0xae, 0xc7, 0xe8), RGBColor(0xc5, 0xb0, 0xd5)) < 17.0);
        let mut closest = (f64::INFINITY, 0, 0);
        for i in 0..20 {
            for j in i + 1..20 {
                let d = delta_e(segment_color(i), segment_color(j));
                if d < closest.0 {
                    closest = (d, i, j);
                }
            }
        }
        assert!(closest.0 >= 17.0, "segments {closest:?} are too alike");
        // The grey of links shared by several segments is no segment's colour.
        for theme in [Theme::Dark, Theme::Light] {
            let neutral = Colors::of(theme).neutral;
            for s in 0..20 {
                assert!(delta_e(segment_color(s), neutral) >= 25.0, "segment {s}");
            }
        }
    }

    #[test]
    fn segment_colours_read_on_both_themes() {
        let dark = Colors::of(Theme::Dark).background;
        let light = Colors::of(Theme::Light).background;
        for s in 0..20 {
            let c = segment_color(s);
            assert!(contrast(c, dark) >= 4.5, "segment {s} on dark");
            assert!(contrast(c, light) >= 1.8, "segment {s} on white");
        }
    }

    #[test]
    fn segment_colours_wrap_after_twenty_and_match_their_hex() {
        assert_eq!(segment_color_hex(0), "#e3a72f");
        assert_eq!(segment_color_hex(19), "#cdb473");
        assert_eq!(segment_color(20), segment_color(0));
        assert_eq!(segment_color(41), segment_color(1));
        for s in 0..25 {
            let RGBColor(r, g, b) = segment_color(s);
            assert_eq!(segment_color_hex(s), format!("#{r:02x}{g:02x}{b:02x}"));
        }
    }

    #[test]
    fn wrap_breaks_after_spaces_and_underscores_only() {
        assert_eq!(wrap("Loyal families", 40, 2), ["Loyal families"]);
        assert_eq!(
            wrap("preferred_category", 12, 2),
            ["preferred_", "category"]
        );
        assert_eq!(
            wrap("2 · preferred_category high", 12, 3),
            ["2 ·", "preferred_", "category…"]
        );
        assert_eq!(wrap("abcdefghij", 4, 3), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("abcdefghij", 4, 2), ["abcd", "efg…"]);
        assert!(wrap("", 10, 2).is_empty());
    }

    #[test]
    fn helpers_format_numbers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(tick(1.23456, 5.0), "1.23");
        assert_eq!(tick(1234.5, 500.0), "1234");
    }
}
