//! Queries on `segment_labels`: the analyst's names and notes for a run's segments.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::segment_labels;

/// A segment's name and note as stored; `None` keeps the generated name, or no note.
#[derive(Queryable, Selectable, Insertable, Clone, Debug, PartialEq)]
#[diesel(table_name = segment_labels)]
pub struct SegmentLabelRow {
    pub run_id: i64,
    pub segment: i32,
    pub name: Option<String>,
    pub note: Option<String>,
}

/// The labels of these runs, by run and segment.
pub async fn of_runs(
    conn: &mut AsyncPgConnection,
    run_ids: &[i64],
) -> QueryResult<Vec<SegmentLabelRow>> {
    segment_labels::table
        .filter(segment_labels::run_id.eq_any(run_ids))
        .order((segment_labels::run_id, segment_labels::segment))
        .select(SegmentLabelRow::as_select())
        .load(conn)
        .await
}

/// Stores a segment's label, replacing the one before; a label with neither name nor note is
/// removed (the segment is shown with its generated name again).
pub async fn set(conn: &mut AsyncPgConnection, label: &SegmentLabelRow) -> QueryResult<()> {
    let key = segment_labels::table.find((label.run_id, label.segment));
    if label.name.is_none() && label.note.is_none() {
        diesel::delete(key).execute(conn).await?;
        return Ok(());
    }
    diesel::insert_into(segment_labels::table)
        .values(label)
        .on_conflict((segment_labels::run_id, segment_labels::segment))
        .do_update()
        .set((
            segment_labels::name.eq(&label.name),
            segment_labels::note.eq(&label.note),
            segment_labels::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}
