//! The two tokens and what they grant, and the [`Gate`] that decides who a request comes from.

use std::net::IpAddr;
use std::num::NonZeroU32;

use axum::http::{HeaderMap, header};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AccessConfig;
use crate::error::AppError;
use crate::http::session::SessionKeys;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Access {
    /// `API_READ_TOKEN`: queries, GETs, subscriptions, downloads.
    Read,
    /// `API_TOKEN` (or no token configured): everything.
    Full,
}

impl Access {
    pub fn can_write(self) -> bool {
        self == Access::Full
    }

    /// How messages and the sign-in page name the token.
    pub fn token_name(self) -> &'static str {
        match self {
            Access::Read => "the read-only token (API_READ_TOKEN)",
            Access::Full => "the full-access token (API_TOKEN)",
        }
    }

    pub(crate) fn tag(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Full => "full",
        }
    }

    pub(crate) fn from_tag(tag: &str) -> Option<Access> {
        match tag {
            "read" => Some(Access::Read),
            "full" => Some(Access::Full),
            _ => None,
        }
    }

    /// The refusal when this access asks for a change.
    pub fn refuse_write(self) -> AppError {
        AppError::Forbidden(format!(
            "signed in with {}, which can only read; uploading, training, cancelling and \
             deleting need the full-access token (API_TOKEN)",
            self.token_name()
        ))
    }
}

/// What a request presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented {
    /// No token configured: everyone is [`Access::Full`].
    Open,
    /// A valid bearer token or session cookie.
    Granted(Access),
    /// An `Authorization` header with a token that is neither of the configured ones.
    WrongToken,
    /// No credentials (or an expired or tampered session cookie).
    Nothing,
}

impl Presented {
    pub fn access(self) -> Option<Access> {
        match self {
            Presented::Open => Some(Access::Full),
            Presented::Granted(a) => Some(a),
            Presented::WrongToken | Presented::Nothing => None,
        }
    }
}

/// A configured token, kept as its SHA-256 so comparisons take the same time whatever the input
/// (equal-length digests, compared with `subtle`), and a short fingerprint goes into sessions.
#[derive(Clone)]
struct Token {
    digest: [u8; 32],
}

impl Token {
    fn new(secret: &str) -> Token {
        Token {
            digest: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        self.digest.ct_eq(&given).into()
    }
}

/// Decides who a request comes from and whether it may go on: the tokens, the session key, the
/// origins allowed to call across sites, and the sign-in rate limit. One per process, in
/// `AppState`; everything in it derives from the configuration, so replicas agree.
pub struct Gate {
    full: Option<Token>,
    read: Option<Token>,
    pub(crate) sessions: SessionKeys,
    /// `PUBLIC_URL`'s origin, and `ALLOWED_ORIGINS`.
    pub(crate) public_origin: Option<String>,
    pub(crate) allowed_origins: Vec<String>,
    login_limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl Gate {
    pub fn new(config: &AccessConfig) -> Gate {
        let per_minute =
            NonZeroU32::new(config.login_attempts_per_minute).unwrap_or(NonZeroU32::MIN);
        Gate {
            full: config.api_token.as_deref().map(Token::new),
            read: config.api_read_token.as_deref().map(Token::new),
            sessions: SessionKeys::new(config),
            public_origin: config
                .public_url
                .as_ref()
                .map(|u| u.origin().ascii_serialization()),
            allowed_origins: config.allowed_origins.clone(),
            login_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// True when a token is configured, so doors need credentials.
    pub fn tokens_required(&self) -> bool {
        self.full.is_some()
    }

    /// The access a token grants, if it is one of the configured ones. Both are compared, so
    /// the time taken does not say which one (if either) was close.
    pub fn check_token(&self, given: &str) -> Option<Access> {
        let full = self.full.as_ref().is_some_and(|t| t.matches(given));
        let read = self.read.as_ref().is_some_and(|t| t.matches(given));
        if full {
            Some(Access::Full)
        } else if read {
            Some(Access::Read)
        } else {
            None
        }
    }

    /// Who sent `headers`: a bearer token first (scripts), else the session cookie (browsers).
    pub fn identify(&self, headers: &HeaderMap) -> Presented {
        if !self.tokens_required() {
            return Presented::Open;
        }
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            return match bearer(value.to_str().unwrap_or("")).and_then(|t| self.check_token(t)) {
                Some(access) => Presented::Granted(access),
                None => Presented::WrongToken,
            };
        }
        match self.sessions.read(headers, |a| self.fingerprint(a)) {
            Some(access) => Presented::Granted(access),
            None => Presented::Nothing,
        }
    }

    /// The access a websocket's `connection_init` payload grants (`{"Authorization": "Bearer
    /// <token>"}`), for browsers, which cannot set headers on a websocket.
    pub fn identify_payload(&self, payload: &serde_json::Value) -> Option<Access> {
        if !self.tokens_required() {
            return Some(Access::Full);
        }
        ["Authorization", "authorization"]
            .iter()
            .find_map(|k| payload.get(k).and_then(|v| v.as_str()))
            .and_then(bearer)
            .and_then(|t| self.check_token(t))
    }

    /// Identifies a token without revealing it: sessions carry it, so changing a token ends
    /// the sessions signed in with the old one even when `SESSION_SECRET` stays.
    pub(crate) fn fingerprint(&self, access: Access) -> Option<[u8; 8]> {
        let token = match access {
            Access::Full => self.full.as_ref(),
            Access::Read => self.read.as_ref(),
        }?;
        let mut out = [0u8; 8];
        out.copy_from_slice(&Sha256::digest(token.digest)[..8]);
        Some(out)
    }

    /// Counts a sign-in attempt from `ip`; false once it has used its attempts for the minute.
    pub fn allow_login_attempt(&self, ip: IpAddr) -> bool {
        // Forget addresses that have their full allowance back, so the map cannot grow forever.
        if self.login_limiter.len() > 10_000 {
            self.login_limiter.retain_recent();
        }
        self.login_limiter.check_key(&ip).is_ok()
    }
}

/// The token in `Bearer <token>` (scheme case-insensitive, as RFC 7235 says).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn gate(full: Option<&str>, read: Option<&str>) -> Gate {
        Gate::new(&AccessConfig {
            api_token: full.map(str::to_string),
            api_read_token: read.map(str::to_string),
            login_attempts_per_minute: 2,
            session_hours: 1,
            ..AccessConfig::default()
        })
    }

    fn with_auth(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn tokens_grant_their_access() {
        let g = gate(Some("abc"), Some("xyz"));
        assert_eq!(g.identify(&HeaderMap::new()), Presented::Nothing);
        assert_eq!(
            g.identify(&with_auth("Bearer abc")),
            Presented::Granted(Access::Full)
        );
        assert_eq!(
            g.identify(&with_auth("bearer xyz")),
            Presented::Granted(Access::Read)
        );
        for wrong in ["Bearer abd", "abc", "Bearer abcd", "Basic abc", "Bearer "] {
            assert_eq!(
                g.identify(&with_auth(wrong)),
                Presented::WrongToken,
                "{wrong}"
            );
        }
        let open = gate(None, None);
        assert_eq!(
            open.identify(&with_auth("Bearer anything")),
            Presented::Open
        );
    }

    #[test]
    fn websocket_payloads_carry_tokens() {
        let g = gate(Some("abc"), Some("xyz"));
        let payload = |v: &str| serde_json::json!({ "Authorization": v });
        assert_eq!(
            g.identify_payload(&payload("Bearer xyz")),
            Some(Access::Read)
        );
        assert_eq!(g.identify_payload(&payload("Bearer nope")), None);
        assert_eq!(g.identify_payload(&serde_json::json!({})), None);
    }

    #[test]
    fn sign_in_attempts_are_limited_per_address() {
        let g = gate(Some("abc"), None);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(g.allow_login_attempt(a));
        assert!(g.allow_login_attempt(a));
        assert!(!g.allow_login_attempt(a));
        assert!(
            g.allow_login_attempt(b),
            "another address has its own allowance"
        );
    }
}
