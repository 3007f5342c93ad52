//! Runs: queue one (`trainRun`), read, list, cancel, delete.

use async_graphql::{Context, Enum, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::datasets::DatasetObject;
use super::ids;
use super::results::{FeatureConfigObject, KSweepObject, SegmentObject};
use super::types::{Conn, connection};
use crate::engine::Stage;
use crate::service::runs::{
    Draft, Run, RunQuery as ServiceRunQuery, RunStatus, TrainRequest, Vocabulary,
};
use crate::service::{self, PageRequest};

/// How the distance between two segments is measured when merging them.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "crate::engine::Method")]
pub enum Linkage {
    /// Merges the pair that increases within-segment variance least: compact, even segments.
    Ward,
    /// Largest distance between members: well-separated segments.
    Complete,
    /// Mean distance between members: a general-purpose middle ground.
    Average,
    /// Smallest distance between members: finds chains and outliers.
    Single,
    /// WPGMA: like average, weighting each merged side equally.
    Weighted,
    /// Distance between segment centroids (Euclidean only).
    Centroid,
    /// WPGMC: centroid linkage with equal weights (Euclidean only).
    Median,
}

/// Distance between two customers' encoded rows.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "DistanceMetric", remote = "crate::engine::Metric")]
pub enum MetricGql {
    Euclidean,
    Manhattan,
    Cosine,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "RunStatus", remote = "crate::db::runs::RunStatus")]
pub enum RunStatusGql {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// How a column is used, whatever kind it was detected as.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "ColumnUse", remote = "crate::service::runs::ColumnUse")]
pub enum ColumnUseGql {
    /// Scaled and used as a number.
    Numeric,
    /// Each value its own yes/no feature.
    Categorical,
    /// Left out of the features.
    Ignore,
}

/// A column whose detected kind the run overrides.
#[derive(InputObject, SimpleObject)]
#[graphql(input_name = "ColumnKindInput", name = "ColumnKindOverride")]
pub struct ColumnKindGql {
    pub column: String,
    pub kind: ColumnUseGql,
}

/// What to cluster and how.
#[derive(InputObject)]
pub struct TrainRunInput {
    pub dataset_id: ID,
    #[graphql(default_with = "Linkage::Ward")]
    pub linkage: Linkage,
    /// Number of segments (2 to the number of rows). Give this, `autoClusters` or
    /// `distanceThreshold`.
    pub n_clusters: Option<i32>,
    /// Let the run choose the number of segments (the CLI's and REST API's `auto`): it cuts at
    /// the k sweep's suggestion and records why in `metrics.kChoice`.
    #[graphql(default = false)]
    pub auto_clusters: bool,
    /// Cut the tree at this merge height instead of at a number of segments.
    pub distance_threshold: Option<f64>,
    /// Distance between customers; ward, centroid and median need euclidean.
    #[graphql(default_with = "MetricGql::Euclidean")]
    pub metric: MetricGql,
    /// Reduce dimensions with PCA before clustering. Left out, PCA runs when `pcaComponents`
    /// or `pcaVariance` is given; `false` with either of them is refused.
    pub use_pca: Option<bool>,
    /// PCA components to keep (default: enough for 95% of the variance).
    pub pca_components: Option<i32>,
    /// Fraction of variance PCA keeps (0..1], when `pcaComponents` is not given.
    pub pca_variance: Option<f64>,
    /// Only these columns as features (default: every numeric and categorical column).
    pub features: Option<Vec<String>>,
    /// Leave these columns out.
    #[graphql(default)]
    pub exclude: Vec<String>,
    /// Override detected column kinds: make a column numeric or categorical, or ignore it
    /// (e.g. a numeric store code that should be categories, or a column taken for an
    /// identifier).
    #[graphql(default)]
    pub kinds: Vec<ColumnKindGql>,
}

/// A clustering run.
pub struct RunObject(pub Run);

#[Object(name = "Run")]
impl RunObject {
    async fn id(&self) -> ID {
        ids::to_id(self.0.id)
    }
    async fn dataset_id(&self) -> ID {
        ids::to_id(self.0.dataset_id)
    }
    /// The dataset, or null once it has been deleted.
    async fn dataset(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<DatasetObject>> {
        match service::datasets::get(ids::state(ctx)?, self.0.dataset_id).await {
            Ok(d) => Ok(Some(DatasetObject(d))),
            Err(crate::error::AppError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
    async fn linkage(&self) -> Linkage {
        self.0.method.into()
    }
    async fn metric(&self) -> MetricGql {
        self.0.metric.into()
    }
    /// Segments asked for (null when cut by height) .
    async fn n_clusters(&self) -> Option<i32> {
        self.0.n_clusters
    }
    /// The run chooses its number of segments; the count it chose is `metrics.nClusters`.
    async fn auto_clusters(&self) -> bool {
        self.0.auto_clusters
    }
    async fn distance_threshold(&self) -> Option<f64> {
        self.0.distance_threshold
    }
    async fn use_pca(&self) -> bool {
        self.0.use_pca
    }
    async fn pca_components(&self) -> Option<i32> {
        self.0.pca_components
    }
    /// Share of variance PCA was asked to keep (null when `pcaComponents` was given, or PCA
    /// kept its default 95%).
    async fn pca_variance(&self) -> Option<f64> {
        self.0.pca_variance
    }
    /// Columns chosen as features (null: all usable columns).
    async fn features(&self) -> Option<&Vec<String>> {
        self.0.features.include.as_ref()
    }
    async fn excluded(&self) -> &Vec<String> {
        &self.0.features.exclude
    }
    /// Column kinds this run overrides.
    async fn kinds(&self) -> Vec<ColumnKindGql> {
        self.0
            .features
            .kinds
            .iter()
            .map(|(column, used)| ColumnKindGql {
                column: column.clone(),
                kind: (*used).into(),
            })
            .collect()
    }
    async fn status(&self) -> RunStatusGql {
        self.0.status.into()
    }
    /// Current engine stage while running.
    async fn stage(&self) -> Option<&str> {
        self.0.stage.map(Stage::as_str)
    }
    /// Overall progress, 0 to 1.
    async fn progress(&self) -> f64 {
        self.0.progress
    }
    /// Why the run failed, in words a person can act on.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// Set when the run's stored results cannot be read (a run stored by a faulty version):
    /// what is missing. Its metrics, segments or k sweep are then null or empty; train it again.
    async fn damage(&self) -> Option<&str> {
        self.0.damage.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// Which columns became features and how.
    async fn feature_config(&self) -> Option<FeatureConfigObject> {
        self.0.feature_config.as_ref().map(Into::into)
    }
    async fn metrics(&self) -> Option<MetricsObject> {
        self.0.metrics.as_ref().map(|m| MetricsObject {
            n_samples: m.n_samples as i64,
            n_clusters: m.n_clusters as i64,
            n_encoded_features: m.n_encoded_features as i64,
            silhouette_score: m.silhouette_score,
            cophenetic_correlation: m.cophenetic_correlation,
            cophenetic_sample_size: m.cophenetic_sample_size.map(|n| n as i64),
            silhouette_sample_size: m.silhouette_sample_size.map(|n| n as i64),
            silhouette_interval: m.silhouette_interval.map(Vec::from),
            approximation: m.approximation.as_ref().map(|a| ApproximationObject {
                method: a.method.as_str().to_string(),
                description: a.method.describe().to_string(),
                micro_clusters: a.micro_clusters as i64,
                max_exact_rows: a.max_exact_rows as i64,
                within_share: a.within_share,
            }),
            cut_height: m.cut_height,
            k_choice: m.k_choice.clone(),
            warnings: m.warnings.clone(),
            cluster_sizes: m
                .cluster_sizes
                .iter()
                .enumerate()
                .map(|(cluster, &size)| ClusterSize {
                    cluster: cluster as i32,
                    size: size as i64,
                    silhouette: m.segment_silhouettes.get(cluster).copied(),
                })
                .collect(),
        })
    }
    /// Segment profiles, largest segment first.
    async fn segments(&self) -> Vec<SegmentObject> {
        let run = &self.0;
        run.profiles
            .iter()
            .map(|p| SegmentObject::of(run, p))
            .collect()
    }
    /// Silhouette, within-segment sum of squares and segment stability for k = 2..12, and the
    /// suggested count with the reason.
    async fn k_sweep(&self) -> Option<KSweepObject> {
        self.0.k_sweep.as_ref().map(Into::into)
    }
    /// Seconds spent per engine stage.
    async fn timings(&self) -> Option<Json<&serde_json::Value>> {
        self.0.timings.as_ref().map(Json)
    }
    /// The dendrogram as PNG, rendered on request (`.svg` for SVG; `?theme=light` for paper).
    async fn dendrogram_url(&self) -> Option<String> {
        (self.0.status == RunStatus::Succeeded)
            .then(|| format!("/api/v1/clustering/runs/{}/dendrogram", self.0.id))
    }
    async fn dendrogram_svg_url(&self) -> Option<String> {
        (self.0.status == RunStatus::Succeeded)
            .then(|| format!("/api/v1/clustering/runs/{}/dendrogram.svg", self.0.id))
    }
    /// Uploads of new customers placed in this run's segments (`scoreCustomers`), newest first.
    async fn scorings(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::scorings::ScoringObject>> {
        let list = crate::service::scorings::of_run(ids::state(ctx)?, self.0.id).await?;
        Ok(list
            .into_iter()
            .map(super::scorings::ScoringObject)
            .collect())
    }
}

/// The predecessor's metrics, plus more.
#[derive(SimpleObject)]
#[graphql(name = "Metrics")]
pub struct MetricsObject {
    n_samples: i64,
    n_clusters: i64,
    /// Columns after one-hot encoding (and before PCA).
    n_encoded_features: i64,
    /// Mean silhouette (-1..1; above 0.5 is good), as scikit-learn's `silhouette_score`.
    silhouette_score: Option<f64>,
    /// How faithfully the tree keeps pairwise distances (0..1).
    cophenetic_correlation: Option<f64>,
    /// Null when the cophenetic correlation is exact; otherwise the number of rows it was
    /// estimated on (tables above 20,000 rows).
    cophenetic_sample_size: Option<i64>,
    /// Null when the silhouette is exact; otherwise the number of customers it was estimated
    /// on (approximate runs of more than 10,000 customers).
    silhouette_sample_size: Option<i64>,
    /// With an estimated silhouette: its 95% interval, [low, high].
    silhouette_interval: Option<Vec<f64>>,
    /// Null on exact runs. Set when the table had more rows than the server's MAX_EXACT_ROWS:
    /// customers were grouped into micro-clusters first, so the run is approximate.
    approximation: Option<ApproximationObject>,
    /// Merge height at which the tree was cut.
    cut_height: f64,
    /// Set when the run chose its number of segments (`nClusters: "auto"`): why this many, in
    /// the words of `kSweep.reason`. Null when the count or height was given.
    k_choice: Option<String>,
    /// Why the segments may not be worth acting on although the run succeeded (segments of
    /// one customer, a cut at height 0). Empty when there is nothing to warn about.
    warnings: Vec<String>,
    cluster_sizes: Vec<ClusterSize>,
}

/// How an approximate run was approximated.
#[derive(SimpleObject)]
#[graphql(name = "Approximation")]
pub struct ApproximationObject {
    /// `kmeans_ward`: k-means micro-clusters, then Ward on them weighted by their sizes.
    method: String,
    /// The method in words.
    description: String,
    /// Micro-clusters the tree was built on (its leaves).
    micro_clusters: i64,
    /// Runs on tables with more rows than this are approximate.
    max_exact_rows: i64,
    /// Share of the total sum of squares inside micro-clusters (0..1): what the tree cannot
    /// see.
    within_share: f64,
}

#[derive(SimpleObject)]
pub struct ClusterSize {
    cluster: i32,
    size: i64,
    /// Mean silhouette of the segment's members.
    silhouette: Option<f64>,
}

#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// Runs, newest first, optionally of one dataset or in one status.
    #[graphql(complexity = "super::types::page_cost(first, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        dataset_id: Option<ID>,
        status: Option<RunStatusGql>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Conn<RunObject>> {
        let query = ServiceRunQuery {
            dataset_id: dataset_id
                .as_ref()
                .map(|id| ids::parse(id, "dataset"))
                .transpose()?,
            status: status.map(Into::into),
        };
        let page = PageRequest {
            first: super::types::first(first)?,
            after,
        };
        let runs = service::runs::list(ids::state(ctx)?, &query, &page).await?;
        Ok(connection(runs, RunObject))
    }

    async fn run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<RunObject> {
        let id = ids::parse(&id, "run")?;
        Ok(RunObject(service::runs::get(ids::state(ctx)?, id).await?))
    }

    /// Two succeeded runs of one dataset side by side: where each customer of a segment of `a`
    /// went in `b`, and the adjusted Rand index of the two segmentations.
    async fn compare_runs(
        &self,
        ctx: &Context<'_>,
        a: ID,
        b: ID,
    ) -> async_graphql::Result<RunComparison> {
        let (a, b) = (ids::parse(&a, "run")?, ids::parse(&b, "run")?);
        let (a, b, comparison) = service::runs::compare(ids::state(ctx)?, a, b).await?;
        Ok(RunComparison {
            a: RunObject(a),
            b: RunObject(b),
            adjusted_rand_index: comparison.adjusted_rand_index,
            migration: comparison
                .migration
                .iter()
                .map(|m| SegmentMove {
                    from: m.from as i32,
                    to: m.to as i32,
                    count: m.count as i64,
                })
                .collect(),
        })
    }
}

/// How two runs of one dataset segment its customers.
#[derive(SimpleObject)]
pub struct RunComparison {
    a: RunObject,
    b: RunObject,
    /// 1 when both put the same customers together (whatever the segment numbers), about 0 when
    /// they agree no more than chance would, below 0 when less (scikit-learn's
    /// `adjusted_rand_score`).
    adjusted_rand_index: f64,
    /// Customers in segment `from` of run `a` and segment `to` of run `b`, for every pair that
    /// shares any.
    migration: Vec<SegmentMove>,
}

/// Customers in one segment of each run.
#[derive(SimpleObject)]
pub struct SegmentMove {
    from: i32,
    to: i32,
    count: i64,
}

#[derive(Default)]
pub struct RunMutation;

impl TrainRunInput {
    /// The request as every interface states it (the rules are applied by the service).
    fn request(self) -> async_graphql::Result<TrainRequest> {
        Ok(TrainRequest {
            dataset_id: ids::parse(&self.dataset_id, "dataset")?,
            settings: Draft {
                method: self.linkage.into(),
                metric: self.metric.into(),
                n_clusters: self.n_clusters.map(i64::from),
                auto_clusters: self.auto_clusters,
                distance_threshold: self.distance_threshold,
                use_pca: self.use_pca,
                pca_components: self.pca_components.map(i64::from),
                pca_variance: self.pca_variance,
                include: self.features,
                exclude: self.exclude,
                kinds: self
                    .kinds
                    .into_iter()
                    .map(|k| (k.column, k.kind.into()))
                    .collect(),
            },
        })
    }
}

#[Object]
impl RunMutation {
    /// Queues a clustering run and returns it at once (status QUEUED); follow it with the
    /// `runProgress` subscription or by polling `run(id)`.
    async fn train_run(
        &self,
        ctx: &Context<'_>,
        input: TrainRunInput,
    ) -> async_graphql::Result<RunObject> {
        let req = input.request()?;
        Ok(RunObject(
            service::runs::train(ids::state(ctx)?, req, Vocabulary::Graphql).await?,
        ))
    }

    /// Cancels a queued or running run (a running one stops within a second or two).
    async fn cancel_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<RunObject> {
        let id = ids::parse(&id, "run")?;
        Ok(RunObject(
            service::runs::cancel(ids::state(ctx)?, id).await?,
        ))
    }

    /// Names a segment of a succeeded run and/or notes something about it. The name is used
    /// wherever the segment is shown (pages, charts, CSV files, GraphQL, REST); the generated one
    /// stays as `generatedName`. An argument left out keeps what is there; an empty text removes
    /// it (the generated name again, or no note). Names hold at most 80 characters, notes 2,000.
    async fn rename_segment(
        &self,
        ctx: &Context<'_>,
        run_id: ID,
        segment: i32,
        name: Option<String>,
        note: Option<String>,
    ) -> async_graphql::Result<SegmentObject> {
        let id = ids::parse(&run_id, "run")?;
        let label = service::runs::SegmentLabel { name, note };
        let state = ids::state(ctx)?;
        let run = service::runs::label_segment(state, id, segment.into(), label).await?;
        let profile = run.segment(segment.into())?;
        Ok(SegmentObject::of(&run, profile))
    }

    /// Deletes a run and its assignments. Returns the deleted id.
    async fn delete_run(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ID> {
        let key = ids::parse(&id, "run")?;
        service::runs::delete(ids::state(ctx)?, key).await?;
        Ok(id)
    }
}
