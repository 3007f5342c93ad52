//! `segmentiq cluster`: the whole engine on a CSV file, results written to a directory.
//!
//! This is the offline contract that benchmarks and correctness checks run (see DESIGN.md):
//! `assignments.csv`, `linkage.csv`, `metrics.json`, `model.json` (for `segmentiq assign`) and
//! the charts. Every output is a pure
//! function of the input file and the options (no timestamps, no timings), so two runs give
//! byte-identical files; timings go to standard error only.

use crate::engine::export::{download_header, spreadsheet_safe};
use crate::engine::ingest::{self, Table};
use crate::engine::model::Model;
use crate::engine::pipeline::{self, Outcome, Params, PcaSpec};
use crate::engine::render::{self, Format, Layout, RenderOptions, Theme};
use crate::engine::spec::{ColumnUse, Draft, Vocabulary};
use crate::engine::types::{Method, Metric, NoProgress};
use anyhow::{Context, anyhow};
use serde_json::{Map, Value, json};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Segment a customer table offline and write the results to a directory.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The CSV file (comma, semicolon or tab separated, UTF-8, header row first).
    pub csv: PathBuf,
    /// Linkage method: ward, complete, average, single, weighted, centroid or median.
    #[arg(long, default_value = "ward")]
    pub linkage: Method,
    /// Number of segments to cut the tree into, or `auto` to take the suggested count (see
    /// `k_sweep.reason` in metrics.json).
    #[arg(
        long,
        required_unless_present = "distance_threshold",
        conflicts_with = "distance_threshold",
        value_parser = parse_clusters
    )]
    pub clusters: Option<Clusters>,
    /// Cut the tree at this merge height instead of into a fixed number of segments.
    #[arg(long)]
    pub distance_threshold: Option<f64>,
    /// PCA before clustering: a whole number keeps that many components, a fraction such as
    /// 0.9 keeps enough components to explain that share of the variance.
    #[arg(long, value_parser = parse_pca)]
    pub pca: Option<PcaSpec>,
    /// Distance between customers: euclidean, manhattan or cosine.
    #[arg(long, default_value = "euclidean")]
    pub metric: Metric,
    /// Columns to leave out of the features (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Use only these columns as features (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub include: Option<Vec<String>>,
    /// Use a column as numeric, categorical or not at all, whatever its detected kind, e.g.
    /// `--kind store=categorical` (repeatable).
    #[arg(long = "kind", value_parser = parse_kind)]
    pub kinds: Vec<(String, ColumnUse)>,
    /// Skip scoring other segment counts (k = 2..12).
    #[arg(long)]
    pub no_k_sweep: bool,
    /// Tables with more rows take the large-table path: customers are first grouped into
    /// micro-clusters, Ward linkage clusters those, and the run is approximate (metrics.json
    /// then has an `approximation` object). Exact Ward is O(n²); raise this for an exact run
    /// of a larger table if you can wait.
    #[arg(long, default_value_t = pipeline::DEFAULT_MAX_EXACT_ROWS, value_parser = parse_max_exact_rows)]
    pub max_exact_rows: usize,
    /// Chart colours: light (white paper) or dark.
    #[arg(long, default_value = "light", value_parser = parse_theme)]
    pub theme: Theme,
    /// Directory to write the results to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

/// What `--clusters` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clusters {
    Count(usize),
    /// The run chooses the count.
    Auto,
}

fn parse_clusters(s: &str) -> Result<Clusters, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("auto") {
        return Ok(Clusters::Auto);
    }
    s.parse()
        .map(Clusters::Count)
        .map_err(|_| format!("`{s}` is neither a number of segments (e.g. 4) nor `auto`"))
}

/// `3` -> three components; `0.9` -> 90% of the variance.
fn parse_pca(s: &str) -> Result<PcaSpec, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<usize>() {
        return Ok(PcaSpec::Components(n));
    }
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(PcaSpec::Variance(f)),
        _ => Err(format!(
            "`{s}` is neither a number of components (e.g. 3) nor a variance fraction between 0 and 1 (e.g. 0.9)"
        )),
    }
}

fn parse_max_exact_rows(s: &str) -> Result<usize, String> {
    match s.trim().replace('_', "").parse::<usize>() {
        Ok(n) if n >= 2 => Ok(n),
        _ => Err(format!(
            "`{s}` is not a row count of at least 2 (e.g. 100000)"
        )),
    }
}

fn parse_kind(s: &str) -> Result<(String, ColumnUse), String> {
    let (name, kind) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("`{s}` should look like column=kind, e.g. store=categorical"))?;
    Ok((name.trim().to_string(), kind.parse()?))
}

fn parse_theme(s: &str) -> Result<Theme, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "dark" => Ok(Theme::Dark),
        "light" => Ok(Theme::Light),
        _ => Err(format!("unknown theme `{s}`; expected light or dark")),
    }
}

/// The settings as every interface states them, so the CLI gets the same rules and verdicts
/// (`engine::spec`) as the server.
fn draft(args: &ClusterArgs) -> Draft {
    let (pca_components, pca_variance) = match args.pca {
        Some(PcaSpec::Components(c)) => (Some(i64::try_from(c).unwrap_or(i64::MAX)), None),
        Some(PcaSpec::Variance(f)) => (None, Some(f)),
        None => (None, None),
    };
    Draft {
        method: args.linkage,
        metric: args.metric,
        n_clusters: match args.clusters {
            Some(Clusters::Count(k)) => Some(i64::try_from(k).unwrap_or(i64::MAX)),
            _ => None,
        },
        auto_clusters: args.clusters == Some(Clusters::Auto),
        distance_threshold: args.distance_threshold,
        use_pca: Some(args.pca.is_some()),
        pca_components,
        pca_variance,
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        kinds: args.kinds.iter().cloned().collect(),
    }
}

/// The tables the run writes into `--out`, which must not be the input.
const TABLES: [&str; 4] = [
    "assignments.csv",
    "linkage.csv",
    "metrics.json",
    "model.json",
];

pub fn run(args: ClusterArgs) -> anyhow::Result<()> {
    for table in TABLES {
        super::refuse_overwriting(&args.csv, &args.out.join(table))?;
    }
    let file = args.csv.display().to_string();
    let started = Instant::now();
    let bytes = std::fs::read(&args.csv).with_context(|| format!("could not read `{file}`"))?;
    let table = ingest::read_csv(&bytes).map_err(|e| anyhow!("`{file}`: {e}"))?;
    let parse_seconds = started.elapsed().as_secs_f64();

    let params = Params {
        k_sweep: !args.no_k_sweep,
        max_exact_rows: args.max_exact_rows,
        ..draft(&args)
            .params()
            .map_err(|e| anyhow!("{}", e.message(Vocabulary::Cli)))?
    };
    let outcome =
        pipeline::run(&table, &params, &NoProgress).map_err(|e| anyhow!("`{file}`: {e}"))?;

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("could not create `{}`", args.out.display()))?;
    let write_started = Instant::now();
    let names: Vec<String> = outcome.profiles.iter().map(|p| p.name.clone()).collect();
    write_assignments(
        &args.out.join("assignments.csv"),
        &bytes,
        &outcome.labels,
        &names,
    )?;
    write_linkage(&args.out.join("linkage.csv"), &outcome)?;
    write_file(
        &args.out.join("metrics.json"),
        &metrics_json(&outcome, &params)?,
    )?;
    write_file(&args.out.join("model.json"), &model_json(&outcome.model)?)?;
    let write_seconds = write_started.elapsed().as_secs_f64();

    let render_started = Instant::now();
    write_charts(&args.out, &outcome, args.theme)?;
    let render_seconds = render_started.elapsed().as_secs_f64();

    print_summary(&file, &table, &outcome, &args.out);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "timings:");
    let _ = writeln!(err, "  {:<14} {:>9.3} s", "parsing", parse_seconds);
    for t in &outcome.timings {
        let _ = writeln!(err, "  {:<14} {:>9.3} s", t.stage.as_str(), t.seconds);
    }
    let _ = writeln!(err, "  {:<14} {:>9.3} s", "writing", write_seconds);
    let _ = writeln!(err, "  {:<14} {:>9.3} s", "rendering", render_seconds);
    let _ = writeln!(
        err,
        "  {:<14} {:>9.3} s",
        "total",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The run's model, for `segmentiq assign`.
fn model_json(model: &Model) -> anyhow::Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(model).context("could not encode model.json")?;
    out.push(b'\n');
    Ok(out)
}

pub(crate) fn write_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("could not write `{}`", path.display()))
}

fn create(path: &Path) -> anyhow::Result<BufWriter<std::fs::File>> {
    let f = std::fs::File::create(path)
        .with_context(|| format!("could not create `{}`", path.display()))?;
    Ok(BufWriter::new(f))
}

/// `row_index,cluster,segment_name` then the original cells of each row, in input order.
pub(crate) fn write_assignments(
    path: &Path,
    bytes: &[u8],
    labels: &[usize],
    names: &[String],
) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(create(path)?);
    let mut row = 0usize;
    let mut failure: Option<csv::Error> = None;
    let mut record: Vec<String> = Vec::new();
    ingest::visit_rows(bytes, |header, cells| {
        if failure.is_some() {
            return;
        }
        record.clear();
        match header {
            Some(names) => {
                let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                record = download_header(&["row_index", "cluster", "segment_name"], &names);
            }
            None => {
                record.push(row.to_string());
                let label = labels.get(row);
                record.push(label.map_or(String::new(), |l| l.to_string()));
                let name = label.and_then(|&l| names.get(l)).map_or("", String::as_str);
                record.push(spreadsheet_safe(name).into_owned());
                record.extend(cells.iter().map(|s| spreadsheet_safe(s).into_owned()));
                row += 1;
            }
        }
        if let Err(e) = w.write_record(&record) {
            failure = Some(e);
        }
    })?;
    if let Some(e) = failure {
        return Err(e).with_context(|| format!("could not write `{}`", path.display()));
    }
    w.flush()
        .with_context(|| format!("could not write `{}`", path.display()))
}

/// scipy's linkage matrix, one merge per line; heights in shortest round-trip form.
fn write_linkage(path: &Path, outcome: &Outcome) -> anyhow::Result<()> {
    let mut w = create(path)?;
    let mut write = || -> std::io::Result<()> {
        writeln!(w, "left,right,height,size")?;
        for m in &outcome.linkage {
            writeln!(w, "{},{},{:?},{}", m.left, m.right, m.height, m.size)?;
        }
        w.flush()
    };
    write().with_context(|| format!("could not write `{}`", path.display()))
}

/// The predecessor's metric names first, then everything else a run knows.
fn metrics_json(outcome: &Outcome, params: &Params) -> anyhow::Result<Vec<u8>> {
    let m = &outcome.metrics;
    let sizes: Map<String, Value> = m
        .cluster_sizes
        .iter()
        .enumerate()
        .map(|(i, s)| (i.to_string(), json!(s)))
        .collect();
    let mut value = json!({
        "n_samples": m.n_samples,
        "n_clusters": m.n_clusters,
        "n_encoded_features": m.n_encoded_features,
        "silhouette_score": m.silhouette_score,
        "cluster_sizes": sizes,
        "silhouette_sample_size": m.silhouette_sample_size,
        "silhouette_interval": m.silhouette_interval,
        "linkage": params.method,
        "metric": params.metric,
        "cut_height": m.cut_height,
        "k_choice": m.k_choice,
        "warnings": m.warnings,
        "segment_silhouettes": m.segment_silhouettes,
        "cophenetic_correlation": m.cophenetic_correlation,
        "cophenetic_sample_size": m.cophenetic_sample_size,
        "feature_config": outcome.feature_config,
        "k_sweep": outcome.k_sweep,
        "profiles": outcome.profiles,
    });
    // Only approximate runs carry the object, so its presence alone says "approximate".
    if let (Some(approximation), Value::Object(map)) = (&m.approximation, &mut value) {
        map.insert(
            "approximation".into(),
            serde_json::to_value(approximation).context("could not encode metrics.json")?,
        );
    }
    let mut out = serde_json::to_vec_pretty(&value).context("could not encode metrics.json")?;
    out.push(b'\n');
    Ok(out)
}

fn write_charts(dir: &Path, outcome: &Outcome, theme: Theme) -> anyhow::Result<()> {
    let opts = |format| RenderOptions {
        theme,
        format,
        width: 1200,
        height: 700,
        layout: Layout::Wide,
    };
    let names: Vec<String> = outcome.profiles.iter().map(|p| p.name.clone()).collect();
    let k = outcome.metrics.n_clusters;
    let cut = Some(outcome.metrics.cut_height);
    // On an approximate run the tree's leaves are micro-clusters: drawn from its top like any
    // large tree, coloured by each micro-cluster's segment.
    let leaf_labels = outcome.leaf_labels();
    let charts: Vec<(&str, Result<Vec<u8>, render::RenderError>)> = vec![
        (
            "dendrogram.png",
            render::dendrogram(&outcome.linkage, &leaf_labels, cut, &opts(Format::Png)),
        ),
        (
            "dendrogram.svg",
            render::dendrogram(&outcome.linkage, &leaf_labels, cut, &opts(Format::Svg)),
        ),
        (
            "sizes.svg",
            render::segment_sizes(&outcome.metrics.cluster_sizes, &names, &opts(Format::Svg)),
        ),
        (
            "map.svg",
            render::pca_map(&outcome.map, &outcome.labels, &opts(Format::Svg)),
        ),
    ];
    for (name, bytes) in charts {
        let bytes = bytes.map_err(|e| anyhow!("could not draw {name}: {e}"))?;
        write_file(&dir.join(name), &bytes)?;
    }
    if !outcome.silhouettes.is_empty() {
        let bytes =
            render::silhouette_plot(&outcome.silhouettes, &outcome.labels, &opts(Format::Svg))
                .map_err(|e| anyhow!("could not draw silhouette.svg: {e}"))?;
        write_file(&dir.join("silhouette.svg"), &bytes)?;
    }
    if let Some(sweep) = outcome.k_sweep.as_ref().filter(|s| !s.points.is_empty()) {
        let bytes = render::k_sweep_chart(sweep, k, &opts(Format::Svg))
            .map_err(|e| anyhow!("could not draw k_sweep.svg: {e}"))?;
        write_file(&dir.join("k_sweep.svg"), &bytes)?;
    }
    Ok(())
}

fn print_summary(file: &str, table: &Table, outcome: &Outcome, out: &Path) {
    let fc = &outcome.feature_config;
    let m = &outcome.metrics;
    let mut err = std::io::stderr().lock();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(
        err,
        "read {} rows x {} columns from {file}",
        render::thousands(table.n_rows),
        table.headers.len()
    );
    let _ = writeln!(err, "  numeric:     {}", list(&fc.numeric_features));
    let _ = writeln!(err, "  categorical: {}", list(&fc.categorical_features));
    if !fc.identifier_columns.is_empty() || !fc.constant_columns.is_empty() {
        let mut skipped = fc.identifier_columns.clone();
        skipped.extend(fc.constant_columns.iter().cloned());
        let _ = writeln!(
            err,
            "  not used:    {} (identifier or constant)",
            skipped.join(", ")
        );
    }
    for imp in &fc.imputed {
        let _ = writeln!(
            err,
            "  filled {} missing `{}` with {}",
            imp.count, imp.column, imp.value
        );
    }
    if let Some(c) = fc.pca_components {
        let kept: f64 = fc.explained_variance_ratio.iter().sum();
        let _ = writeln!(
            err,
            "  PCA: {c} components explain {:.1}% of the variance",
            kept * 100.0
        );
    }
    if let Some(a) = &m.approximation {
        let _ = writeln!(
            err,
            "approximate: more than {} rows, so {} ({} micro-clusters; {:.1}% of the variance lies inside them)",
            render::thousands(a.max_exact_rows),
            a.method.describe(),
            render::thousands(a.micro_clusters),
            a.within_share * 100.0
        );
    }
    let quality = match (
        m.silhouette_score,
        m.silhouette_interval,
        m.silhouette_sample_size,
    ) {
        (Some(s), Some([low, high]), Some(rows)) => format!(
            "silhouette {s:.3} (estimated on {} rows, 95% interval {low:.3} to {high:.3})",
            render::thousands(rows)
        ),
        (Some(s), _, _) => format!("silhouette {s:.3}"),
        (None, _, _) => "silhouette undefined".to_string(),
    };
    let _ = writeln!(
        err,
        "{} linkage ({}), {} segments, {quality}{}",
        fc.method,
        fc.metric,
        m.n_clusters,
        m.cophenetic_correlation
            .map_or(String::new(), |c| match m.cophenetic_sample_size {
                Some(rows) => format!(
                    ", cophenetic correlation {c:.3} (estimated on {} rows)",
                    render::thousands(rows)
                ),
                None => format!(", cophenetic correlation {c:.3}"),
            })
    );
    for w in &m.warnings {
        let _ = writeln!(err, "warning: {w}");
    }
    for p in &outcome.profiles {
        let _ = writeln!(
            err,
            "  {:>3}  {:>7} ({:>5.1}%)  {}",
            p.segment,
            render::thousands(p.size),
            p.share * 100.0,
            p.name
        );
    }
    if let Some(sweep) = &outcome.k_sweep {
        let _ = writeln!(
            err,
            "suggested number of segments: {}{}",
            sweep.suggested_k,
            sweep.sample_size.map_or(String::new(), |rows| format!(
                " (silhouettes estimated on {} rows)",
                render::thousands(rows)
            ))
        );
        if !sweep.reason.is_empty() {
            let _ = writeln!(err, "  why: {}", sweep.reason);
        }
    }
    let _ = writeln!(err, "wrote results to {}", out.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pca_and_kinds() {
        assert_eq!(parse_pca("3"), Ok(PcaSpec::Components(3)));
        assert_eq!(parse_pca("0.9"), Ok(PcaSpec::Variance(0.9)));
        assert!(parse_pca("1.5").is_err());
        assert_eq!(
            parse_kind("store=categorical"),
            Ok(("store".to_string(), ColumnUse::Categorical))
        );
        assert!(parse_kind("store").is_err());
    }
}
