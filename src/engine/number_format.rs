//! Numbers as spreadsheets write them in different locales: decimal commas and thousands
//! separators.
//!
//! Excel in much of Europe, Latin America and Africa writes 1234.5 as `1234,5` or `1.234,5`
//! (decimal comma, `.` between thousands) and separates fields with `;`; in English locales it
//! may write `"1,234.50"` (thousands comma, quoted in a comma-separated file). A reader that only
//! knows `1234.5` turns such columns into text, and they drop out of the numeric features without
//! anyone noticing. The rule, decided per column from all its present cells:
//!
//! 1. Every cell is a plain number (`-12.5`, `1e3`, `1234`): read as is. (In a `;`-separated
//!    file, a column whose cells would all also read as decimal-comma numbers, such as `1.234`
//!    and `2.500`, is ambiguous: see 4.)
//! 2. Otherwise each cell is tried in the two conventions: *point* (decimal `.`, `,` between
//!    thousands: `1,234.5`, `12,345`) and *comma* (decimal `,`, `.` between thousands:
//!    `1.234,5`, `12,5`). A thousands separator must be followed by groups of exactly three
//!    digits, after a first group of one to three digits that does not start with 0, so `12,5`,
//!    `0,250` and `1,2345` can only have a decimal comma, and a cell with both separators fixes
//!    both roles.
//! 3. If exactly one convention reads every cell, the column is numeric in it, and its profile
//!    says so ([`NumberFormat`]).
//! 4. If both do (every separator is a single `,` or `.` followed by exactly three digits, as in
//!    `1,234`), the column is **ambiguous**: it is read in the convention that the file's other
//!    columns settle (when they agree), otherwise in the delimiter's: decimal comma in a
//!    `;`-separated file (as Excel writes it), thousands comma in a comma- or tab-separated one.
//!    The profile marks the column ambiguous and says what was assumed.
//! 5. If every cell is a number in one convention or the other but no convention reads them all
//!    (`12,5` and `12.5` in one column), the column stays text and the profile says why.

use serde::{Deserialize, Serialize};

use super::ingest::format_number;

/// How a column's cells were read as numbers, when that took more than the plain `1234.5`
/// form. Stored in the column profile and shown wherever columns are listed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NumberFormat {
    /// The decimal separator the column was read with (`.` or `,`); `None` when the column
    /// was kept as text (see `note`).
    pub decimal_separator: Option<String>,
    /// The thousands separator its cells use, if any.
    pub thousands_separator: Option<String>,
    /// The cells alone do not say which separator is the decimal one; `note` says what was
    /// assumed and why.
    pub ambiguous: bool,
    /// One sentence for the user, with an example cell and its line.
    pub note: String,
}

/// One of the two ways to write 1234.5 with separators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Convention {
    /// Decimal point, comma between thousands: `1,234.5`.
    Point,
    /// Decimal comma, point between thousands: `1.234,5`.
    Comma,
}

impl Convention {
    fn decimal(self) -> u8 {
        match self {
            Convention::Point => b'.',
            Convention::Comma => b',',
        }
    }

    fn group(self) -> u8 {
        match self {
            Convention::Point => b',',
            Convention::Comma => b'.',
        }
    }
}

/// A cell (trimmed, not missing) as a plain number: what `f64` parsing accepts, finite.
pub(crate) fn parse_plain(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A cell read in convention `c`: an optional sign, integer digits (optionally grouped in
/// threes by the convention's thousands separator), optionally the decimal separator and
/// digits. No exponent: spreadsheets do not group digits of numbers in scientific notation.
pub(crate) fn parse_in(cell: &str, c: Convention) -> Option<f64> {
    let b = cell.as_bytes();
    let (negative, body) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match body.iter().position(|&x| x == c.decimal()) {
        Some(p) => (&body[..p], Some(&body[p + 1..])),
        None => (body, None),
    };
    if let Some(f) = frac {
        if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    if !valid_integer_part(int, c.group()) {
        return None;
    }
    let mut plain = String::with_capacity(body.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.extend(
        int.iter()
            .filter(|&&x| x != c.group())
            .map(|&x| char::from(x)),
    );
    if let Some(f) = frac {
        plain.push('.');
        plain.extend(f.iter().map(|&x| char::from(x)));
    }
    parse_plain(&plain)
}

/// Digits, or digit groups `d{1,3}(<group>ddd)+` whose first group does not start with 0.
fn valid_integer_part(int: &[u8], group: u8) -> bool {
    let mut groups = int.split(|&x| x == group);
    let first = groups.next().unwrap_or_default();
    if first.is_empty() || !first.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if !int.contains(&group) {
        return true;
    }
    first.len() <= 3
        && first[0] != b'0'
        && groups.all(|g| g.len() == 3 && g.iter().all(u8::is_ascii_digit))
}

/// What the cells of one column turned out to be.
#[derive(Debug)]
pub(crate) enum Reading {
    /// Every present cell reads in `convention`. `plain`: every cell is a plain number;
    /// `example`: the row of the first cell that needed the convention.
    Numbers {
        values: Vec<Option<f64>>,
        convention: Convention,
        plain: bool,
        example: Option<usize>,
    },
    /// Both conventions read every cell, with different values; `example` is the row of the
    /// first cell that reads differently.
    Ambiguous {
        point: Vec<Option<f64>>,
        comma: Vec<Option<f64>>,
        example: usize,
    },
    /// Every cell is a number in some convention, but none reads them all: the rows of a cell
    /// only the point convention reads and of one only the comma convention reads.
    Mixed {
        point_only: usize,
        comma_only: usize,
    },
    /// Not numbers.
    Text,
}

/// Reads one column's cells (trimmed, `None` when missing) following the module's rule, steps
/// 1 to 3 and 5; ambiguous columns (step 4) are settled by [`settle`] once every column of the
/// file has been read. `semicolon_file`: the file is `;`-separated, where a lone `.` followed by
/// three digits may be a thousands separator.
pub(crate) fn read_column(cells: &[Option<String>], semicolon_file: bool) -> Reading {
    if cells.iter().all(Option::is_none) {
        return Reading::Text;
    }
    if let Some(values) = read_all(cells, parse_plain) {
        if semicolon_file {
            let dotted = cells
                .iter()
                .position(|c| c.as_ref().is_some_and(|s| s.contains('.')));
            if let Some(example) = dotted {
                if let Some(comma) = read_all(cells, |s| parse_in(s, Convention::Comma)) {
                    return Reading::Ambiguous {
                        point: values,
                        comma,
                        example,
                    };
                }
            }
        }
        return Reading::Numbers {
            values,
            convention: Convention::Point,
            plain: true,
            example: None,
        };
    }

    let mut point: Option<Vec<Option<f64>>> = Some(Vec::with_capacity(cells.len()));
    let mut comma: Option<Vec<Option<f64>>> = Some(Vec::with_capacity(cells.len()));
    let (mut special, mut point_only, mut comma_only) = (None, None, None);
    for (row, cell) in cells.iter().enumerate() {
        let (p, c) = match cell {
            None => (Some(None), Some(None)),
            Some(s) => {
                let plain = parse_plain(s);
                if plain.is_none() {
                    special.get_or_insert(row);
                }
                let p = plain.or_else(|| parse_in(s, Convention::Point));
                let c = parse_in(s, Convention::Comma);
                match (p, c) {
                    (None, None) => return Reading::Text,
                    (Some(_), None) => {
                        point_only.get_or_insert(row);
                    }
                    (None, Some(_)) => {
                        comma_only.get_or_insert(row);
                    }
                    _ => {}
                }
                (p.map(Some), c.map(Some))
            }
        };
        push_or_drop(&mut point, p);
        push_or_drop(&mut comma, c);
    }
    // The plain reading failed on some cell, so `special` is set.
    let example = special.unwrap_or(0);
    match (point, comma) {
        (Some(point), Some(comma)) => Reading::Ambiguous {
            point,
            comma,
            example,
        },
        (Some(values), None) => Reading::Numbers {
            values,
            convention: Convention::Point,
            plain: false,
            example: Some(example),
        },
        (None, Some(values)) => Reading::Numbers {
            values,
            convention: Convention::Comma,
            plain: false,
            example: Some(example),
        },
        (None, None) => Reading::Mixed {
            point_only: point_only.unwrap_or(0),
            comma_only: comma_only.unwrap_or(0),
        },
    }
}

/// Appends a cell's value, or gives up on the whole reading when the cell does not read.
fn push_or_drop(values: &mut Option<Vec<Option<f64>>>, cell: Option<Option<f64>>) {
    match cell {
        Some(v) => {
            if let Some(values) = values.as_mut() {
                values.push(v);
            }
        }
        None => *values = None,
    }
}

fn read_all(cells: &[Option<String>], f: impl Fn(&str) -> Option<f64>) -> Option<Vec<Option<f64>>> {
    cells
        .iter()
        .map(|c| match c {
            None => Some(None),
            Some(s) => f(s).map(Some),
        })
        .collect()
}

/// The convention the file's unambiguous columns show, when they agree: a column read with a
/// decimal comma or with thousands commas, or a plain column with a cell such as `12.5` that
/// cannot be a decimal-comma number.
pub(crate) fn file_convention(
    readings: &[Reading],
    raw: &[Vec<Option<String>>],
) -> Option<Convention> {
    let (mut point, mut comma) = (false, false);
    for (reading, cells) in readings.iter().zip(raw) {
        match reading {
            Reading::Numbers {
                convention: Convention::Comma,
                ..
            } => comma = true,
            Reading::Numbers { plain: false, .. } => point = true,
            Reading::Numbers { plain: true, .. } => {
                point |= cells
                    .iter()
                    .flatten()
                    .any(|s| s.contains('.') && parse_in(s, Convention::Comma).is_none());
            }
            _ => {}
        }
    }
    match (point, comma) {
        (true, false) => Some(Convention::Point),
        (false, true) => Some(Convention::Comma),
        _ => None,
    }
}

/// Settles a column: its numbers (`None`: it stays text) and the format note its profile
/// carries. `lines[row]` is the physical line of each row, for the note's example; `file` is
/// [`file_convention`]'s answer and `delimiter` the file's delimiter, consulted in that order
/// for an ambiguous column.
pub(crate) fn settle(
    reading: Reading,
    cells: &[Option<String>],
    lines: &[usize],
    file: Option<Convention>,
    delimiter: u8,
) -> (Option<Vec<Option<f64>>>, Option<NumberFormat>) {
    let cell = |row: usize| cells.get(row).cloned().flatten().unwrap_or_default();
    let line = |row: usize| lines.get(row).copied().unwrap_or(0);
    let grouped = |c: Convention| cells.iter().flatten().any(|s| has_group(s, c));
    let format = |c: Convention, ambiguous: bool, note: String| NumberFormat {
        decimal_separator: Some(char::from(c.decimal()).to_string()),
        thousands_separator: grouped(c).then(|| char::from(c.group()).to_string()),
        ambiguous,
        note,
    };
    let shown = |v: Option<f64>| v.map_or_else(|| "?".to_string(), format_number);
    match reading {
        Reading::Text => (None, None),
        Reading::Numbers {
            values,
            plain: true,
            ..
        } => (Some(values), None),
        Reading::Numbers {
            values,
            convention,
            example,
            ..
        } => {
            let row = example.unwrap_or(0);
            let ex = cell(row);
            let note = format!(
                "{}: `{ex}` (line {}) = {}",
                describe(convention, grouped(convention)),
                line(row),
                shown(parse_in(&ex, convention))
            );
            (Some(values), Some(format(convention, false, note)))
        }
        Reading::Ambiguous {
            point,
            comma,
            example,
        } => {
            let (convention, why) = match (file, delimiter) {
                (Some(c), _) => (c, "as the file's other columns are written"),
                (None, b';') => (Convention::Comma, "as usual in a semicolon-separated file"),
                (None, b'\t') => (Convention::Point, "as usual in a tab-separated file"),
                (None, _) => (Convention::Point, "as usual in a comma-separated file"),
            };
            let ex = cell(example);
            let point_value = parse_plain(&ex).or_else(|| parse_in(&ex, Convention::Point));
            let note = format!(
                "ambiguous: `{ex}` (line {}) could be {} or {}, and no cell of this column settles it; \
                 assumed it is {}, {why}. Check the column, or re-export it with the decimals shown",
                line(example),
                shown(point_value),
                shown(parse_in(&ex, Convention::Comma)),
                shown(match convention {
                    Convention::Point => point_value,
                    Convention::Comma => parse_in(&ex, Convention::Comma),
                }),
            );
            let values = match convention {
                Convention::Point => point,
                Convention::Comma => comma,
            };
            (Some(values), Some(format(convention, true, note)))
        }
        Reading::Mixed {
            point_only,
            comma_only,
        } => {
            let note = format!(
                "kept as text: its cells mix decimal separators (`{}` on line {}, `{}` on line {}); \
                 write them all alike to use the column as a number",
                cell(point_only),
                line(point_only),
                cell(comma_only),
                line(comma_only)
            );
            let format = NumberFormat {
                decimal_separator: None,
                thousands_separator: None,
                ambiguous: false,
                note,
            };
            (None, Some(format))
        }
    }
}

/// Whether the integer part of a cell uses the convention's thousands separator.
fn has_group(cell: &str, c: Convention) -> bool {
    let b = cell.as_bytes();
    let int_end = b.iter().position(|&x| x == c.decimal()).unwrap_or(b.len());
    b[..int_end].contains(&c.group())
}

fn describe(c: Convention, grouped: bool) -> &'static str {
    match (c, grouped) {
        (Convention::Point, true) => "read with `,` between thousands",
        (Convention::Point, false) => "read with `.` as the decimal point",
        (Convention::Comma, true) => "read with a decimal comma and `.` between thousands",
        (Convention::Comma, false) => "read with a decimal comma",
    }
}
