//! Refusing changes that come from another site (CSRF, cross-site websocket hijacking).
//!
//! Browsers say where a request comes from: `Origin` on every POST and websocket upgrade, and
//! `Sec-Fetch-Site` on everything in current browsers. A state-changing request is refused when
//! either names another site, unless that origin is the configured `PUBLIC_URL` or one of
//! `ALLOWED_ORIGINS`. Requests with neither header (curl, scripts, server-side BI tools) are not
//! from a browser page and pass; their tokens are checked as usual.

use axum::http::{HeaderMap, header};

use crate::error::AppError;
use crate::http::Gate;

/// `Ok` when the request may change something as far as its origin goes.
pub fn check(gate: &Gate, headers: &HeaderMap) -> Result<(), AppError> {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("null"));
    if let Some(origin) = origin {
        if is_same_origin(gate, headers, origin) || is_allowed(gate, origin) {
            return Ok(());
        }
        return Err(foreign(origin));
    }
    let site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none");
    if matches!(site, "cross-site" | "same-site") {
        return Err(foreign(site));
    }
    Ok(())
}

/// True when `origin` is one of `ALLOWED_ORIGINS` (the dashboards that get CORS headers).
pub fn is_allowed(gate: &Gate, origin: &str) -> bool {
    gate.allowed_origins.iter().any(|o| o == origin)
}

/// The page's own origin: `PUBLIC_URL`, or the host the request was sent to.
fn is_same_origin(gate: &Gate, headers: &HeaderMap, origin: &str) -> bool {
    if gate.public_origin.as_deref() == Some(origin) {
        return true;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let (Some(origin_host), scheme) = (url.host_str(), url.scheme()) else {
        return false;
    };
    // `Url` drops the scheme's default port; so does a browser's Host header, mostly.
    let origin_authority = match url.port() {
        Some(port) => format!("{origin_host}:{port}"),
        None => origin_host.to_string(),
    };
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(host);
    host.eq_ignore_ascii_case(&origin_authority)
}

fn foreign(from: &str) -> AppError {
    AppError::Forbidden(format!(
        "refused a change sent from another site ({from}); SegmentIQ only accepts changes from \
         its own pages, from scripts, and from the origins listed in ALLOWED_ORIGINS"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccessConfig;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_the_own_site_and_allowed_origins_may_change_things() {
        let gate = Gate::new(&AccessConfig {
            allowed_origins: vec!["https://bi.example.com".into()],
            public_url: Some("https://segments.example.com".parse().unwrap()),
            login_attempts_per_minute: 1,
            ..AccessConfig::default()
        });
        let ok = |pairs: &[(&'static str, &str)]| check(&gate, &headers(pairs)).is_ok();
        assert!(ok(&[]), "no browser headers: a script");
        assert!(ok(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8000")
        ]));
        assert!(ok(&[
            ("host", "localhost:80"),
            ("origin", "http://localhost")
        ]));
        assert!(ok(&[
            ("host", "internal:8000"),
            ("origin", "https://segments.example.com")
        ]));
        assert!(ok(&[
            ("origin", "https://bi.example.com"),
            ("sec-fetch-site", "cross-site")
        ]));
        assert!(ok(&[("sec-fetch-site", "same-origin")]));
        assert!(ok(&[("sec-fetch-site", "none")]));
        assert!(!ok(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://evil.example")
        ]));
        assert!(!ok(&[
            ("host", "127.0.0.1:8000"),
            ("origin", "http://127.0.0.1:8001")
        ]));
        assert!(!ok(&[("host", "127.0.0.1:8000"), ("origin", "null")]));
        assert!(!ok(&[("sec-fetch-site", "cross-site")]));
        assert!(!ok(&[("sec-fetch-site", "same-site")]));
    }
}
