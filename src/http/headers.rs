//! Headers every response carries (tower-http's `SetResponseHeaderLayer`), and CORS for the
//! dashboards in `ALLOWED_ORIGINS` (tower-http's `CorsLayer`).

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// Scripts only from `/static` (no inline script anywhere, so an injected `<script>` cannot
/// run); styles may be inline because the templates size bars with `style="width: ..."`.
/// No framing (clickjacking), no plugins, forms post only to this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds the security headers (unless a handler set its own) and, when origins are allowed,
/// CORS.
pub fn layer<S: Clone + Send + Sync + 'static>(router: Router<S>, allowed: &[String]) -> Router<S> {
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let router = router
        .layer(set(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        .layer(set(header::REFERRER_POLICY, "same-origin"));
    let origins: Vec<HeaderValue> = allowed
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return router;
    }
    // Dashboards authenticate with `Authorization: Bearer`, never with the pages' cookie, so
    // no credentials mode.
    router.layer(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-apollo-operation-name"),
            ])
            .expose_headers([header::LOCATION, header::CONTENT_DISPOSITION])
            .max_age(Duration::from_secs(3600)),
    )
}
