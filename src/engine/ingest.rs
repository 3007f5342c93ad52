//! Reading an uploaded customer table: CSV bytes -> a typed, column-major [`Table`].
//!
//! Analysts export tables from Excel, Google Sheets, pandas and point-of-sale systems, so the
//! reader accepts what those tools write rather than one strict dialect, and it refuses, with the
//! line and column to fix, what it could only read by guessing:
//!
//! * a header row and at least one data row are required (an empty file and a header-only file
//!   are refused alike); names must be non-empty and unique, because every later stage (feature
//!   selection, profiles, exports) refers to columns by name;
//! * the delimiter is detected from the header line (comma, semicolon or tab, whichever occurs
//!   most often outside quotes; comma on a tie), since European Excel writes semicolons; a line
//!   that has the wrong number of fields but splits into fields with another of those
//!   delimiters is reported as a mixed-delimiter file, naming the line;
//! * UTF-8 with or without a byte-order mark; UTF-16 (a byte-order mark, or a zero in every
//!   other byte, as Excel's "Unicode Text" writes) is refused by name with how to re-save it;
//!   other non-UTF-8 input is rejected with the line and column of the first bad byte, so the
//!   user knows to re-save the file as "CSV UTF-8";
//! * NUL (zero) bytes are refused with their line and column: they are not text, and the
//!   database cannot store them;
//! * quoted fields (with embedded delimiters, quotes and newlines), CRLF or LF line ends; a
//!   quote that never closes (it would swallow the rest of the file into one cell) and text
//!   after a closing quote (`"abc"def`, a quote that was meant to be doubled) are refused,
//!   naming the line where the quote opened;
//! * surrounding spaces are trimmed; empty cells and `NA`, `N/A`, `null`, `NaN`, `None`
//!   (any case) are missing values;
//! * numbers with a decimal comma (`12,5`, `1.234,5`) or thousands separators (`"1,234.50"`)
//!   are read as numbers, decided per column, and the column's profile says how; a column
//!   where that is ambiguous (`1,234`) is read as stated in its profile and marked ambiguous
//!   (the rule is in [`super::number_format`]);
//! * completely blank lines are skipped.
//!
//! Line numbers in errors are the physical line in the file where the row starts (1-based, the
//! header is line 1), which is what a text editor or spreadsheet shows; columns are field
//! positions (1-based), named when the header is known.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

use super::number_format::{self, NumberFormat, Reading};

/// Largest integer that an `f64` holds exactly; integral values beyond it are written as floats.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// How many of the most frequent values a [`ColumnProfile`] lists.
const TOP_VALUES: usize = 10;

/// A table that has been parsed and typed, column by column (the engine works on columns).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub columns: Vec<ColumnData>,
    pub n_rows: usize,
    /// Per column, how its numbers were written when that was more than `1234.5` (decimal
    /// comma, thousands separators, an ambiguity), for its profile.
    pub number_formats: Vec<Option<NumberFormat>>,
}

/// The values of one column. A column is numeric when every non-missing cell reads as a finite
/// number in one number format (see [`super::number_format`]); otherwise all its cells are kept
/// as text.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData {
    Numeric(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl ColumnData {
    /// Number of cells that are missing.
    pub fn missing(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.iter().filter(|x| x.is_none()).count(),
            ColumnData::Text(v) => v.iter().filter(|x| x.is_none()).count(),
        }
    }

    /// The cell as display text (numbers in their shortest exact form), `None` when missing.
    pub fn display(&self, row: usize) -> Option<String> {
        match self {
            ColumnData::Numeric(v) => v.get(row).copied().flatten().map(format_number),
            ColumnData::Text(v) => v.get(row).cloned().flatten(),
        }
    }
}

/// What a column is used for in clustering.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Measured quantity: imputed with the median and standardized.
    Numeric,
    /// Text levels: imputed with the most frequent level and one-hot encoded.
    Categorical,
    /// Distinct on every row (a customer number): kept in outputs, never a feature, because
    /// it would make every customer its own segment.
    Identifier,
    /// At most one distinct value: carries no information, left out of the features.
    Constant,
}

impl ColumnKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
            ColumnKind::Identifier => "identifier",
            ColumnKind::Constant => "constant",
        }
    }
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ColumnKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "numeric" => Ok(ColumnKind::Numeric),
            "categorical" => Ok(ColumnKind::Categorical),
            "identifier" => Ok(ColumnKind::Identifier),
            "constant" => Ok(ColumnKind::Constant),
            _ => Err(format!(
                "unknown column kind `{s}`; expected numeric, categorical, identifier or constant"
            )),
        }
    }
}

/// Summary statistics of a numeric column over its non-missing values. `std` is the population
/// standard deviation, the one the scaler divides by, so profiles and z-scores agree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NumericSummary {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
}

/// One value and how many rows hold it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ValueCount {
    pub value: String,
    pub count: usize,
}

/// A stored [`NumericSummary`], or `None` when one of its figures is `null`: before
/// [`MAX_MAGNITUDE`], a column holding a number near 1e155 got a standard deviation that
/// overflowed to infinity, which JSON stores as `null`. Such a dataset still lists and shows,
/// without that column's summary, instead of failing every listing it is part of.
fn stored_summary<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<NumericSummary>, D::Error> {
    #[derive(Deserialize)]
    struct Stored {
        min: Option<f64>,
        max: Option<f64>,
        mean: Option<f64>,
        median: Option<f64>,
        std: Option<f64>,
    }
    Ok(Option::<Stored>::deserialize(d)?.and_then(|s| {
        Some(NumericSummary {
            min: s.min?,
            max: s.max?,
            mean: s.mean?,
            median: s.median?,
            std: s.std?,
        })
    }))
}

/// What the dataset page shows about a column and what is stored with the dataset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ColumnProfile {
    pub name: String,
    pub kind: ColumnKind,
    pub missing: usize,
    /// Distinct non-missing values.
    pub distinct: usize,
    #[serde(default, deserialize_with = "stored_summary")]
    pub numeric: Option<NumericSummary>,
    /// Up to ten most frequent values, most frequent first (ties in text order).
    pub top_values: Vec<ValueCount>,
    /// How the column's numbers were written, when that was more than `1234.5`: a decimal
    /// comma, thousands separators, an ambiguity and what was assumed, or why number-like cells
    /// stayed text. Absent from profiles stored before it existed.
    #[serde(default)]
    pub number_format: Option<NumberFormat>,
}

/// Why a file could not be read as a table. Every message says where to look and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the file is empty; a CSV needs a header row and at least one data row")]
    Empty,
    #[error(
        "the file is UTF-16 ({}) text, not UTF-8; save it as UTF-8: in Excel use Save As with \"CSV UTF-8 (Comma delimited)\" (\"Unicode Text\" writes UTF-16), elsewhere choose the encoding UTF-8 when saving",
        if *big_endian { "big-endian" } else { "little-endian" }
    )]
    Utf16 { big_endian: bool },
    #[error(
        "the file is not UTF-8: invalid byte at line {line}, column {column} (re-save it as \"CSV UTF-8\")"
    )]
    NotUtf8 { line: usize, column: usize },
    #[error(
        "{} contains a NUL byte (a zero byte, which is not text); delete it or re-export the file as \"CSV UTF-8\"",
        at(*line, *column, name.as_deref())
    )]
    NulByte {
        line: usize,
        /// Field position in its row, 1-based.
        column: usize,
        /// The header's name for that column, when the NUL is below the header.
        name: Option<String>,
    },
    #[error(
        "{} opens a quote that is never closed, so the rest of the file would be read as one cell; add the closing quote (a quote inside a quoted cell is written twice: \"\")",
        at(*line, *column, name.as_deref())
    )]
    UnterminatedQuote {
        line: usize,
        column: usize,
        name: Option<String>,
    },
    #[error(
        "line {line}: text follows the closing quote of the cell that starts at {}; end the quote after the whole cell, and write a quote inside it twice (\"\")",
        at(*opened, *column, name.as_deref())
    )]
    TextAfterQuote {
        /// Where the stray text is.
        line: usize,
        /// Where the quoted cell starts.
        opened: usize,
        column: usize,
        name: Option<String>,
    },
    #[error("the header has an empty column name at column {column}")]
    EmptyHeaderName { column: usize },
    #[error("the header has the column name `{name}` twice (columns {first} and {second})")]
    DuplicateHeader {
        name: String,
        first: usize,
        second: usize,
    },
    #[error("{}", ragged_message(*line, *fields, *expected, first_missing.as_deref()))]
    RaggedRow {
        line: usize,
        fields: usize,
        expected: usize,
        /// Name of the first column without a value when the row is short.
        first_missing: Option<String>,
    },
    #[error("{}", mixed_delimiter_message(*line, *found, *fields, *header_line, *delimiter, *columns))]
    MixedDelimiters {
        line: usize,
        /// The delimiter that splits this line.
        found: u8,
        /// Fields this line has with `found`.
        fields: usize,
        header_line: usize,
        /// The delimiter detected from the header.
        delimiter: u8,
        /// Columns the header has with it.
        columns: usize,
    },
    #[error(
        "the file has a header but no data rows; a CSV needs a header row and at least one data row"
    )]
    NoDataRows,
    #[error("line {line} could not be read as CSV: {message}")]
    Malformed { line: usize, message: String },
    #[error(
        "{} holds {cell}, larger than SegmentIQ computes with (numbers at most {MAX_MAGNITUDE:e} in size); correct the value, or empty the cell to mark it missing",
        at(*line, *column, Some(name))
    )]
    NumberTooLarge {
        line: usize,
        column: usize,
        name: String,
        /// The cell as written.
        cell: String,
    },
}

impl IngestError {
    /// The line of the file the error points at; `None` for errors about the whole file
    /// (empty, no data rows, UTF-16). Header errors are on the header's line.
    pub fn line(&self) -> Option<usize> {
        match self {
            IngestError::Empty | IngestError::NoDataRows | IngestError::Utf16 { .. } => None,
            IngestError::EmptyHeaderName { .. } | IngestError::DuplicateHeader { .. } => Some(1),
            IngestError::NotUtf8 { line, .. }
            | IngestError::NulByte { line, .. }
            | IngestError::UnterminatedQuote { line, .. }
            | IngestError::TextAfterQuote { line, .. }
            | IngestError::RaggedRow { line, .. }
            | IngestError::MixedDelimiters { line, .. }
            | IngestError::Malformed { line, .. }
            | IngestError::NumberTooLarge { line, .. } => Some(*line),
        }
    }
}

/// "line 3, column 2 (`age`)": where a cell is, as an editor and the header name it.
fn at(line: usize, column: usize, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("line {line}, column {column} (`{name}`)"),
        None => format!("line {line}, column {column}"),
    }
}

/// How a delimiter is written in messages.
fn delimiter_name(d: u8) -> String {
    match d {
        b'\t' => "tabs".to_string(),
        d => format!("`{}`", char::from(d)),
    }
}

fn mixed_delimiter_message(
    line: usize,
    found: u8,
    fields: usize,
    header_line: usize,
    delimiter: u8,
    columns: usize,
) -> String {
    let header = if columns == 1 {
        format!("the header on line {header_line} is a single column")
    } else {
        format!(
            "the header on line {header_line} is separated by {} ({columns} columns)",
            delimiter_name(delimiter)
        )
    };
    format!(
        "line {line} is separated by {} ({fields} fields) but {header}; save the whole file with one delimiter",
        delimiter_name(found)
    )
}

fn ragged_message(
    line: usize,
    fields: usize,
    expected: usize,
    first_missing: Option<&str>,
) -> String {
    match first_missing {
        Some(name) => format!(
            "line {line} has {fields} fields but the header has {expected} (column `{name}` onward is missing)"
        ),
        None => format!(
            "line {line} has {fields} fields but the header has {expected} (field {} has no column name; check for an unquoted delimiter)",
            expected + 1
        ),
    }
}

/// Whether a trimmed cell stands for a missing value.
pub fn is_missing_token(cell: &str) -> bool {
    cell.is_empty()
        || ["na", "n/a", "null", "nan", "none"]
            .iter()
            .any(|t| cell.eq_ignore_ascii_case(t))
}

/// Formats a number in its shortest exact form: integers without a decimal point.
pub fn format_number(v: f64) -> String {
    if v == 0.0 {
        // Avoid "-0".
        return "0".to_string();
    }
    format!("{v}")
}

/// The largest number, in size, a numeric cell may hold. Statistics square differences of
/// values and Ward squares distances between centroids times cluster sizes: at 1e100 those stay
/// below 1e210 for two million rows and a thousand columns, far inside `f64` (about 1.8e308),
/// where at 1e155 a column's standard deviation already overflows to infinity. No count or
/// amount a customer table holds comes near it; identifiers of 30 digits are 1e30.
pub const MAX_MAGNITUDE: f64 = 1e100;

/// Parses a CSV file into a typed table (see the module docs for the accepted dialect).
pub fn read_csv(bytes: &[u8]) -> Result<Table, IngestError> {
    let mut headers: Vec<String> = Vec::new();
    let mut raw: Vec<Vec<Option<String>>> = Vec::new();
    // The physical line of every row, so format notes can point at an example cell.
    let mut lines: Vec<usize> = Vec::new();
    let delimiter = walk(bytes, |line, header, row| {
        if let Some(h) = header {
            headers = h.iter().map(|s| s.to_string()).collect();
            raw = vec![Vec::new(); headers.len()];
            return;
        }
        for (col, cell) in raw.iter_mut().zip(row) {
            col.push((!is_missing_token(cell)).then(|| cell.to_string()));
        }
        lines.push(line);
    })?;
    let readings: Vec<Reading> = raw
        .iter()
        .map(|cells| number_format::read_column(cells, delimiter == b';'))
        .collect();
    let file_convention = if readings
        .iter()
        .any(|r| matches!(r, Reading::Ambiguous { .. }))
    {
        number_format::file_convention(&readings, &raw)
    } else {
        None
    };
    let mut columns = Vec::with_capacity(raw.len());
    let mut number_formats = Vec::with_capacity(raw.len());
    for (reading, cells) in readings.into_iter().zip(raw) {
        let (numbers, format) =
            number_format::settle(reading, &cells, &lines, file_convention, delimiter);
        if let Some(row) = numbers.as_ref().and_then(|v| {
            v.iter()
                .position(|x| x.is_some_and(|x| x.abs() > MAX_MAGNITUDE))
        }) {
            let column = columns.len();
            return Err(IngestError::NumberTooLarge {
                line: lines[row],
                column: column + 1,
                name: headers[column].clone(),
                cell: cells[row].clone().unwrap_or_default(),
            });
        }
        columns.push(match numbers {
            Some(values) => ColumnData::Numeric(values),
            None => ColumnData::Text(cells),
        });
        number_formats.push(format);
    }
    Ok(Table {
        headers,
        columns,
        n_rows: lines.len(),
        number_formats,
    })
}

/// Walks a CSV file with the same rules as [`read_csv`], calling `f` once with the header
/// (`Some(header)`, empty row) and then once per data row (`None`, the row's trimmed cells).
///
/// Exposed so that exports can repeat the original cells exactly as written, in the same row
/// order as the table, without keeping a second copy of the file in memory.
pub fn visit_rows(
    bytes: &[u8],
    mut f: impl FnMut(Option<&[&str]>, &[&str]),
) -> Result<(), IngestError> {
    walk(bytes, |_, header, row| f(header, row)).map(|_| ())
}

/// [`visit_rows`] that also passes each row's physical line and returns the delimiter.
fn walk(
    bytes: &[u8],
    mut f: impl FnMut(usize, Option<&[&str]>, &[&str]),
) -> Result<u8, IngestError> {
    check_utf16(bytes)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty);
    }
    check_utf8(bytes)?;
    let delimiter = detect_delimiter(bytes);
    check_bytes_and_quotes(bytes, delimiter)?;
    let mut reader = csv_reader(bytes, delimiter);

    let mut record = csv::ByteRecord::new();
    let mut header: Option<(Vec<String>, usize)> = None;
    let mut rows = 0usize;
    // Physical line numbers are counted here from byte offsets: the csv crate's own line counter
    // does not count newlines inside quoted fields, and users look rows up in an editor.
    let mut counted_to = 0usize;
    let mut current_line = 1usize;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map_or(counted_to, |p| p.byte() as usize);
                return Err(IngestError::Malformed {
                    line: line_at(bytes, &mut counted_to, &mut current_line, at),
                    message: e.to_string(),
                });
            }
        }
        let start = record.position().map_or(counted_to, |p| p.byte() as usize);
        let end = reader.position().byte() as usize;
        let line = line_at(bytes, &mut counted_to, &mut current_line, start);
        if record.len() == 1 && record[0].is_empty() {
            continue; // A blank (or whitespace-only) line.
        }
        // The whole file was checked to be UTF-8 and the delimiter and quote are ASCII, so
        // every field is UTF-8 too; report rather than panic if that ever fails.
        let cells = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>()
            .map_err(|_| IngestError::NotUtf8 { line, column: 1 })?;
        match &header {
            None => {
                let names = check_header(&cells)?;
                f(line, Some(&cells), &[]);
                header = Some((names, line));
            }
            Some((names, header_line)) => {
                // A one-column header hides a second delimiter: check the first row.
                let suspicious = cells.len() != names.len() || (names.len() == 1 && rows == 0);
                if suspicious {
                    let raw = bytes.get(start..end.min(bytes.len())).unwrap_or_default();
                    if let Some((found, fields)) =
                        other_delimiter(raw, delimiter, names.len(), cells.len())
                    {
                        return Err(IngestError::MixedDelimiters {
                            line,
                            found,
                            fields,
                            header_line: *header_line,
                            delimiter,
                            columns: names.len(),
                        });
                    }
                }
                if cells.len() != names.len() {
                    return Err(IngestError::RaggedRow {
                        line,
                        fields: cells.len(),
                        expected: names.len(),
                        first_missing: names.get(cells.len()).cloned(),
                    });
                }
                f(line, None, &cells);
                rows += 1;
            }
        }
    }
    match header {
        None => Err(IngestError::Empty),
        Some(_) if rows == 0 => Err(IngestError::NoDataRows),
        Some(_) => Ok(delimiter),
    }
}

/// The reader every pass uses: no header handling (the header is checked here), rows of any
/// length (reported by line here), fields trimmed.
fn csv_reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes)
}

/// Another candidate delimiter that splits a row (its raw bytes) into the header's number of
/// fields, or into several fields when the file's delimiter left it whole, with that count.
fn other_delimiter(raw: &[u8], delimiter: u8, expected: usize, got: usize) -> Option<(u8, usize)> {
    let counts: Vec<(u8, usize)> = [b',', b';', b'\t']
        .into_iter()
        .filter(|&d| d != delimiter && raw.contains(&d))
        .map(|d| {
            let mut record = csv::ByteRecord::new();
            let n = match csv_reader(raw, d).read_byte_record(&mut record) {
                Ok(true) => record.len(),
                _ => 0,
            };
            (d, n)
        })
        .collect();
    counts
        .iter()
        .find(|&&(_, n)| n >= 2 && n == expected)
        .or_else(|| counts.iter().find(|&&(_, n)| n >= 2 && got == 1))
        .copied()
}

/// Advances the running line count to byte offset `at` (skipping line ends that precede the
/// record's first character) and returns the line the record starts on.
fn line_at(bytes: &[u8], counted_to: &mut usize, line: &mut usize, at: usize) -> usize {
    let mut at = at.min(bytes.len());
    while at < bytes.len() && (bytes[at] == b'\n' || bytes[at] == b'\r') {
        at += 1;
    }
    if at > *counted_to {
        *line += bytes[*counted_to..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        *counted_to = at;
    }
    *line
}

/// Counts data rows without building the table (cheap checks before an upload is stored).
pub fn count_rows(bytes: &[u8]) -> Result<usize, IngestError> {
    let mut n = 0usize;
    visit_rows(bytes, |h, _| {
        if h.is_none() {
            n += 1;
        }
    })?;
    Ok(n)
}

/// Refuses UTF-16 by name: a byte-order mark, or ASCII text with a zero in every other byte
/// (Excel's "Unicode Text" and PowerShell write it). Read as UTF-8 such a file is either
/// invalid or, worse, valid text full of NUL characters.
fn check_utf16(bytes: &[u8]) -> Result<(), IngestError> {
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(IngestError::Utf16 { big_endian: false });
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(IngestError::Utf16 { big_endian: true });
    }
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return Ok(());
    }
    let zeros = |offset: usize| {
        sample
            .iter()
            .skip(offset)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (zeros(0), zeros(1));
    if odd * 2 > pairs && even * 4 < odd {
        return Err(IngestError::Utf16 { big_endian: false });
    }
    if even * 2 > pairs && odd * 4 < even {
        return Err(IngestError::Utf16 { big_endian: true });
    }
    Ok(())
}

/// One pass over the bytes with the csv crate's quoting rules, for what the crate accepts
/// silently: a NUL byte (the database cannot store it), a quote that never closes (the crate
/// reads the rest of the file as one cell) and text after a closing quote (`"abc"def`, which
/// the crate glues together; usually a quote meant to be doubled). Errors name the header's
/// column when the problem is below the header.
fn check_bytes_and_quotes(bytes: &[u8], delimiter: u8) -> Result<(), IngestError> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        /// Just after a quote inside a quoted field: a closing quote, or the first of a pair.
        QuoteInQuoted,
    }
    let name = |line: usize, column: usize| header_name(bytes, delimiter, line, column);
    let (mut state, mut line, mut field) = (State::FieldStart, 1usize, 1usize);
    let (mut opened_line, mut opened_field) = (1usize, 1usize);
    for &b in bytes {
        if b == 0 {
            return Err(IngestError::NulByte {
                line,
                column: field,
                name: name(line, field),
            });
        }
        let line_end = b == b'\n' || b == b'\r';
        state = match state {
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted if !(b == delimiter || line_end || b == b' ' || b == b'\t') => {
                return Err(IngestError::TextAfterQuote {
                    line,
                    opened: opened_line,
                    column: opened_field,
                    name: name(opened_line, opened_field),
                });
            }
            State::FieldStart if b == b'"' => {
                (opened_line, opened_field) = (line, field);
                State::Quoted
            }
            _ if b == delimiter => {
                field += 1;
                State::FieldStart
            }
            _ if line_end => {
                field = 1;
                State::FieldStart
            }
            // Spaces after a closing quote are trimmed away.
            State::QuoteInQuoted => State::QuoteInQuoted,
            _ => State::Unquoted,
        };
        if b == b'\n' {
            line += 1;
        }
    }
    if state == State::Quoted {
        return Err(IngestError::UnterminatedQuote {
            line: opened_line,
            column: opened_field,
            name: name(opened_line, opened_field),
        });
    }
    Ok(())
}

/// The header's name for `column`, when `line` is below the header (a problem on the header's
/// own lines has no trustworthy name to give).
fn header_name(bytes: &[u8], delimiter: u8, line: usize, column: usize) -> Option<String> {
    let mut reader = csv_reader(bytes, delimiter);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) if record.len() == 1 && record[0].is_empty() => continue,
            Ok(true) => break,
            _ => return None,
        }
    }
    let end = (reader.position().byte() as usize).min(bytes.len());
    let last_header_line = 1 + bytes[..end]
        .trim_ascii_end()
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    if line <= last_header_line {
        return None;
    }
    let name = std::str::from_utf8(record.get(column.checked_sub(1)?)?).ok()?;
    (!name.is_empty()).then(|| name.to_string())
}

fn check_header(cells: &[&str]) -> Result<Vec<String>, IngestError> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in cells.iter().enumerate() {
        if name.is_empty() {
            return Err(IngestError::EmptyHeaderName { column: i + 1 });
        }
        if let Some(first) = seen.insert(name, i + 1) {
            return Err(IngestError::DuplicateHeader {
                name: name.to_string(),
                first,
                second: i + 1,
            });
        }
    }
    Ok(cells.iter().map(|s| s.to_string()).collect())
}

/// Rejects non-UTF-8 input, naming the line and the character column of the first bad byte.
fn check_utf8(bytes: &[u8]) -> Result<(), IngestError> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            // The prefix is valid UTF-8, so counting chars is exact.
            let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
            Err(IngestError::NotUtf8 { line, column })
        }
    }
}

/// Picks the delimiter from the header line: the most frequent of comma, semicolon and tab
/// outside double quotes (comma wins ties and single-column files).
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (mut comma, mut semi, mut tab) = (0usize, 0usize, 0usize);
    let mut in_quotes = false;
    // Blank lines before the header are skipped; the header ends at its first unquoted newline.
    let mut in_header = false;
    for &b in bytes {
        match b {
            b'\n' | b'\r' if !in_quotes && in_header => break,
            b'\n' | b'\r' if !in_quotes => {}
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => comma += 1,
            b';' if !in_quotes => semi += 1,
            b'\t' if !in_quotes => tab += 1,
            _ => {}
        }
        if !b.is_ascii_whitespace() {
            in_header = true;
        }
    }
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

/// The words of a column name, lower-cased: split at non-alphanumerics and camelCase
/// boundaries (`customerId` and `CustomerID` -> `customer`, `id`; `total_spend` -> `total`,
/// `spend`). Shared by kind detection and by generated segment names.
pub fn name_words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Words in a column name that mark it as an identifier (`customer_id`, `CustomerID`, `key`).
fn name_says_identifier(name: &str) -> bool {
    name_words(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "id" | "uuid" | "guid" | "key" | "code" | "index" | "idx"
        )
    })
}

/// Detects a column's kind. The rule, in order:
///
/// 1. **constant**: at most one distinct non-missing value (nothing to learn from it);
/// 2. **identifier**: no missing cells, a different value on every row, at least two rows, and
///    not a measurement: text columns whose name marks an identifier (`id`, `key`, `code`,
///    `uuid`, `index` as a word, e.g. `customer_id`, `CustomerID`) or that have at least 10
///    rows; numeric columns only when every value is an integer and either the name marks an
///    identifier or (with at least 10 rows) the values are consecutive (`1..n`, a row number).
///    Distinct floats (spend, basket size) are measurements and stay numeric;
/// 3. **numeric**: every non-missing cell is a finite number;
/// 4. **categorical**: everything else.
///
/// Tiny text tables (fewer than 10 rows) keep all-distinct columns categorical, since a handful
/// of distinct levels there is more likely a real category than a key.
pub fn detect_kind(name: &str, data: &ColumnData, n_rows: usize) -> ColumnKind {
    kind_of(name, data, n_rows, distinct_count(data))
}

/// [`detect_kind`] with the column's distinct count already known.
fn kind_of(name: &str, data: &ColumnData, n_rows: usize, distinct: usize) -> ColumnKind {
    if distinct <= 1 {
        return ColumnKind::Constant;
    }
    let unique_rows = n_rows >= 2 && distinct == n_rows && data.missing() == 0;
    match data {
        ColumnData::Text(_) => {
            if unique_rows && (name_says_identifier(name) || n_rows >= 10) {
                ColumnKind::Identifier
            } else {
                ColumnKind::Categorical
            }
        }
        ColumnData::Numeric(values) => {
            if unique_rows {
                let ints: Option<Vec<f64>> = values
                    .iter()
                    .map(|v| v.filter(|x| x.fract() == 0.0 && x.abs() < MAX_EXACT_INT))
                    .collect();
                if let Some(ints) = ints {
                    let (lo, hi) = ints
                        .iter()
                        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                            (lo.min(v), hi.max(v))
                        });
                    let consecutive = n_rows >= 10 && hi - lo == (n_rows - 1) as f64;
                    if name_says_identifier(name) || consecutive {
                        return ColumnKind::Identifier;
                    }
                }
            }
            ColumnKind::Numeric
        }
    }
}

pub(crate) fn distinct_count(data: &ColumnData) -> usize {
    match data {
        ColumnData::Numeric(v) => v
            .iter()
            .flatten()
            .map(|x| number_key(*x))
            .collect::<HashSet<_, FastHash>>()
            .len(),
        ColumnData::Text(v) => v.iter().flatten().collect::<HashSet<_, FastHash>>().len(),
    }
}

/// Median of a non-empty slice (mean of the two middle values for even lengths), reordering it.
pub(crate) fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = values[..mid]
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

fn numeric_summary(values: &[Option<f64>]) -> Option<NumericSummary> {
    let mut present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.is_empty() {
        return None;
    }
    let n = present.len() as f64;
    let mean = present.iter().sum::<f64>() / n;
    let var = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let (min, max) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let median = median_in_place(&mut present);
    Some(NumericSummary {
        min,
        max,
        mean,
        median,
        std: var.sqrt(),
    })
}

/// How many distinct values a column holds, and its [`TOP_VALUES`] most frequent ones (ties
/// broken by the value's text). One pass of counting; only the top values are sorted, so a
/// column of a million distinct keys costs a hash table, not a sort of a million strings.
fn value_counts(data: &ColumnData) -> (usize, Vec<ValueCount>) {
    match data {
        ColumnData::Numeric(v) => {
            let mut counts: HashMap<u64, usize, FastHash> = HashMap::default();
            for x in v.iter().flatten() {
                *counts.entry(number_key(*x)).or_default() += 1;
            }
            let distinct = counts.len();
            let counts = counts
                .into_iter()
                .map(|(bits, count)| (format_number(f64::from_bits(bits)), count))
                .collect();
            (distinct, most_frequent(counts))
        }
        ColumnData::Text(v) => {
            let mut counts: HashMap<&str, usize, FastHash> = HashMap::default();
            for s in v.iter().flatten() {
                *counts.entry(s).or_default() += 1;
            }
            (counts.len(), most_frequent(counts.into_iter().collect()))
        }
    }
}

/// Counting a million values is mostly hashing: foldhash is several times faster than the
/// standard SipHash and still seeded at random per table, so values cannot be chosen to collide.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// A number as a counting key: its bits, with `-0` counted as `0` (both print as `0`).
pub(crate) fn number_key(x: f64) -> u64 {
    if x == 0.0 { 0 } else { x.to_bits() }
}

/// The [`TOP_VALUES`] largest counts, most frequent first, ties by value.
fn most_frequent<K: AsRef<str>>(mut counts: Vec<(K, usize)>) -> Vec<ValueCount> {
    let order =
        |a: &(K, usize), b: &(K, usize)| b.1.cmp(&a.1).then_with(|| a.0.as_ref().cmp(b.0.as_ref()));
    if counts.len() > TOP_VALUES {
        counts.select_nth_unstable_by(TOP_VALUES - 1, order);
        counts.truncate(TOP_VALUES);
    }
    counts.sort_unstable_by(order);
    counts
        .into_iter()
        .map(|(value, count)| ValueCount {
            value: shown_value(value.as_ref()),
            count,
        })
        .collect()
}

/// Characters of a frequent value the profile keeps: enough for any name or code, while a
/// 5 MB cell would otherwise ride along in every listing of the dataset.
const TOP_VALUE_CHARS: usize = 200;

/// `value` as the profile keeps it: whole, or its first [`TOP_VALUE_CHARS`] characters and how
/// long it was.
fn shown_value(value: &str) -> String {
    match value.char_indices().nth(TOP_VALUE_CHARS) {
        None => value.to_string(),
        Some((end, _)) => format!("{}… ({} characters)", &value[..end], value.chars().count()),
    }
}

impl Table {
    /// Index of the column with this name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The detected kind of every column, in header order.
    pub fn kinds(&self) -> Vec<ColumnKind> {
        self.headers
            .iter()
            .zip(&self.columns)
            .map(|(name, data)| detect_kind(name, data, self.n_rows))
            .collect()
    }

    /// Profiles every column, in header order (kind, missing and distinct counts, numeric
    /// summary, most frequent values, number format).
    /// Columns are profiled in parallel: at a million rows each takes a pass of hashing.
    pub fn column_profiles(&self) -> Vec<ColumnProfile> {
        use rayon::prelude::*;
        self.headers
            .par_iter()
            .zip(&self.columns)
            .enumerate()
            .map(|(i, (name, data))| {
                let (distinct, top_values) = value_counts(data);
                ColumnProfile {
                    name: name.clone(),
                    kind: kind_of(name, data, self.n_rows, distinct),
                    missing: data.missing(),
                    distinct,
                    numeric: match data {
                        ColumnData::Numeric(v) => numeric_summary(v),
                        ColumnData::Text(_) => None,
                    },
                    top_values,
                    number_format: self.number_formats.get(i).cloned().flatten(),
                }
            })
            .collect()
    }

    /// Writes rows as JSON text, the form every stored row takes ([`JsonRows::write`]).
    pub fn json_rows(&self) -> JsonRows<'_> {
        JsonRows {
            table: self,
            keys: self
                .headers
                .iter()
                .map(|h| serde_json::to_vec(h).expect("a string serializes"))
                .collect(),
        }
    }
}

/// A table's rows as JSON objects, written straight into a buffer: a million rows are stored
/// without a million maps of values in between.
pub struct JsonRows<'a> {
    table: &'a Table,
    /// Each header as a JSON string, escaped once.
    keys: Vec<Vec<u8>>,
}

impl JsonRows<'_> {
    /// Appends row `i` as a JSON object in header order: numbers as JSON numbers (integral
    /// values as integers), text as strings, missing cells as `null`. Rows past the end give
    /// nulls.
    pub fn write(&self, i: usize, out: &mut Vec<u8>) {
        out.push(b'{');
        for (c, (key, data)) in self.keys.iter().zip(&self.table.columns).enumerate() {
            if c > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            out.push(b':');
            let written = match data {
                ColumnData::Numeric(v) => match v.get(i).copied().flatten() {
                    Some(x) if x.fract() == 0.0 && x.abs() < MAX_EXACT_INT => {
                        serde_json::to_writer(&mut *out, &(x as i64))
                    }
                    // Cells are finite (the reader refuses others), so this is a number.
                    Some(x) => serde_json::to_writer(&mut *out, &x),
                    None => serde_json::to_writer(&mut *out, &()),
                },
                ColumnData::Text(v) => match v.get(i) {
                    Some(Some(s)) => serde_json::to_writer(&mut *out, s),
                    _ => serde_json::to_writer(&mut *out, &()),
                },
            };
            written.expect("writing JSON into memory cannot fail");
        }
        out.push(b'}');
    }

    /// Row `i` as a JSON value.
    pub fn value(&self, i: usize) -> serde_json::Value {
        let mut text = Vec::new();
        self.write(i, &mut text);
        serde_json::from_slice(&text).expect("rows are valid JSON")
    }
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds_of(csv: &str) -> Vec<ColumnKind> {
        read_csv(csv.as_bytes()).expect("parses").kinds()
    }

    #[test]
    fn reads_comma_file_with_types() {
        let t = read_csv(b"id,age,city\n1,30,Addis Ababa\n2,41.5,Dire Dawa\n").unwrap();
        assert_eq!(t.headers, ["id", "age", "city"]);
        assert_eq!(t.n_rows, 2);
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(30.0), Some(41.5)])
        );
        assert_eq!(
            t.columns[2],
            ColumnData::Text(vec![Some("Addis Ababa".into()), Some("Dire Dawa".into())])
        );
    }

    #[test]
    fn strips_bom_and_handles_crlf() {
        let t = read_csv(b"\xEF\xBB\xBFa,b\r\n1,x\r\n2,y\r\n").unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.n_rows, 2);
        assert_eq!(
            t.columns[0],
            ColumnData::Numeric(vec![Some(1.0), Some(2.0)])
        );
        assert_eq!(
            t.columns[1],
            ColumnData::Text(vec![Some("x".into()), Some("y".into())])
        );
    }

    #[test]
    fn detects_semicolon_and_tab() {
        let t = read_csv(b"a;b;c\n1,5;2;x\n").unwrap();
        assert_eq!(t.headers, ["a", "b", "c"]);
        assert_eq!(t.columns[0], ColumnData::Numeric(vec![Some(1.5)]));
        let t = read_csv(b"a\tb\n1\t2\n").unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.columns[1], ColumnData::Numeric(vec![Some(2.0)]));
    }

    #[test]
    fn delimiter_detection_ignores_quoted_commas() {
        assert_eq!(detect_delimiter(b"\"a,b,c\";d\n1;2\n"), b';');
        assert_eq!(detect_delimiter(b"single\n1\n"), b',');
    }

    #[test]
    fn quoted_fields_keep_delimiters_quotes_and_newlines() {
        let t = read_csv(b"name,note\n\"Abebe, K.\",\"said \"\"hi\"\"\nthen left\"\nSara,ok\n")
            .unwrap();
        assert_eq!(t.n_rows, 2);
        assert_eq!(
            t.columns[0],
            ColumnData::Text(vec![Some("Abebe, K.".into()), Some("Sara".into())])
        );
        assert_eq!(
            t.columns[1],
            ColumnData::Text(vec![
                Some("said \"hi\"\nthen left".into()),
                Some("ok".into())
            ])
        );
    }

    #[test]
    fn short_row_names_line_and_first_missing_column() {
        let csv = "a,b,c,region,e\n1,2,3,4,5\n1,2,3\n";
        let err = read_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3 has 3 fields but the header has 5 (column `region` onward is missing)"
        );
    }

    #[test]
    fn ragged_line_number_counts_embedded_newlines_and_blank_lines() {
        // The quoted newline makes row 1 span lines 2-3; a blank line is 4; the bad row is 5.
        let csv = "a,b\n\"x\ny\",1\n\n1,2,3\n";
        let err = read_csv(csv.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::RaggedRow {
                    line: 5,
                    fields: 3,
                    expected: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("line 5 has 3 fields but the header has 2")
        );
    }

    #[test]
    fn non_utf8_names_line_and_column() {
        let mut bytes = b"a,b\n1,2\nxyz,caf".to_vec();
        bytes.push(0xE9); // Latin-1 é
        bytes.extend_from_slice(b"\n");
        let err = read_csv(&bytes).unwrap_err();
        assert_eq!(err, IngestError::NotUtf8 { line: 3, column: 8 });
        assert!(
            err.to_string()
                .starts_with("the file is not UTF-8: invalid byte at line 3, column 8")
        );
    }

    #[test]
    fn empty_header_only_and_blank_files() {
        assert_eq!(read_csv(b"").unwrap_err(), IngestError::Empty);
        assert_eq!(
            read_csv(b"\xEF\xBB\xBF\r\n  \n").unwrap_err(),
            IngestError::Empty
        );
        // A header alone is refused like an empty file, by every reader.
        assert_eq!(read_csv(b"a,b\n").unwrap_err(), IngestError::NoDataRows);
        assert_eq!(
            read_csv(b"a,b\n\n \n").unwrap_err(),
            IngestError::NoDataRows
        );
        assert_eq!(count_rows(b"a,b\n").unwrap_err(), IngestError::NoDataRows);
        assert_eq!(
            visit_rows(b"a,b", |_, _| {}).unwrap_err(),
            IngestError::NoDataRows
        );
        assert_eq!(count_rows(b"a,b\n1,2\n\n3,4").unwrap(), 2);
        assert_eq!(
            IngestError::Empty.to_string(),
            "the file is empty; a CSV needs a header row and at least one data row"
        );
        assert_eq!(
            IngestError::NoDataRows.to_string(),
            "the file has a header but no data rows; a CSV needs a header row and at least one data row"
        );
    }

    #[test]
    fn nul_bytes_are_refused_with_line_and_column() {
        let err = read_csv(b"id,age,city\n1,30,Adama\n2,4\x001,Gondar\n").unwrap_err();
        assert_eq!(
            err,
            IngestError::NulByte {
                line: 3,
                column: 2,
                name: Some("age".into())
            }
        );
        assert_eq!(
            err.to_string(),
            "line 3, column 2 (`age`) contains a NUL byte (a zero byte, which is not text); delete it or re-export the file as \"CSV UTF-8\""
        );
        // In the header (no name to give), in a quoted cell, after a multi-line cell.
        assert_eq!(
            read_csv(b"a,b\x00\n1,2\n").unwrap_err(),
            IngestError::NulByte {
                line: 1,
                column: 2,
                name: None
            }
        );
        assert_eq!(
            read_csv(b"a;b\n\"x\ny\";1\n2;\"\x00\"\n").unwrap_err(),
            IngestError::NulByte {
                line: 4,
                column: 2,
                name: Some("b".into())
            }
        );
    }

    #[test]
    fn unterminated_quote_names_the_line_where_it_opened() {
        // The quote on line 3 would swallow lines 4 and 5 into the last cell: one row, no error.
        let csv =
            "id,city,note\n1,Adama,ok\n2,Gondar,\"late delivery\n3,Hawassa,ok\n4,Bahir Dar,ok\n";
        let err = read_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            IngestError::UnterminatedQuote {
                line: 3,
                column: 3,
                name: Some("note".into())
            }
        );
        assert!(
            err.to_string()
                .starts_with("line 3, column 3 (`note`) opens a quote that is never closed"),
            "{err}"
        );
        // Not only in the last column, and CRLF files alike.
        assert_eq!(
            read_csv(b"a,b\r\n\"1,2\r\n3,4\r\n").unwrap_err(),
            IngestError::UnterminatedQuote {
                line: 2,
                column: 1,
                name: Some("a".into())
            }
        );
        // A later quote "closing" it leaves text after the quote: refused at that line.
        let err = read_csv(b"a,b\n1,\"x\n2,y\n3,\"z\"\n").unwrap_err();
        assert_eq!(
            err,
            IngestError::TextAfterQuote {
                line: 4,
                opened: 2,
                column: 2,
                name: Some("b".into())
            }
        );
        assert!(
            err.to_string().starts_with(
                "line 4: text follows the closing quote of the cell that starts at line 2, column 2 (`b`)"
            ),
            "{err}"
        );
        // Doubled quotes, quotes inside unquoted text and spaces after a closing quote are fine.
        let t = read_csv(b"a,b\n\"say \"\"hi\"\"\" ,5\" inch\n").unwrap();
        assert_eq!(
            t.columns[0],
            ColumnData::Text(vec![Some("say \"hi\"".into())])
        );
        assert_eq!(
            t.columns[1],
            ColumnData::Text(vec![Some("5\" inch".into())])
        );
    }

    #[test]
    fn utf16_is_named_with_how_to_save_as_utf8() {
        let text = "id,age\n1,30\n2,41\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let with_bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
        for (bytes, big_endian) in [
            (with_bom(&[0xFF, 0xFE], &le), false),
            (with_bom(&[0xFE, 0xFF], &be), true),
            (le.clone(), false),
            (be.clone(), true),
        ] {
            assert_eq!(
                read_csv(&bytes).unwrap_err(),
                IngestError::Utf16 { big_endian },
                "{bytes:?}"
            );
        }
        let message = read_csv(&le).unwrap_err().to_string();
        assert!(
            message.starts_with("the file is UTF-16 (little-endian) text, not UTF-8")
                && message.contains("CSV UTF-8"),
            "{message}"
        );
    }

    #[test]
    fn mixed_delimiters_name_the_line() {
        // Header with `;`, body with `,` (each data line is a single field under `;`).
        let err = read_csv(b"id;age;city\n1,30,Adama\n").unwrap_err();
        assert_eq!(
            err,
            IngestError::MixedDelimiters {
                line: 2,
                found: b',',
                fields: 3,
                header_line: 1,
                delimiter: b';',
                columns: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "line 2 is separated by `,` (3 fields) but the header on line 1 is separated by `;` (3 columns); save the whole file with one delimiter"
        );
        // Two exports pasted together: the comma part starts on line 4.
        let err = read_csv(b"a,b,c\n1,2,3\n4,5,6\n7;8;9\n").unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::MixedDelimiters {
                    line: 4,
                    found: b';',
                    ..
                }
            ),
            "{err:?}"
        );
        // A one-column header over semicolon rows would read as one text column.
        let err = read_csv(b"customer\n1;30\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2 is separated by `;` (2 fields) but the header on line 1 is a single column; save the whole file with one delimiter"
        );
        // A plain ragged row stays a ragged row.
        assert!(matches!(
            read_csv(b"a,b,c\n1,2\n").unwrap_err(),
            IngestError::RaggedRow { line: 2, .. }
        ));
        // Tab-separated with commas inside cells is fine.
        let t = read_csv(b"a\tb\n1,5\tx, y\n").unwrap();
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.columns[1], ColumnData::Text(vec![Some("x, y".into())]));
    }

    fn formats(csv: &str) -> (Table, Vec<ColumnProfile>) {
        let t = read_csv(csv.as_bytes()).expect("parses");
        let p = t.column_profiles();
        (t, p)
    }

    #[test]
    fn decimal_commas_in_semicolon_files_are_numbers() {
        let (t, p) = formats("id;spend;visits\nC1;1.234,5;3\nC2;12,5;4\nC3;;5\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1234.5), Some(12.5), None])
        );
        assert_eq!(p[1].kind, ColumnKind::Numeric);
        let f = p[1].number_format.as_ref().expect("a format note");
        assert_eq!(f.decimal_separator.as_deref(), Some(","));
        assert_eq!(f.thousands_separator.as_deref(), Some("."));
        assert!(!f.ambiguous);
        assert_eq!(
            f.note,
            "read with a decimal comma and `.` between thousands: `1.234,5` (line 2) = 1234.5"
        );
        // Plain columns say nothing.
        assert_eq!(p[2].number_format, None);
        // Decimal commas alone.
        let (t, p) = formats("x;y\n0,25;a\n-3,5;b\n");
        assert_eq!(
            t.columns[0],
            ColumnData::Numeric(vec![Some(0.25), Some(-3.5)])
        );
        let f = p[0].number_format.as_ref().unwrap();
        assert_eq!(f.thousands_separator, None);
        assert_eq!(f.note, "read with a decimal comma: `0,25` (line 2) = 0.25");
    }

    #[test]
    fn quoted_thousands_separators_are_numbers() {
        let (t, p) = formats("id,spend\nC1,\"1,234.50\"\nC2,\"12,345,678\"\nC3,99.5\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1234.5), Some(12_345_678.0), Some(99.5)])
        );
        let f = p[1].number_format.as_ref().unwrap();
        assert_eq!(
            (
                f.decimal_separator.as_deref(),
                f.thousands_separator.as_deref()
            ),
            (Some("."), Some(","))
        );
        assert_eq!(
            f.note,
            "read with `,` between thousands: `1,234.50` (line 2) = 1234.5"
        );
    }

    #[test]
    fn ambiguous_columns_are_reported_with_the_assumption() {
        // Comma file, nothing settles `1,234`: thousands, as comma-separated files write it.
        let (t, p) = formats("id,n\nC1,\"1,234\"\nC2,\"2,500\"\nC3,7\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1234.0), Some(2500.0), Some(7.0)])
        );
        let f = p[1].number_format.as_ref().unwrap();
        assert!(f.ambiguous);
        assert_eq!(f.thousands_separator.as_deref(), Some(","));
        assert_eq!(
            f.note,
            "ambiguous: `1,234` (line 2) could be 1234 or 1.234, and no cell of this column settles it; \
             assumed it is 1234, as usual in a comma-separated file. Check the column, or re-export it with the decimals shown"
        );
        // Semicolon file: decimal comma, as Excel writes there.
        let (t, p) = formats("id;n\nC1;1,234\nC2;2,500\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1.234), Some(2.5)])
        );
        assert!(p[1].number_format.as_ref().unwrap().ambiguous);
        assert!(
            p[1].number_format
                .as_ref()
                .unwrap()
                .note
                .contains("assumed it is 1.234, as usual in a semicolon-separated file")
        );
        // ... unless the file's other columns show a decimal point.
        let (t, p) = formats("id;n;w\nC1;1,234;1.5\nC2;2,500;2.25\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1234.0), Some(2500.0)])
        );
        assert!(
            p[1].number_format
                .as_ref()
                .unwrap()
                .note
                .contains("as the file's other columns are written")
        );
        // In a semicolon file `1.234` alone is ambiguous too; other columns settle it.
        let (t, p) = formats("id;w;s\nC1;1.250;12,5\nC2;2.500;3\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1250.0), Some(2500.0)])
        );
        let f = p[1].number_format.as_ref().unwrap();
        assert!(
            f.ambiguous && f.note.contains("could be 1.25 or 1250"),
            "{}",
            f.note
        );
        // In a comma file a decimal point is just a decimal point.
        let (t, p) = formats("id,w\nC1,1.250\nC2,2.500\n");
        assert_eq!(
            t.columns[1],
            ColumnData::Numeric(vec![Some(1.25), Some(2.5)])
        );
        assert_eq!(p[1].number_format, None);
    }

    #[test]
    fn mixed_number_formats_stay_text_and_say_why() {
        let (t, p) = formats("id;x\nC1;12,5\nC2;12.5\n");
        assert!(matches!(t.columns[1], ColumnData::Text(_)));
        let f = p[1].number_format.as_ref().unwrap();
        assert_eq!(f.decimal_separator, None);
        assert_eq!(
            f.note,
            "kept as text: its cells mix decimal separators (`12.5` on line 3, `12,5` on line 2); \
             write them all alike to use the column as a number"
        );
        // Things that only look like numbers stay plain text without a note.
        let (t, p) = formats(
            "a,b,c,d\n1.2.3,12.05.2024,\"1,2345\",0911-123\n4.5.6,13.05.2024,\"1,23\",0911-124\n",
        );
        assert!(
            t.columns[..2]
                .iter()
                .all(|c| matches!(c, ColumnData::Text(_)))
        );
        assert!(matches!(t.columns[3], ColumnData::Text(_)));
        assert_eq!(p[0].number_format, None);
        // `1,2345` and `1,23` can only have decimal commas (odd in a comma file, but not mixed).
        assert_eq!(
            t.columns[2],
            ColumnData::Numeric(vec![Some(1.2345), Some(1.23)])
        );
    }

    #[test]
    fn profiles_stored_before_number_formats_still_read() {
        let old = serde_json::json!({
            "name": "age", "kind": "numeric", "missing": 0, "distinct": 3,
            "numeric": {"min": 1.0, "max": 3.0, "mean": 2.0, "median": 2.0, "std": 0.8},
            "top_values": [{"value": "1", "count": 1}]
        });
        let p: ColumnProfile = serde_json::from_value(old).unwrap();
        assert_eq!(p.number_format, None);
        let (_, now) = formats("x;y\n1,5;a\n2;b\n");
        let back: ColumnProfile =
            serde_json::from_value(serde_json::to_value(&now[0]).unwrap()).unwrap();
        assert_eq!(back, now[0]);
    }

    /// A stored summary with an overflowed figure (`null`, from before [`MAX_MAGNITUDE`]) reads
    /// as no summary, so the dataset still lists; one without `numeric` reads as before.
    #[test]
    fn profiles_with_an_overflowed_summary_still_read() {
        let stored = serde_json::json!({
            "name": "spend", "kind": "numeric", "missing": 0, "distinct": 4,
            "numeric": {"min": 3.0, "max": 1e155, "mean": 2.5e154, "median": 4.5, "std": null},
            "top_values": []
        });
        let p: ColumnProfile = serde_json::from_value(stored).unwrap();
        assert_eq!(p.numeric, None);
        let text = serde_json::json!({
            "name": "region", "kind": "categorical", "missing": 0, "distinct": 1, "top_values": []
        });
        assert_eq!(
            serde_json::from_value::<ColumnProfile>(text)
                .unwrap()
                .numeric,
            None
        );
    }

    /// Numbers too large to compute with are refused where they are; the largest allowed ones
    /// give finite statistics.
    #[test]
    fn numbers_too_large_to_compute_with_are_refused_by_place() {
        let err = read_csv(b"customer_id,age,spend\nC1,1,1e155\nC2,2,3\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert_eq!(
            err.to_string(),
            "line 2, column 3 (`spend`) holds 1e155, larger than SegmentIQ computes with (numbers at most 1e100 in size); correct the value, or empty the cell to mark it missing"
        );
        let err = read_csv(b"a,b\n1,2\n-1.7e308,3\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("line 3, column 1 (`a`) holds -1.7e308"),
            "{err}"
        );
        let t = read_csv(b"a,b\n1e100,2\n-1e100,3\n").unwrap();
        let s = t.column_profiles()[0].numeric.clone().unwrap();
        assert!(
            [s.min, s.max, s.mean, s.median, s.std]
                .iter()
                .all(|v| v.is_finite()),
            "{s:?}"
        );
    }

    /// A huge cell is kept whole in the table but only its start in the profile that every
    /// listing carries.
    #[test]
    fn profiles_keep_the_start_of_a_huge_value() {
        let cell = "ሀ".repeat(5_000);
        let t = read_csv(format!("name,x\n{cell},1\n{cell},2\nb,3\n").as_bytes()).unwrap();
        let top = &t.column_profiles()[0].top_values[0];
        assert_eq!(top.count, 2);
        assert_eq!(top.value, format!("{}… (5000 characters)", "ሀ".repeat(200)));
        assert_eq!(
            t.columns[0],
            ColumnData::Text(vec![Some(cell.clone()), Some(cell), Some("b".into())])
        );
    }

    #[test]
    fn header_problems() {
        assert_eq!(
            read_csv(b"a,b,c,,e\n1,2,3,4,5\n").unwrap_err().to_string(),
            "the header has an empty column name at column 4"
        );
        assert_eq!(
            read_csv(b"age,x,age\n1,2,3\n").unwrap_err().to_string(),
            "the header has the column name `age` twice (columns 1 and 3)"
        );
    }

    #[test]
    fn na_tokens_are_missing() {
        let t = read_csv(b"x,y\nNA,a\nn/a,NULL\nnan,None\n 7 , b \nNaN,\n").unwrap();
        assert_eq!(
            t.columns[0],
            ColumnData::Numeric(vec![None, None, None, Some(7.0), None])
        );
        assert_eq!(
            t.columns[1],
            ColumnData::Text(vec![Some("a".into()), None, None, Some("b".into()), None])
        );
        assert_eq!(t.columns[0].missing(), 4);
    }

    #[test]
    fn infinity_is_not_a_number() {
        let t = read_csv(b"x\n1\ninf\n").unwrap();
        assert!(matches!(t.columns[0], ColumnData::Text(_)));
    }

    #[test]
    fn kind_detection() {
        let mut csv = String::from("customer_id,row,age,spend,gender,flag,points,empty\n");
        for i in 0..12 {
            csv.push_str(&format!(
                "C{:04},{},{},{}.5,{},1,{},\n",
                i + 1,
                i + 1,
                20 + (i % 5),
                100 + i,
                if i % 2 == 0 { "F" } else { "M" },
                i * 7
            ));
        }
        assert_eq!(
            kinds_of(&csv),
            [
                ColumnKind::Identifier,  // text, distinct on every row
                ColumnKind::Identifier,  // integers 1..n
                ColumnKind::Numeric,     // repeated integers
                ColumnKind::Numeric,     // distinct floats: a measurement
                ColumnKind::Categorical, // two levels
                ColumnKind::Constant,    // one value
                ColumnKind::Numeric,     // distinct integers, not consecutive, no id name
                ColumnKind::Constant,    // all missing
            ]
        );
    }

    #[test]
    fn identifier_names() {
        assert!(name_says_identifier("customer_id"));
        assert!(name_says_identifier("CustomerID"));
        assert!(name_says_identifier("customerId"));
        assert!(name_says_identifier("ID"));
        assert!(!name_says_identifier("paid"));
        assert!(!name_says_identifier("video_views"));
        // Small tables: integer ids by name, distinct text levels stay categorical.
        assert_eq!(
            kinds_of("user_id,region,score\n10,a,1\n20,b,2\n30,c,2\n"),
            [
                ColumnKind::Identifier,
                ColumnKind::Categorical,
                ColumnKind::Numeric
            ]
        );
    }

    #[test]
    fn column_profiles_summarise() {
        let t = read_csv(b"x,g\n1,b\n2,a\nNA,b\n5,\n").unwrap();
        let p = t.column_profiles();
        assert_eq!(p[0].name, "x");
        assert_eq!(p[0].kind, ColumnKind::Numeric);
        assert_eq!(p[0].missing, 1);
        assert_eq!(p[0].distinct, 3);
        let s = p[0].numeric.as_ref().unwrap();
        assert_eq!((s.min, s.max, s.mean, s.median), (1.0, 5.0, 8.0 / 3.0, 2.0));
        // Population std of 1, 2, 5.
        assert!((s.std - (78.0f64 / 27.0).sqrt()).abs() < 1e-12);
        assert_eq!(p[1].kind, ColumnKind::Categorical);
        assert_eq!(p[1].missing, 1);
        assert_eq!(
            p[1].top_values,
            [
                ValueCount {
                    value: "b".into(),
                    count: 2
                },
                ValueCount {
                    value: "a".into(),
                    count: 1
                }
            ]
        );
        let json = serde_json::to_value(&p[1]).unwrap();
        assert_eq!(json["kind"], "categorical");
    }

    #[test]
    fn row_json_is_typed_and_ordered() {
        let t = read_csv(b"id,spend,city,age\nC1,12.5,Adama,30\nC2,NA,,31\n").unwrap();
        let r = t.json_rows().value(0);
        assert_eq!(
            r.to_string(),
            r#"{"id":"C1","spend":12.5,"city":"Adama","age":30}"#
        );
        let r = t.json_rows().value(1);
        assert_eq!(
            r.to_string(),
            r#"{"id":"C2","spend":null,"city":null,"age":31}"#
        );
        assert!(r["age"].is_i64());
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
