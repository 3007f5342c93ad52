//! The offline contract of `segmentiq cluster` and `segmentiq sample-data`, run as a user would:
//! the built binary on the committed sample file.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_segmentiq");

fn sample_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/ethiopian_supermarket_customers.csv")
}

fn cluster(out: &Path, extra: &[&str]) -> std::process::Output {
    let output = Command::new(BIN)
        .arg("cluster")
        .arg(sample_csv())
        .args(["--linkage", "ward", "--clusters", "4", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "cluster failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

const OUTPUTS: [&str; 9] = [
    "assignments.csv",
    "linkage.csv",
    "metrics.json",
    "dendrogram.png",
    "dendrogram.svg",
    "silhouette.svg",
    "k_sweep.svg",
    "map.svg",
    "sizes.svg",
];

#[test]
fn cluster_writes_the_contract_files_identically_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let second = dir.path().join("second");
    let output = cluster(&first, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("4 segments"), "{stderr}");
    assert!(stderr.contains("linkage"), "{stderr}");

    for name in OUTPUTS {
        let len = std::fs::metadata(first.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 0, "{name} is missing or empty");
    }

    let input_lines = std::fs::read_to_string(sample_csv())
        .unwrap()
        .lines()
        .count();
    let assignments = std::fs::read_to_string(first.join("assignments.csv")).unwrap();
    let mut lines = assignments.lines();
    assert_eq!(
        lines.next(),
        Some(
            "row_index,cluster,customer_id,age,gender,region,total_spend,visit_frequency,avg_basket_size,preferred_category"
        )
    );
    assert_eq!(assignments.lines().count(), input_lines);
    assert_eq!(assignments.lines().count(), 2001);
    assert!(lines.next().unwrap().starts_with("0,"));

    let linkage = std::fs::read_to_string(first.join("linkage.csv")).unwrap();
    assert_eq!(linkage.lines().next(), Some("left,right,height,size"));
    assert_eq!(linkage.lines().count(), 2000);
    assert!(linkage.lines().last().unwrap().ends_with(",2000"));

    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["n_samples"], 2000);
    assert_eq!(metrics["n_clusters"], 4);
    assert!(metrics["n_encoded_features"].as_u64().unwrap() > 20);
    assert!(metrics["silhouette_score"].is_f64());
    let sizes = metrics["cluster_sizes"].as_object().unwrap();
    assert_eq!(sizes.len(), 4);
    assert_eq!(
        sizes.values().map(|v| v.as_u64().unwrap()).sum::<u64>(),
        2000
    );
    assert!(sizes.contains_key("0"));
    for key in [
        "feature_config",
        "segment_silhouettes",
        "cophenetic_correlation",
        "k_sweep",
        "profiles",
    ] {
        assert!(!metrics[key].is_null(), "{key} missing");
    }
    assert_eq!(
        metrics["feature_config"]["identifier_columns"][0],
        "customer_id"
    );

    let png = std::fs::read(first.join("dendrogram.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = std::fs::read_to_string(first.join("dendrogram.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("Merge height"));

    cluster(&second, &[]);
    for name in OUTPUTS {
        let a = std::fs::read(first.join(name)).unwrap();
        let b = std::fs::read(second.join(name)).unwrap();
        assert!(a == b, "{name} differs between two runs");
    }
}

#[test]
fn cluster_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    // A ragged row, and what the reader refuses rather than guesses: one line on stderr with
    // the file, its line and its column.
    for (content, expected) in [
        (
            &b"a,b,c\n1,2,3\n4,5\n"[..],
            "line 3 has 2 fields but the header has 3 (column `c` onward is missing)",
        ),
        (
            b"a,b\n1,2\n3,\x004\n",
            "line 3, column 2 (`b`) contains a NUL byte",
        ),
        (
            b"a,b\n1,\"2\n3,4\n",
            "line 2, column 2 (`b`) opens a quote that is never closed",
        ),
        (b"a,b\n", "the file has a header but no data rows"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let output = Command::new(BIN)
            .args(["cluster"])
            .arg(&bad)
            .args(["--clusters", "2", "--out"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("bad.csv") && stderr.contains(expected),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }

    let output = Command::new(BIN)
        .arg("cluster")
        .arg(sample_csv())
        .args([
            "--clusters",
            "2",
            "--linkage",
            "ward",
            "--metric",
            "cosine",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("euclidean"));
}

#[test]
fn sample_data_matches_the_committed_file() {
    let output = Command::new(BIN)
        .args(["sample-data", "--rows", "2000", "--seed", "42"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed = std::fs::read(sample_csv()).unwrap();
    assert!(
        output.stdout == committed,
        "regenerate sample_data with `segmentiq sample-data --rows 2000 --seed 42`"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.csv");
    let status = Command::new(BIN)
        .args(["sample-data", "--rows", "10", "--seed", "1", "--out"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 11);
}
