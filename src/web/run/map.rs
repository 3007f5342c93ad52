//! The map tab: every customer on the first two principal components, coloured by segment.

use askama::Template;

use crate::engine::render::Theme;
use crate::service::runs::Run;
use crate::web::format::filters;
use crate::web::render::page;
use crate::web::routes;

use super::head::RunHead;
use super::overview::{SizeRow, size_rows};

#[derive(Template)]
#[template(path = "pages/run_map.html", blocks = ["title", "content"])]
pub struct MapPage {
    run: RunHead,
    map: routes::ChartSrc,
    /// The legend with segment names (the chart itself only has room for numbers).
    segments: Vec<SizeRow>,
}
page!(MapPage);

pub fn page(head: RunHead, run: &Run) -> MapPage {
    MapPage {
        run: head,
        map: routes::chart(run, "map", Theme::Dark),
        segments: size_rows(run),
    }
}
