//! Static files compiled into the binary, so `segmentiq` is one file to deploy and works on
//! networks without internet access.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (path under /static, content type, bytes)
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/app.js"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/report.css"),
    ),
    (
        "report.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/report.js"),
    ),
    (
        "graphiql.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/graphiql.js"),
    ),
    (
        "graphiql-page.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/graphiql-page.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../static/favicon.svg"),
    ),
    (
        "vendor/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/htmx.min.js"),
    ),
    (
        "vendor/htmx-ext-sse.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/htmx-ext-sse.min.js"),
    ),
    (
        "vendor/graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/graphiql.min.js"),
    ),
    (
        "vendor/graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/vendor/graphiql.min.css"),
    ),
    (
        "vendor/react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/react.production.min.js"),
    ),
    (
        "vendor/react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/vendor/react-dom.production.min.js"),
    ),
    (
        "fonts/DejaVuSans.ttf",
        "font/ttf",
        include_bytes!("../../static/fonts/DejaVuSans.ttf"),
    ),
];

pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such static file").into_response(),
    }
}
