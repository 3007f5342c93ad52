//! What every HTTP door shares, whichever interface it belongs to (GraphQL, REST, pages): who
//! the caller is ([`access`]), the pages' sign-in cookie ([`session`]), the cross-site check
//! ([`origin`]), the table of routes with the access each needs ([`doors`]), the security
//! headers every response carries ([`headers`]), the reading of uploaded files ([`upload`]) and
//! file downloads ([`download`]).
//!
//! The model, in one place: `API_TOKEN` gives full access, `API_READ_TOKEN` read-only access.
//! Scripts send `Authorization: Bearer <token>`; browsers sign in at `/login` and carry an
//! encrypted, expiring session cookie that every replica with the same configuration accepts.
//! With no token set, everyone has full access. Whatever the tokens, a request that changes
//! something and comes from another site is refused.

pub mod access;
pub mod doors;
pub mod download;
pub mod headers;
pub mod origin;
pub mod session;
pub mod upload;

pub use access::{Access, Gate};
pub use doors::{Door, DoorInfo, Routes, Surface};
