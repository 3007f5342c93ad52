//! The reader's fuzz target: whatever bytes arrive, [`read_csv`] returns a table that can be
//! stored or an error that says where to look, and never panics.
//!
//! cargo-fuzz needs a nightly compiler, so these are proptest properties: a few hundred cases
//! each in the normal test run (seconds), any number in a longer run:
//! `PROPTEST_CASES=200000 cargo test --release --lib engine::ingest::fuzz`.

use proptest::prelude::*;

use super::*;

/// Pieces a hand-edited or badly exported CSV is made of: delimiters, quotes, line ends,
/// numbers in several locales, missing-value tokens, NULs, byte-order marks, bad UTF-8.
const PIECES: &[&[u8]] = &[
    b"a",
    b"id",
    b"x y",
    b"1",
    b"-2",
    b"12.5",
    b"12,5",
    b"1.234,5",
    b"1,234.50",
    b"1,234",
    b"1.234",
    b"0,25",
    b"1e3",
    b"1e150",
    b"inf",
    b"NA",
    b"null",
    b",",
    b",",
    b";",
    b";",
    b"\t",
    b"\"",
    b"\"\"",
    b"\n",
    b"\n",
    b"\r\n",
    b"\r",
    b" ",
    b"\0",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xFE\xFF",
    b"\xE9",
    b"\xC3\xA9",
    b"\xE2\x82\xAC",
];

/// Checks everything a caller relies on, for any input.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let lines = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
    match read_csv(bytes) {
        Ok(t) => {
            prop_assert!(t.n_rows >= 1);
            prop_assert_eq!(t.headers.len(), t.columns.len());
            prop_assert_eq!(t.headers.len(), t.number_formats.len());
            for (name, column) in t.headers.iter().zip(&t.columns) {
                prop_assert!(!name.is_empty() && !name.contains('\0'));
                match column {
                    ColumnData::Numeric(v) => {
                        prop_assert_eq!(v.len(), t.n_rows);
                        prop_assert!(v.iter().flatten().all(|x| x.is_finite()));
                    }
                    ColumnData::Text(v) => {
                        prop_assert_eq!(v.len(), t.n_rows);
                        // PostgreSQL refuses NUL in text and JSONB.
                        prop_assert!(v.iter().flatten().all(|s| !s.contains('\0')));
                    }
                }
            }
            // What the upload stores: profiles and rows as JSON.
            let profiles = serde_json::to_value(t.column_profiles()).expect("profiles serialize");
            let _: Vec<ColumnProfile> =
                serde_json::from_value(profiles).expect("profiles read back");
            let rows = t.json_rows();
            for i in 0..t.n_rows {
                let mut text = Vec::new();
                rows.write(i, &mut text);
                prop_assert!(serde_json::from_slice::<serde_json::Value>(&text).is_ok());
            }
            prop_assert_eq!(count_rows(bytes), Ok(t.n_rows));
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(!message.is_empty() && !message.contains('\0'));
            match e.line() {
                Some(line) => prop_assert!((1..=lines).contains(&line), "{e:?} in {lines} lines"),
                None => prop_assert!(
                    matches!(
                        e,
                        IngestError::Empty | IngestError::NoDataRows | IngestError::Utf16 { .. }
                    ),
                    "{e:?} has no line"
                ),
            }
            // Every reader refuses the same file the same way; a number too large to compute
            // with is a cell's content, which the row counter does not read.
            if matches!(e, IngestError::NumberTooLarge { .. }) {
                prop_assert!(count_rows(bytes).is_ok());
            } else {
                prop_assert_eq!(count_rows(bytes), Err(e));
            }
        }
    }
    Ok(())
}

fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|p| p.concat())
}

/// A well-formed file: unique names, the same number of cells on every line, cells quoted
/// when they hold the delimiter. Cells are numbers in every supported format and text.
fn well_formed() -> impl Strategy<Value = (Vec<u8>, usize, usize)> {
    const CELLS: &[&str] = &[
        "1", "-2", "12.5", "1,234.50", "1.234,5", "12,5", "1,234", "1.234", "0,25", "1e3", "NA",
        "", "Adama", "x \"y\"", "a\nb", " 7 ",
    ];
    (
        1usize..5,
        1usize..12,
        prop::sample::select(&[b',', b';', b'\t'][..]),
    )
        .prop_flat_map(|(columns, rows, delimiter)| {
            // A single column is read as comma-separated; its blank lines are skipped.
            let delimiter = if columns == 1 { b',' } else { delimiter };
            let cells = prop::sample::select(CELLS)
                .prop_filter("a one-column blank line", move |c| {
                    columns > 1 || !c.is_empty()
                });
            (
                prop::collection::vec(prop::collection::vec(cells, columns), rows),
                any::<bool>(),
            )
                .prop_map(move |(table, crlf)| {
                    let d = char::from(delimiter);
                    let end = if crlf { "\r\n" } else { "\n" };
                    let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
                    let mut text = names.join(&d.to_string()) + end;
                    for row in &table {
                        let cells: Vec<String> = row
                            .iter()
                            .map(|c| {
                                if c.contains(d) || c.contains('"') || c.contains('\n') {
                                    format!("\"{}\"", c.replace('"', "\"\""))
                                } else {
                                    c.to_string()
                                }
                            })
                            .collect();
                        text.push_str(&cells.join(&d.to_string()));
                        text.push_str(end);
                    }
                    (text.into_bytes(), columns, rows)
                })
        })
}

proptest! {
    #[test]
    fn arbitrary_bytes_give_a_table_or_a_located_error(
        bytes in prop::collection::vec(any::<u8>(), 0..400)
    ) {
        check(&bytes)?;
    }

    #[test]
    fn csv_like_text_gives_a_table_or_a_located_error(bytes in csv_like()) {
        check(&bytes)?;
    }

    #[test]
    fn well_formed_files_are_read_whole((bytes, columns, rows) in well_formed()) {
        check(&bytes)?;
        let t = read_csv(&bytes).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!((t.headers.len(), t.n_rows), (columns, rows));
    }
}
