//! Charts of a finished run, rendered on request from what the run stored (nothing is kept as
//! files).

use crate::app::AppState;
use crate::db;
use crate::engine::render::{self, Format, Layout, RenderOptions, Theme};
use crate::error::{AppError, AppResult};
use crate::service::runs::{self, RunStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chart {
    Dendrogram,
    Silhouette,
    KSweep,
    Map,
    Sizes,
}

impl Chart {
    pub fn parse(s: &str) -> Option<Chart> {
        Some(match s {
            "dendrogram" => Chart::Dendrogram,
            "silhouette" => Chart::Silhouette,
            "k-sweep" | "k_sweep" => Chart::KSweep,
            "map" => Chart::Map,
            "sizes" => Chart::Sizes,
            _ => return None,
        })
    }
}

/// A chart's look as a query string asks for it: `theme`, `light` or `dark` (`default` when not
/// sent), and `layout`, `wide` (the default) or `narrow` (phones). Anything else is refused,
/// naming the values accepted, in the same words on the pages and the API.
pub fn look(
    theme: Option<&str>,
    layout: Option<&str>,
    default: Theme,
) -> AppResult<(Theme, Layout)> {
    let theme = match theme {
        None => default,
        Some("light") => Theme::Light,
        Some("dark") => Theme::Dark,
        Some(other) => {
            return Err(AppError::BadInput(format!(
                "unknown theme `{other}`; use light or dark"
            )));
        }
    };
    let layout = match layout {
        None | Some("wide") => Layout::Wide,
        Some("narrow") => Layout::Narrow,
        Some(other) => {
            return Err(AppError::BadInput(format!(
                "unknown layout `{other}`; use wide or narrow"
            )));
        }
    };
    Ok((theme, layout))
}

pub async fn render(
    state: &AppState,
    run_id: i64,
    chart: Chart,
    format: Format,
    theme: Theme,
    layout: Layout,
) -> AppResult<Vec<u8>> {
    let run = runs::get(state, run_id).await?;
    if run.status != RunStatus::Succeeded {
        return Err(AppError::Conflict(format!(
            "run {run_id} is {}; charts exist once it has succeeded",
            run.status.as_str()
        )));
    }
    let mut conn = state.conn().await?;
    let (linkage, points) = db::runs::artifacts(&mut conn, run_id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("run {run_id}")))?;
    let assigned = db::assignments::labels(&mut conn, run_id).await?;
    drop(conn);
    let labels: Vec<usize> = assigned.iter().map(|(l, _)| *l as usize).collect();
    let silhouettes: Vec<f64> = assigned.iter().map(|(_, s)| s.unwrap_or(0.0)).collect();
    let names: Vec<String> = run.profiles.iter().map(|p| p.name.clone()).collect();
    let k = run.segment_count().unwrap_or(1).max(1) as usize;
    let (width, height) = match (layout, chart) {
        (Layout::Wide, Chart::Dendrogram) => (1100, 560),
        (Layout::Wide, _) => (900, 520),
        // A phone's chart is as wide as the phone and as tall as its content needs.
        (Layout::Narrow, Chart::Dendrogram) => (render::NARROW_WIDTH, 420),
        (Layout::Narrow, Chart::Silhouette) => (render::NARROW_WIDTH, 440),
        (Layout::Narrow, Chart::KSweep) => (render::NARROW_WIDTH, 620),
        (Layout::Narrow, Chart::Map) => (render::NARROW_WIDTH, render::map_narrow_height(k)),
        (Layout::Narrow, Chart::Sizes) => {
            (render::NARROW_WIDTH, render::sizes_narrow_height(&names))
        }
    };
    let opts = RenderOptions {
        theme,
        format,
        width,
        height,
        layout,
    };
    let rendered = tokio::task::spawn_blocking(move || {
        match chart {
            Chart::Dendrogram => {
                let z = runs::decode_linkage(&linkage.unwrap_or_default());
                let cut = run.metrics.as_ref().map(|m| m.cut_height);
                // An approximate run's leaves are micro-clusters, not customers, and which
                // customers each holds is not stored: its tree is drawn uncoloured.
                let leaf_labels: &[usize] = if z.len() + 1 == labels.len() {
                    &labels
                } else {
                    &[]
                };
                render::dendrogram(&z, leaf_labels, cut, &opts)
            }
            Chart::Silhouette
                if run
                    .metrics
                    .as_ref()
                    .is_some_and(|m| m.silhouette_sample_size.is_some()) =>
            {
                return Err(AppError::not_found(format!(
                    "per-customer silhouettes for run {run_id} (its silhouette was estimated on a sample)"
                )));
            }
            Chart::Silhouette => render::silhouette_plot(&silhouettes, &labels, &opts),
            Chart::KSweep => match &run.k_sweep {
                Some(sweep) => render::k_sweep_chart(sweep, k, &opts),
                None => return Err(AppError::not_found(format!("a k-sweep for run {run_id}"))),
            },
            Chart::Map => {
                let points = runs::decode_points(&points.unwrap_or_default());
                render::pca_map(&points, &labels, &opts)
            }
            Chart::Sizes => {
                let sizes = run
                    .metrics
                    .as_ref()
                    .map(|m| m.cluster_sizes.clone())
                    .unwrap_or_default();
                render::segment_sizes(&sizes, &names, &opts)
            }
        }
        .map_err(|e| AppError::Internal(anyhow::anyhow!("rendering run {run_id}: {e}")))
    })
    .await??;
    Ok(rendered)
}
