//! Operations every interface shares: GraphQL resolvers, REST handlers and web pages call these
//! and only map their results. Business rules and limits live here, SQL lives in `db`.

pub mod assignments;
pub mod charts;
pub mod datasets;
pub mod page;
pub mod progress;
pub mod runs;
pub mod scorings;

pub use page::{Numbered, Page, PageRequest};
