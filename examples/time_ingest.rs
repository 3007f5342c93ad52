//! Times reading a CSV the way an upload does (parse, then the column profiles, then every row
//! as stored JSON), stage by stage: `cargo run --release --example time_ingest -- FILE`.

use std::time::Instant;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: time_ingest FILE.csv");
    let bytes = std::fs::read(&path).expect("readable file");
    let started = Instant::now();
    let table = segmentiq::engine::ingest::read_csv(&bytes).expect("a table");
    let parsed = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let profiles = table.column_profiles();
    let profiled = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows = table.json_rows();
    let mut text = Vec::new();
    let mut bytes_out = 0;
    for i in 0..table.n_rows {
        text.clear();
        rows.write(i, &mut text);
        bytes_out += text.len();
    }
    let written = started.elapsed().as_secs_f64();
    println!(
        "{} rows, {} columns: parse {parsed:.2} s, profiles {profiled:.2} s, JSON rows {written:.2} s ({} MiB)",
        table.n_rows,
        profiles.len(),
        bytes_out >> 20
    );
}
