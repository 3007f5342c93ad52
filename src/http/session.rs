//! The pages' sign-in: an encrypted, authenticated cookie (axum-extra's `PrivateCookieJar`,
//! AES-GCM) holding the access level, an expiry and the token's fingerprint. Nothing is kept
//! in the process, so every replica with the same configuration accepts the same cookie, and a
//! cookie cannot be altered or extended without the key.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use sha2::{Digest, Sha256};

use crate::config::AccessConfig;
use crate::http::Access;

/// The cookie's name.
pub const COOKIE: &str = "segmentiq_session";

/// The session cookie's key and attributes.
pub struct SessionKeys {
    key: Key,
    lifetime: Duration,
    secure: bool,
}

impl SessionKeys {
    /// The key comes from `SESSION_SECRET`, or else from both tokens: a read-only user knows
    /// only one of them and cannot forge a full-access cookie. With neither there are no
    /// sessions to keep, and the key is random.
    pub fn new(config: &AccessConfig) -> SessionKeys {
        let material = match (&config.session_secret, &config.api_token) {
            (Some(secret), _) => Some(format!("secret\0{secret}")),
            (None, Some(full)) => Some(format!(
                "tokens\0{full}\0{}",
                config.api_read_token.as_deref().unwrap_or("")
            )),
            (None, None) => None,
        };
        let key = match material {
            Some(m) => {
                let master = Sha256::new()
                    .chain_update(b"segmentiq session key v1\0")
                    .chain_update(m.as_bytes())
                    .finalize();
                Key::derive_from(&master)
            }
            None => Key::generate(),
        };
        SessionKeys {
            key,
            // A year at most, so the expiry stays far from any overflow.
            lifetime: Duration::from_secs(config.session_hours.min(24 * 365) * 3600),
            secure: config.cookie_secure,
        }
    }

    /// The access of a valid, unexpired session in `headers` whose token `fingerprint` still
    /// names.
    pub fn read(
        &self,
        headers: &HeaderMap,
        fingerprint: impl Fn(Access) -> Option<[u8; 8]>,
    ) -> Option<Access> {
        let jar = PrivateCookieJar::from_headers(headers, self.key.clone());
        let cookie = jar.get(COOKIE)?;
        let mut parts = cookie.value().split('.');
        let (version, tag, expires, print) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let access = Access::from_tag(tag)?;
        let expires: u64 = expires.parse().ok()?;
        let fresh = version == "v1" && parts.next().is_none() && now() < expires;
        (fresh && fingerprint(access).is_some_and(|f| hex(&f) == print)).then_some(access)
    }

    /// A jar that sets a new session for `access`.
    pub fn start(&self, access: Access, fingerprint: [u8; 8]) -> PrivateCookieJar {
        let expires = now() + self.lifetime.as_secs();
        let value = format!("v1.{}.{expires}.{}", access.tag(), hex(&fingerprint));
        let cookie = Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .max_age(self.lifetime.try_into().unwrap_or_default());
        PrivateCookieJar::new(self.key.clone()).add(cookie)
    }

    /// A jar that removes the session cookie the browser sent in `headers` (a jar only
    /// removes cookies it was sent).
    pub fn end(&self, headers: &HeaderMap) -> PrivateCookieJar {
        PrivateCookieJar::from_headers(headers, self.key.clone())
            .remove(Cookie::build(COOKIE).path("/"))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;

    fn keys(hours: u64, secret: Option<&str>) -> SessionKeys {
        SessionKeys::new(&AccessConfig {
            api_token: Some("full-token".into()),
            session_secret: secret.map(str::to_string),
            session_hours: hours,
            ..AccessConfig::default()
        })
    }

    /// The `Cookie` request header a browser would send back after `jar` was set.
    fn sent_back(jar: PrivateCookieJar) -> HeaderMap {
        let response = (jar, ()).into_response();
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        let pair = set.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        headers
    }

    #[test]
    fn a_session_is_read_back_only_with_its_key_and_fingerprint() {
        let k = keys(1, None);
        let headers = sent_back(k.start(Access::Read, [7; 8]));
        assert_eq!(k.read(&headers, |_| Some([7; 8])), Some(Access::Read));
        assert_eq!(
            k.read(&headers, |_| Some([8; 8])),
            None,
            "the token changed"
        );
        // Another replica with the same configuration accepts it; another key does not.
        assert_eq!(
            keys(1, None).read(&headers, |_| Some([7; 8])),
            Some(Access::Read)
        );
        let other = keys(1, Some("a-session-secret-of-at-least-32-characters"));
        assert_eq!(other.read(&headers, |_| Some([7; 8])), None);
    }

    #[test]
    fn an_expired_session_is_refused() {
        let k = keys(0, None);
        let headers = sent_back(k.start(Access::Full, [1; 8]));
        assert_eq!(k.read(&headers, |_| Some([1; 8])), None);
    }
}
