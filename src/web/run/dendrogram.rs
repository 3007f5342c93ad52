//! The dendrogram tab: the tree of merges as a zoomable chart.

use askama::Template;

use crate::engine::render::Theme;
use crate::service::datasets::Dataset;
use crate::service::runs::Run;
use crate::web::format;
use crate::web::render::page;
use crate::web::routes;

use super::head::RunHead;

#[derive(Template)]
#[template(path = "pages/run_dendrogram.html", blocks = ["title", "content"])]
pub struct DendrogramPage {
    run: RunHead,
    svg: routes::ChartSrc,
    n_samples: String,
    n_clusters: usize,
}
page!(DendrogramPage);

pub fn page(head: RunHead, run: &Run, dataset: &Dataset) -> DendrogramPage {
    DendrogramPage {
        run: head,
        svg: routes::chart(run, "dendrogram", Theme::Dark),
        n_samples: format::thousands(dataset.row_count),
        n_clusters: run.segment_count().unwrap_or(0).max(0) as usize,
    }
}
