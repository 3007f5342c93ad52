//! Closed sets of names kept in `TEXT` columns: a run's status, stage, linkage and metric.
//!
//! Each set is listed once in Rust (the type's `ALL`) and once in a migration's `CHECK`
//! constraint (`tests/migrations.rs` checks the two agree), and is typed from the row to the
//! templates. A stored name this version does not know (a newer version wrote it, or someone
//! edited the row) fails the read with a message naming the column's value; the error becomes
//! `INTERNAL` in every interface, because it is a fault of the stored row, not of the request.
//!
//! The engine's enums reach SQL through [`Named`], so the engine stays free of diesel.

use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

use crate::engine::{Method, Metric, Stage};

/// A value stored by its name.
pub trait Name: Copy + fmt::Debug + 'static {
    /// What the column holds, for messages ("run status").
    const WHAT: &'static str;
    /// Every value, in order.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    /// The value called `name` exactly (stored names are never trimmed or case-folded).
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

/// Writes `value`'s name; for the `ToSql` of every [`Name`].
pub fn write_name<T: Name>(value: T, out: &mut Output<'_, '_, Pg>) -> serialize::Result {
    out.write_all(value.name().as_bytes())?;
    Ok(IsNull::No)
}

/// Reads a stored name; for the `FromSql` of every [`Name`].
pub fn read_name<T: Name>(bytes: PgValue<'_>) -> deserialize::Result<T> {
    let stored = std::str::from_utf8(bytes.as_bytes())?;
    T::from_name(stored).ok_or_else(|| {
        let known: Vec<&str> = T::ALL.iter().map(|v| v.name()).collect();
        format!(
            "unknown {} `{stored}` stored; this version knows {}",
            T::WHAT,
            known.join(", ")
        )
        .into()
    })
}

/// An engine value in a `TEXT` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct Named<T>(pub T);

impl<T: Name> ToSql<Text, Pg> for Named<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        write_name(self.0, out)
    }
}

impl<T: Name> FromSql<Text, Pg> for Named<T> {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        read_name(bytes).map(Named)
    }
}

impl Name for Method {
    const WHAT: &'static str = "linkage";
    const ALL: &'static [Self] = &Method::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Name for Metric {
    const WHAT: &'static str = "metric";
    const ALL: &'static [Self] = &Metric::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Name for Stage {
    const WHAT: &'static str = "run stage";
    const ALL: &'static [Self] = &Stage::ALL;
    fn name(self) -> &'static str {
        self.as_str()
    }
}
