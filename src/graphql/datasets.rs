//! Datasets: upload, list, read, delete.

use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject, Upload};
use chrono::{DateTime, Utc};

use super::ids;
use super::runs::RunObject;
use super::types::{Conn, connection};
use crate::engine::ingest::{ColumnKind, ColumnProfile};
use crate::error::AppError;
use crate::service::{self, PageRequest, datasets::Dataset};

/// An uploaded customer table.
pub struct DatasetObject(pub Dataset);

#[Object(name = "Dataset")]
impl DatasetObject {
    async fn id(&self) -> ID {
        ids::to_id(self.0.id)
    }
    /// Display name (defaults to the file name without `.csv`).
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The uploaded file's name.
    async fn filename(&self) -> &str {
        &self.0.filename
    }
    async fn byte_size(&self) -> i64 {
        self.0.byte_size
    }
    /// Data rows (the header is not counted).
    async fn row_count(&self) -> i64 {
        self.0.row_count
    }
    /// Every column with its detected kind and summary.
    async fn columns(&self) -> Vec<ColumnObject> {
        self.0
            .columns
            .iter()
            .cloned()
            .map(ColumnObject::from)
            .collect()
    }
    /// The first rows as parsed (numbers as numbers, missing cells as null).
    async fn preview(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10, validator(minimum = 0, maximum = 100))] limit: i32,
    ) -> async_graphql::Result<Vec<async_graphql::Json<serde_json::Value>>> {
        let rows = service::datasets::preview(ids::state(ctx)?, self.0.id, limit as usize).await?;
        Ok(rows.into_iter().map(async_graphql::Json).collect())
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Runs on this dataset, newest first.
    #[graphql(complexity = "super::types::page_cost(first, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<RunObject>> {
        let page = PageRequest {
            first: super::types::first(first)?,
            after,
        };
        let query = service::runs::RunQuery {
            dataset_id: Some(self.0.id),
            status: None,
        };
        let runs = service::runs::list(ids::state(ctx)?, &query, &page).await?;
        Ok(connection(runs, RunObject))
    }
}

/// How a column is used.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ColumnKind")]
pub enum ColumnKindGql {
    /// Numbers: imputed with the median and standardized.
    Numeric,
    /// Text values: imputed with the most frequent value and one-hot encoded.
    Categorical,
    /// Distinct on every row (such as `customer_id`): kept in the output, not a feature.
    Identifier,
    /// A single value: carries no information, left out.
    Constant,
}

impl From<ColumnKind> for ColumnKindGql {
    fn from(kind: ColumnKind) -> Self {
        match kind {
            ColumnKind::Numeric => ColumnKindGql::Numeric,
            ColumnKind::Categorical => ColumnKindGql::Categorical,
            ColumnKind::Identifier => ColumnKindGql::Identifier,
            ColumnKind::Constant => ColumnKindGql::Constant,
        }
    }
}

/// A column of a dataset.
#[derive(SimpleObject)]
#[graphql(name = "Column", complex)]
pub struct ColumnObject {
    name: String,
    kind: ColumnKindGql,
    /// Empty or NA-like cells.
    missing: i64,
    /// Distinct non-missing values.
    distinct: i64,
    #[graphql(skip)]
    profile: ColumnProfile,
}

#[ComplexObject]
impl ColumnObject {
    /// Summary of a numeric column.
    async fn numeric(&self) -> Option<NumericSummaryObject> {
        self.profile.numeric.as_ref().map(|n| NumericSummaryObject {
            min: n.min,
            max: n.max,
            mean: n.mean,
            median: n.median,
            std: n.std,
        })
    }
    /// How the column's numbers were written, when that was more than `1234.5` (a decimal
    /// comma, thousands separators, an ambiguity and what was assumed), or why number-like
    /// cells stayed text. Null for plain columns.
    async fn number_format(&self) -> Option<NumberFormatObject> {
        self.profile
            .number_format
            .as_ref()
            .map(|f| NumberFormatObject {
                decimal_separator: f.decimal_separator.clone(),
                thousands_separator: f.thousands_separator.clone(),
                ambiguous: f.ambiguous,
                note: f.note.clone(),
            })
    }
    /// The most frequent values with their counts.
    async fn top_values(&self) -> Vec<ValueCountObject> {
        self.profile
            .top_values
            .iter()
            .map(|v| ValueCountObject {
                value: v.value.clone(),
                count: v.count as i64,
            })
            .collect()
    }
}

impl From<ColumnProfile> for ColumnObject {
    fn from(profile: ColumnProfile) -> Self {
        ColumnObject {
            name: profile.name.clone(),
            kind: profile.kind.into(),
            missing: profile.missing as i64,
            distinct: profile.distinct as i64,
            profile,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "NumericSummary")]
pub struct NumericSummaryObject {
    min: f64,
    max: f64,
    mean: f64,
    median: f64,
    /// Population standard deviation.
    std: f64,
}

/// How a column's numbers were read (see the README's "How the numbers are made").
#[derive(SimpleObject)]
#[graphql(name = "NumberFormat")]
pub struct NumberFormatObject {
    /// The decimal separator the column was read with, `.` or `,`; null when it stayed text.
    decimal_separator: Option<String>,
    /// The thousands separator its cells use, if any.
    thousands_separator: Option<String>,
    /// The cells alone do not say which separator is the decimal one; `note` says what was
    /// assumed.
    ambiguous: bool,
    /// One sentence with an example cell and its line.
    note: String,
}

#[derive(SimpleObject)]
#[graphql(name = "ValueCount")]
pub struct ValueCountObject {
    value: String,
    count: i64,
}

#[derive(Default)]
pub struct DatasetQuery;

#[Object]
impl DatasetQuery {
    /// Datasets, newest first.
    #[graphql(complexity = "super::types::page_cost(first, child_complexity)")]
    async fn datasets(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<DatasetObject>> {
        let page = PageRequest {
            first: super::types::first(first)?,
            after,
        };
        let datasets = service::datasets::list(ids::state(ctx)?, &page).await?;
        Ok(connection(datasets, DatasetObject))
    }

    async fn dataset(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<DatasetObject> {
        let id = ids::parse(&id, "dataset")?;
        Ok(DatasetObject(
            service::datasets::get(ids::state(ctx)?, id).await?,
        ))
    }
}

#[derive(Default)]
pub struct DatasetMutation;

#[Object]
impl DatasetMutation {
    /// Uploads a CSV (GraphQL multipart request). The file is parsed and profiled; a file that
    /// does not parse is refused with the line and column at fault, and nothing is stored.
    async fn upload_dataset(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        name: Option<String>,
    ) -> async_graphql::Result<DatasetObject> {
        let state = ids::state(ctx)?;
        let upload = upload_of(ctx, file, name)?;
        Ok(DatasetObject(
            service::datasets::upload(state, upload).await?,
        ))
    }

    /// Deletes a dataset with its rows, runs and assignments. Returns the deleted id.
    async fn delete_dataset(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let key = ids::parse(&id, "dataset")?;
        service::datasets::delete(ids::state(ctx)?, key).await?;
        Ok(id)
    }
}

/// The file of a GraphQL multipart request as an upload, for every mutation that takes a CSV.
pub fn upload_of(
    ctx: &Context<'_>,
    file: Upload,
    name: Option<String>,
) -> async_graphql::Result<service::datasets::Upload> {
    let limit = ids::state(ctx)?.config.limits.max_upload_bytes;
    let value = file.value(ctx)?;
    let filename = value.filename.clone();
    let bytes = read_limited(value.into_read(), &filename, limit)?;
    Ok(service::datasets::Upload {
        name,
        filename,
        bytes,
    })
}

/// Reads an uploaded part (already spooled by the multipart parser, which enforces the same
/// limit while streaming) into memory.
fn read_limited(
    read: impl std::io::Read,
    filename: &str,
    limit: usize,
) -> Result<Vec<u8>, AppError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    read.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AppError::BadInput(format!("could not read {filename}: {e}")))?;
    if bytes.len() > limit {
        return Err(service::datasets::too_large(filename, limit));
    }
    Ok(bytes)
}
