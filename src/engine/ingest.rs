//! Reading an uploaded customer table: CSV bytes -> a typed, column-major [`Table`].
//!
//! Analysts export tables from Excel, Google Sheets, pandas and point-of-sale systems, so the
//! reader accepts what those tools write rather than one strict dialect:
//!
//! * a header row is required; its names must be non-empty and unique, because every later
//!   stage (feature selection, profiles, exports) refers to columns by name;
//! * the delimiter is detected from the header line (comma, semicolon or tab, whichever occurs
//!   most often outside quotes; comma on a tie), since European Excel writes semicolons;
//! * UTF-8 with or without a byte-order mark; anything else is rejected with the line and column
//!   of the first bad byte, so the user knows to re-save the file as "CSV UTF-8";
//! * quoted fields (with embedded delimiters, quotes and newlines), CRLF or LF line ends;
//! * surrounding spaces are trimmed; empty cells and `NA`, `N/A`, `null`, `NaN`, `None`
//!   (any case) are missing values;
//! * completely blank lines are skipped.
//!
//! Line numbers in errors are the physical line in the file where the row starts (1-based, the
//! header is line 1), which is what a text editor or spreadsheet shows.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
}

/// The values of one column. A column is numeric when every non-missing cell parses as a finite
/// number; otherwise all its cells are kept as text.
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

/// What the dataset page shows about a column and what is stored with the dataset.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ColumnProfile {
    pub name: String,
    pub kind: ColumnKind,
    pub missing: usize,
    /// Distinct non-missing values.
    pub distinct: usize,
    pub numeric: Option<NumericSummary>,
    /// Up to ten most frequent values, most frequent first (ties in text order).
    pub top_values: Vec<ValueCount>,
}

/// Why a file could not be read as a table. Every message says where to look.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    #[error("the file is empty")]
    Empty,
    #[error(
        "the file is not UTF-8: invalid byte at line {line}, column {column} (re-save it as \"CSV UTF-8\")"
    )]
    NotUtf8 { line: usize, column: usize },
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
    #[error("the file has a header but no data rows")]
    NoDataRows,
    #[error("line {line} could not be read as CSV: {message}")]
    Malformed { line: usize, message: String },
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

/// Parses a CSV file into a typed table (see the module docs for the accepted dialect).
pub fn read_csv(bytes: &[u8]) -> Result<Table, IngestError> {
    let mut headers: Vec<String> = Vec::new();
    let mut raw: Vec<Vec<Option<String>>> = Vec::new();
    let mut n_rows = 0usize;
    visit_rows(bytes, |header, row| {
        if let Some(h) = header {
            headers = h.iter().map(|s| s.to_string()).collect();
            raw = vec![Vec::new(); headers.len()];
            return;
        }
        for (col, cell) in raw.iter_mut().zip(row) {
            col.push((!is_missing_token(cell)).then(|| cell.to_string()));
        }
        n_rows += 1;
    })?;
    let columns = raw.into_iter().map(type_column).collect();
    Ok(Table {
        headers,
        columns,
        n_rows,
    })
}

/// Turns raw cells into a numeric column when every present cell is a finite number.
fn type_column(cells: Vec<Option<String>>) -> ColumnData {
    let present = cells.iter().flatten().count();
    if present == 0 {
        // No evidence of numbers: an all-missing column stays text (it is constant anyway).
        return ColumnData::Text(cells);
    }
    let mut numbers = Vec::with_capacity(cells.len());
    for cell in &cells {
        match cell {
            None => numbers.push(None),
            Some(s) => match s.parse::<f64>() {
                Ok(v) if v.is_finite() => numbers.push(Some(v)),
                _ => return ColumnData::Text(cells),
            },
        }
    }
    ColumnData::Numeric(numbers)
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
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(IngestError::Empty);
    }
    check_utf8(bytes)?;
    let delimiter = detect_delimiter(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(bytes);

    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
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
                f(Some(&cells), &[]);
                header = Some(names);
            }
            Some(names) => {
                if cells.len() != names.len() {
                    return Err(IngestError::RaggedRow {
                        line,
                        fields: cells.len(),
                        expected: names.len(),
                        first_missing: names.get(cells.len()).cloned(),
                    });
                }
                f(None, &cells);
            }
        }
    }
    if header.is_none() {
        return Err(IngestError::Empty);
    }
    Ok(())
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
    if n == 0 {
        return Err(IngestError::NoDataRows);
    }
    Ok(n)
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
    let distinct = distinct_count(data);
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

fn distinct_count(data: &ColumnData) -> usize {
    match data {
        ColumnData::Numeric(v) => v
            .iter()
            .flatten()
            .map(|x| if *x == 0.0 { 0u64 } else { x.to_bits() })
            .collect::<HashSet<_>>()
            .len(),
        ColumnData::Text(v) => v.iter().flatten().collect::<HashSet<_>>().len(),
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

fn top_values(data: &ColumnData) -> Vec<ValueCount> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    match data {
        ColumnData::Numeric(v) => {
            for x in v.iter().flatten() {
                *counts.entry(format_number(*x)).or_default() += 1;
            }
        }
        ColumnData::Text(v) => {
            for s in v.iter().flatten() {
                *counts.entry(s.clone()).or_default() += 1;
            }
        }
    }
    let mut counts: Vec<ValueCount> = counts
        .into_iter()
        .map(|(value, count)| ValueCount { value, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    counts.truncate(TOP_VALUES);
    counts
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
    /// summary, most frequent values).
    pub fn column_profiles(&self) -> Vec<ColumnProfile> {
        self.headers
            .iter()
            .zip(&self.columns)
            .map(|(name, data)| ColumnProfile {
                name: name.clone(),
                kind: detect_kind(name, data, self.n_rows),
                missing: data.missing(),
                distinct: distinct_count(data),
                numeric: match data {
                    ColumnData::Numeric(v) => numeric_summary(v),
                    ColumnData::Text(_) => None,
                },
                top_values: top_values(data),
            })
            .collect()
    }

    /// Row `i` as a JSON object in header order: numbers as JSON numbers (integral values as
    /// integers), text as strings, missing cells as `null`. Rows past the end give nulls.
    pub fn row_json(&self, i: usize) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::Value;
        self.headers
            .iter()
            .zip(&self.columns)
            .map(|(name, data)| {
                let value = match data {
                    ColumnData::Numeric(v) => match v.get(i).copied().flatten() {
                        Some(x) if x.fract() == 0.0 && x.abs() < MAX_EXACT_INT => {
                            Value::from(x as i64)
                        }
                        Some(x) => {
                            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
                        }
                        None => Value::Null,
                    },
                    ColumnData::Text(v) => match v.get(i) {
                        Some(Some(s)) => Value::String(s.clone()),
                        _ => Value::Null,
                    },
                };
                (name.clone(), value)
            })
            .collect()
    }
}

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
        assert_eq!(t.columns[0], ColumnData::Text(vec![Some("1,5".into())]));
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
        let t = read_csv(b"a,b\n").unwrap();
        assert_eq!(t.n_rows, 0);
        assert_eq!(count_rows(b"a,b\n").unwrap_err(), IngestError::NoDataRows);
        assert_eq!(count_rows(b"a,b\n1,2\n\n3,4").unwrap(), 2);
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
        let r = serde_json::Value::Object(t.row_json(0));
        assert_eq!(
            r.to_string(),
            r#"{"id":"C1","spend":12.5,"city":"Adama","age":30}"#
        );
        let r = serde_json::Value::Object(t.row_json(1));
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
