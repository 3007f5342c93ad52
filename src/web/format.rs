//! How numbers, dates and scores read on the pages. Kept apart from the handlers so every page
//! shows the same value the same way.

use chrono::{DateTime, Utc};

/// `12345` -> `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A measured value for tables: whole numbers as they are, others with enough decimals to
/// tell values apart without a wall of digits.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let abs = v.abs();
    if abs >= 1e15 {
        // Past what thousands separators keep readable, and past what an i64 holds.
        return format!("{v:e}");
    }
    if v.fract() == 0.0 {
        return thousands(v as i64);
    }
    if abs >= 1000.0 {
        let rounded = v.round();
        thousands(rounded as i64)
    } else if abs >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A score in -1..1 (silhouette, correlation): three decimals.
pub fn score(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "—".into()
    }
}

pub fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

pub fn bytes(n: i64) -> String {
    crate::service::datasets::human_bytes(n.max(0) as usize)
}

/// UTC, to the minute: the same for every reader, whatever their time zone.
pub fn date(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339()
}

/// A cell of a stored row, as text.
pub fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.as_f64().map_or_else(|| n.to_string(), plain),
        Some(other) => other.to_string(),
    }
}

/// Cells show values as uploaded (no thousands separators, which would change how ids read).
fn plain(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The predecessor's reading of a silhouette score.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub class: &'static str,
    pub label: &'static str,
    pub explanation: &'static str,
}

/// Bands as the predecessor documented them: 0.71–1 Excellent, 0.51–0.70 Good,
/// 0.26–0.50 Fair, up to 0.25 Poor.
pub const BANDS: [(&str, &str); 4] = [
    ("Poor", "≤ 0.25"),
    ("Fair", "0.26–0.50"),
    ("Good", "0.51–0.70"),
    ("Excellent", "0.71–1"),
];

pub fn band(silhouette: f64) -> Band {
    if silhouette > 0.705 {
        Band {
            class: "excellent",
            label: "Excellent",
            explanation: "A strong structure: customers sit clearly in their segments, far from the others.",
        }
    } else if silhouette > 0.505 {
        Band {
            class: "good",
            label: "Good",
            explanation: "A reasonable structure: most customers are much closer to their own segment than to any other.",
        }
    } else if silhouette > 0.255 {
        Band {
            class: "fair",
            label: "Fair",
            explanation: "A weak structure: segments are real but overlap at their edges. Typical for customer data; try another linkage or number of segments and compare on the Quality tab.",
        }
    } else {
        Band {
            class: "poor",
            label: "Poor",
            explanation: "No substantial structure: segments overlap heavily. Try fewer segments, other features, or another linkage.",
        }
    }
}

/// `text` escaped for HTML with a `<wbr>` after every underscore, so a column name such as
/// `preferred_category` may break between its words on a narrow screen, and, with the pages'
/// `overflow-wrap: break-word`, only there unless a single word is wider than the screen.
pub fn break_after_underscores(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '_' => out.push_str("_<wbr>"),
            c => out.push(c),
        }
    }
    out
}

/// Filters the page templates use beside askama's own.
pub mod filters {
    use askama::filters::Safe;

    /// `{{ name|wbr }}`: [`super::break_after_underscores`], already escaped.
    #[askama::filter_fn]
    pub fn wbr<T: std::fmt::Display>(
        text: T,
        _: &dyn askama::Values,
    ) -> askama::Result<Safe<String>> {
        Ok(Safe(super::break_after_underscores(&text.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(-1234567), "-1,234,567");
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(number(42.0), "42");
        assert_eq!(number(4.256), "4.26");
        assert_eq!(number(42.56), "42.6");
        assert_eq!(number(12345.6), "12,346");
        assert_eq!(number(f64::NAN), "—");
        // A cut height of 1e20 once showed as 9,223,372,036,854,775,807 (i64::MAX).
        assert_eq!(number(1e20), "1e20");
        assert_eq!(number(-2.5e300), "-2.5e300");
        assert_eq!(number(999_999_999_999_999.0), "999,999,999,999,999");
    }

    #[test]
    fn bands_follow_the_predecessor() {
        assert_eq!(band(0.71).label, "Excellent");
        assert_eq!(band(0.70).label, "Good");
        assert_eq!(band(0.51).label, "Good");
        assert_eq!(band(0.50).label, "Fair");
        assert_eq!(band(0.26).label, "Fair");
        assert_eq!(band(0.25).label, "Poor");
        assert_eq!(band(-0.2).label, "Poor");
    }

    #[test]
    fn cells_read_as_uploaded() {
        use serde_json::json;
        assert_eq!(cell(Some(&json!(12345))), "12345");
        assert_eq!(cell(Some(&json!(2.5))), "2.5");
        assert_eq!(cell(Some(&json!("Oromia"))), "Oromia");
        assert_eq!(cell(Some(&json!(null))), "—");
        assert_eq!(cell(None), "—");
    }

    #[test]
    fn underscores_allow_breaks_and_the_rest_is_escaped() {
        assert_eq!(
            break_after_underscores("preferred_category"),
            "preferred_<wbr>category"
        );
        assert_eq!(
            break_after_underscores("<b>&\"x_y'"),
            "&lt;b&gt;&amp;&quot;x_<wbr>y&#39;"
        );
    }
}
