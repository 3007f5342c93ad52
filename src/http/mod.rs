//! What every HTTP door shares, whichever interface it belongs to (GraphQL, REST, pages): who
//! the caller is ([`access`]), the pages' sign-in cookie ([`session`]), the cross-site check
//! ([`origin`]), the table of routes with the access each needs ([`doors`]), the security
//! headers every response carries ([`headers`]), query-string parameters ([`query`]), the reading
//! of uploaded files ([`upload`]) and file downloads ([`download`]).
//!
//! The model, in one place: `API_TOKEN` gives full access, `API_READ_TOKEN` read-only access.
//! Scripts send `Authorization: Bearer <token>`; browsers sign in at `/login` and carry an
//! encrypted, expiring session cookie that every replica with the same configuration accepts.
//! With no token set, everyone has full access. Whatever the tokens, a request that changes
//! something and comes from another site is refused.

pub mod access;
pub mod doors;
pub mod download;
pub mod form;
pub mod headers;
pub mod origin;
pub mod query;
pub mod session;
pub mod upload;

pub use access::{Access, Gate};
pub use doors::{Door, DoorInfo, Refusal, Routes, Surface};
pub use form::Form;
pub use query::Query;

/// What a JSON value is, for messages that say what was sent instead of what is wanted.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a JSON boolean",
        Value::Number(_) => "a JSON number",
        Value::String(_) => "a JSON string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object",
    }
}
