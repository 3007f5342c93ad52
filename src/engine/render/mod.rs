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

pub use dendrogram::{DEFAULT_LAST_P, dendrogram, dendrogram_truncated};
pub use k_sweep::k_sweep_chart;
pub use map::{MAP_MAX_POINTS, pca_map};
pub use silhouette::silhouette_plot;
pub use sizes::segment_sizes;

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

/// How to draw a chart.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenderOptions {
    pub theme: Theme,
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            theme: Theme::Dark,
            format: Format::Svg,
            width: 1200,
            height: 700,
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

/// Segment colours: mid-luminance hues that stay distinguishable on both the dark and the
/// light background (segment 0, the largest, gets the house gold). Segments beyond the
/// palette reuse it cyclically.
pub const PALETTE: [(u8, u8, u8); 12] = [
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
];

/// The colour of segment `s`.
pub fn segment_color(s: usize) -> RGBColor {
    let (r, g, b) = PALETTE[s % PALETTE.len()];
    RGBColor(r, g, b)
}

/// The colour of segment `s` as `#rrggbb`, for HTML legends next to the charts.
pub fn segment_color_hex(s: usize) -> String {
    let (r, g, b) = PALETTE[s % PALETTE.len()];
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
                chart.draw(&root, &colors)?;
                root.present().map_err(draw_err)?;
            }
            Ok(out.into_bytes())
        }
        Format::Png => {
            let mut pixels = vec![0u8; w as usize * h as usize * 3];
            {
                let root = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
                root.fill(&colors.background).map_err(draw_err)?;
                chart.draw(&root, &colors)?;
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_has_distinct_colours_and_hex() {
        let mut seen = std::collections::HashSet::new();
        for c in PALETTE {
            assert!(seen.insert(c));
        }
        assert_eq!(segment_color_hex(0), "#e3a72f");
        assert_eq!(segment_color(12), segment_color(0));
    }

    #[test]
    fn helpers_format_numbers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(tick(1.23456, 5.0), "1.23");
        assert_eq!(tick(1234.5, 500.0), "1234");
    }
}
