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

const OUTPUTS: [&str; 10] = [
    "assignments.csv",
    "model.json",
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
            "row_index,cluster,segment_name,customer_id,age,gender,region,total_spend,visit_frequency,avg_basket_size,preferred_category"
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

fn assign(model: &Path, csv: &Path, out: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg("assign")
        .arg(model)
        .arg(csv)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the binary runs")
}

/// New customers placed with a run's `model.json` (how accurately is checked in the engine's
/// model tests): every new customer gets a segment and its name, the run's own customers keep
/// theirs, and tables or models that do not fit are refused with the reason.
#[test]
fn assign_places_new_customers_with_the_runs_model() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    cluster(&run, &["--no-k-sweep"]);
    let model = run.join("model.json");

    // New customers: another draw of the same customer types.
    let fresh = dir.path().join("fresh.csv");
    let status = Command::new(BIN)
        .args(["sample-data", "--rows", "600", "--seed", "99", "--out"])
        .arg(&fresh)
        .status()
        .unwrap();
    assert!(status.success());
    let placed = dir.path().join("assigned.csv");
    let output = assign(&model, &fresh, &placed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("600 customers placed in the run's 4 segments"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ward linkage: the segment whose sum of squares grows least"),
        "{stderr}"
    );
    let assigned = std::fs::read_to_string(&placed).unwrap();
    assert!(
        assigned.starts_with("row_index,cluster,segment_name,customer_id,age,gender,region,"),
        "{assigned}"
    );
    assert_eq!(assigned.lines().count(), 601);
    let labels = |csv: &str| -> Vec<String> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(1).unwrap().to_string())
            .collect()
    };
    // The run's own customers placed again keep their segments.
    let again = dir.path().join("again.csv");
    assert!(assign(&model, &sample_csv(), &again).status.success());
    let own = std::fs::read_to_string(run.join("assignments.csv")).unwrap();
    let again = std::fs::read_to_string(&again).unwrap();
    let same = labels(&own)
        .iter()
        .zip(labels(&again))
        .filter(|(a, b)| **a == *b)
        .count();
    assert!(same >= 1_900, "{same} of 2,000 keep their segment");
    let name_of: std::collections::HashMap<String, String> = own
        .lines()
        .skip(1)
        .map(|l| {
            let mut cells = csv_cells(l);
            (cells.remove(1), cells.remove(1))
        })
        .collect();
    for line in assigned.lines().skip(1).take(50) {
        let cells = csv_cells(line);
        assert_eq!(name_of[&cells[1]], cells[2], "{line}");
    }

    // A table without a column the run used is refused, naming it; a newer model too.
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "customer_id,age\nC1,30\n").unwrap();
    let output = assign(&model, &short, &placed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("short.csv`: the table has no column `total_spend`,"),
        "{stderr}"
    );
    let newer = dir.path().join("newer.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&model).unwrap()).unwrap();
    json["version"] = 7.into();
    std::fs::write(&newer, json.to_string()).unwrap();
    let output = assign(&newer, &fresh, &placed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the model is version 7; this SegmentIQ reads models up to version 1"),
        "{stderr}"
    );
}

/// The cells of one CSV line, quotes removed.
fn csv_cells(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    record.iter().map(str::to_string).collect()
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
fn cluster_auto_chooses_the_count_and_records_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auto");
    let output = Command::new(BIN)
        .arg("cluster")
        .arg(sample_csv())
        .args(["--clusters", "auto", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    let sweep = &metrics["k_sweep"];
    let k = metrics["n_clusters"].as_u64().unwrap();
    assert_eq!(sweep["suggested_k"].as_u64(), Some(k));
    let why = metrics["k_choice"].as_str().unwrap();
    assert_eq!(sweep["reason"].as_str(), Some(why));
    assert!(why.starts_with(&format!("{k} segments: ")), "{why}");
    assert_eq!(sweep["structure"], true);
    assert_eq!(sweep["resampling"]["resamples"], 20);
    assert_eq!(sweep["resampling"]["rows"], 1000);
    let chosen = sweep["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["k"].as_u64() == Some(k))
        .unwrap();
    let stability = chosen["segment_stability"].as_array().unwrap();
    assert_eq!(stability.len() as u64, k);
    assert!(stability.iter().all(|j| j.as_f64().unwrap() >= 0.75));

    // A fixed count records no choice.
    let fixed = dir.path().join("fixed");
    cluster(&fixed, &[]);
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixed.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["k_choice"], serde_json::Value::Null);

    let output = Command::new(BIN)
        .arg("cluster")
        .arg(sample_csv())
        .args(["--clusters", "some", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("`some` is neither a number of segments (e.g. 4) nor `auto`")
    );
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

/// A port nothing listens on (bound and released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `segmentiq serve` as on a machine with no PostgreSQL running: no `DATABASE_URL`, nothing
/// on the probed port (`PGPORT`), data in `data_dir`; stderr goes to `log`.
fn serve_without_database(
    dir: &Path,
    data_dir: &Path,
    bind: &str,
    log: &Path,
    extra: &[(&str, &str)],
) -> std::process::Child {
    Command::new(BIN)
        .arg("serve")
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("PGPORT", free_port().to_string())
        .env("PGDATA_DIR", data_dir)
        .env("BIND_ADDR", bind)
        .env("RUST_LOG", "segmentiq=info")
        .envs(extra.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("the binary runs")
}

/// A plain HTTP/1.0 GET; the status line and body, or None when nothing answers.
fn http_get(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

/// Stops a `segmentiq serve` the test started, also when an assertion fails first, so no
/// PostgreSQL outlives the test (it is declared after the temporary directory, so it goes
/// first).
struct Running(std::process::Child);

impl Running {
    fn terminate(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill has no memory preconditions; the pid is our own child's.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            self.terminate();
            let _ = self.0.wait();
        }
    }
}

fn wait_for_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "segmentiq did not exit"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The first start on a machine where no PostgreSQL runs: a private cluster is created in
/// PGDATA_DIR, serves the service, and is stopped when SegmentIQ stops, by SIGTERM or through
/// an error; without PostgreSQL's programs the error says how to get them.
#[test]
fn serve_starts_and_stops_a_private_postgres_when_none_runs() {
    let dir = tempfile::tempdir().unwrap();
    // As root, PostgreSQL runs as the postgres user, which must be able to enter the directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let data_dir = dir.path().join("pgdata");
    let log = dir.path().join("segmentiq.log");
    let read_log = || std::fs::read_to_string(&log).unwrap();
    let pid_file = data_dir.join("postmaster.pid");

    // No programs: one paragraph on installing PostgreSQL, nothing created.
    let bind = format!("127.0.0.1:{}", free_port());
    let mut first = Running(serve_without_database(
        dir.path(),
        &data_dir,
        &bind,
        &log,
        &[("PG_BIN_DIR", "/nonexistent")],
    ));
    assert!(!wait_for_exit(&mut first.0).success());
    let stderr = read_log();
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains("docker compose up"), "{stderr}");
    assert!(!data_dir.exists());

    // The server fails after the cluster started (its address is taken): the cluster stops.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    let mut second = Running(serve_without_database(
        dir.path(),
        &data_dir,
        &bind,
        &log,
        &[],
    ));
    assert!(!wait_for_exit(&mut second.0).success());
    let stderr = read_log();
    assert!(stderr.contains("using a private PostgreSQL"), "{stderr}");
    assert!(stderr.contains("BIND_ADDR"), "{stderr}");
    assert!(data_dir.join("PG_VERSION").exists());
    assert!(!pid_file.exists(), "the cluster was left running: {stderr}");
    drop(taken);

    // A normal start on the existing cluster, ready with migrated tables, stopped by SIGTERM.
    let bind = format!("127.0.0.1:{}", free_port());
    let mut server = Running(serve_without_database(
        dir.path(),
        &data_dir,
        &bind,
        &log,
        &[],
    ));
    let ok = |r: &String| r.lines().next().is_some_and(|l| l.contains(" 200 "));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !http_get(&bind, "/readyz").is_some_and(|r| ok(&r)) {
        assert!(
            server.0.try_wait().unwrap().is_none(),
            "exited: {}",
            read_log()
        );
        assert!(
            std::time::Instant::now() < deadline,
            "not ready: {}",
            read_log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let datasets = http_get(&bind, "/api/v1/datasets").unwrap();
    assert!(ok(&datasets) && datasets.ends_with("[]"), "{datasets}");
    assert!(pid_file.exists());
    server.terminate();
    let status = wait_for_exit(&mut server.0);
    assert!(status.success(), "{status}: {}", read_log());
    assert!(
        !pid_file.exists(),
        "the cluster was left running: {}",
        read_log()
    );
    assert!(read_log().contains("stopping the private PostgreSQL"));
}

/// `--max-exact-rows` below the table's size: the run takes the large-table path and says so in
/// metrics.json and on standard error; every row still gets a segment, and the tree written is
/// the micro-clusters' tree. Without the flag the same table is exact and says nothing of it.
#[test]
fn cluster_above_max_exact_rows_is_approximate_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let exact = dir.path().join("exact");
    let output = cluster(&exact, &["--no-k-sweep"]);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("approximate"));
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(exact.join("metrics.json")).unwrap()).unwrap();
    assert!(metrics.get("approximation").is_none(), "{metrics}");

    let large = dir.path().join("large");
    let output = cluster(&large, &["--no-k-sweep", "--max-exact-rows", "1000"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "approximate: more than 1,000 rows, so customers grouped into k-means micro-clusters"
        ),
        "{stderr}"
    );
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(large.join("metrics.json")).unwrap()).unwrap();
    let approximation = &metrics["approximation"];
    assert_eq!(approximation["method"], "kmeans_ward", "{metrics}");
    assert_eq!(approximation["micro_clusters"], 500);
    assert_eq!(approximation["max_exact_rows"], 1000);
    let within = approximation["within_share"].as_f64().unwrap();
    assert!(within > 0.0 && within < 0.5, "{within}");
    // 2,000 rows: the silhouette is still exact.
    assert!(metrics["silhouette_sample_size"].is_null());
    assert_eq!(metrics["n_samples"], 2000);

    let assignments = std::fs::read_to_string(large.join("assignments.csv")).unwrap();
    assert_eq!(assignments.lines().count(), 2001);
    let linkage = std::fs::read_to_string(large.join("linkage.csv")).unwrap();
    assert_eq!(linkage.lines().count(), 500);
    assert!(linkage.lines().last().unwrap().ends_with(",2000"));
    for name in ["dendrogram.svg", "dendrogram.png", "map.svg"] {
        assert!(large.join(name).exists(), "{name}");
    }

    let refused = Command::new(BIN)
        .arg("cluster")
        .arg(sample_csv())
        .args([
            "--linkage",
            "average",
            "--clusters",
            "4",
            "--max-exact-rows",
            "1000",
            "--out",
        ])
        .arg(dir.path().join("refused"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("only Ward's criterion means the same on groups as on customers"),
        "{stderr}"
    );
}

/// Results are never written over the file they were made from: `assign --out` naming the
/// input (by any path), or `cluster --out` the directory the input is one of its tables in, is
/// refused and the input is left as it was. `sample-data` refuses a table without rows, which
/// the reader would refuse.
#[test]
fn results_never_replace_their_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    cluster(&run, &["--no-k-sweep"]);
    let input = dir.path().join("in.csv");
    std::fs::copy(sample_csv(), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    for out in [input.clone(), dir.path().join("run/../in.csv")] {
        let output = assign(&run.join("model.json"), &input, &out);
        assert_eq!(output.status.code(), Some(1));
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("would be written over the input"), "{said}");
    }
    let output = assign(&run.join("model.json"), &input, &run.join("model.json"));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(std::fs::read(&input).unwrap(), before);

    let table = run.join("assignments.csv");
    let earlier = std::fs::read(&table).unwrap();
    let output = Command::new(BIN)
        .arg("cluster")
        .arg(&table)
        .args([
            "--clusters",
            "3",
            "--exclude",
            "row_index,cluster,segment_name",
            "--out",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("assignments.csv` would be written over the input"),
        "{said}"
    );
    assert_eq!(std::fs::read(&table).unwrap(), earlier);

    let output = Command::new(BIN)
        .args(["sample-data", "--rows", "0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("`0` is not a row count of at least 1"),
        "{said}"
    );
}

/// An export clustered again (it has `row_index`, `cluster` and `segment_name` of its own)
/// exports its own columns under new names, so the file reads back once more.
#[test]
fn exports_of_exports_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    cluster(&first, &["--no-k-sweep"]);
    let again = |from: &Path, exclude: &str, out: &Path| {
        Command::new(BIN)
            .arg("cluster")
            .arg(from)
            .args([
                "--clusters",
                "3",
                "--no-k-sweep",
                "--exclude",
                exclude,
                "--out",
            ])
            .arg(out)
            .output()
            .unwrap()
    };
    let second = dir.path().join("second");
    let ours = "row_index,cluster,segment_name";
    let output = again(&first.join("assignments.csv"), ours, &second);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(second.join("assignments.csv")).unwrap();
    assert!(
        text.starts_with("row_index,cluster,segment_name,original_row_index,original_cluster,original_segment_name,customer_id,"),
        "{}",
        text.lines().next().unwrap()
    );
    let theirs = format!("{ours},original_row_index,original_cluster,original_segment_name");
    let output = again(
        &second.join("assignments.csv"),
        &theirs,
        &dir.path().join("third"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
