//! The run form on a dataset's page: what it offers (with the plain-words explanation of every
//! choice) and how a submission becomes a [`TrainRequest`].

use crate::engine::ingest::ColumnKind;
use crate::engine::spec::SpecError;
use crate::engine::{Method, Metric};
use crate::error::{AppError, AppResult};
use crate::http::query::{Pairs, given_twice};
use crate::service::datasets::Dataset;
use crate::service::runs::{ColumnUse, Draft, Setting, TrainRequest, Vocabulary};
use crate::web::routes;

/// Segments asked for when the user has not chosen.
const DEFAULT_K: i64 = 4;

/// One radio button with its short description and its tooltip.
pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub desc: &'static str,
    pub tip: &'static str,
    pub checked: bool,
    pub euclidean_only: bool,
}

/// The linkages, in the order the predecessor listed them, then the scipy extras.
fn method_text(m: Method) -> (&'static str, &'static str, &'static str) {
    match m {
        Method::Ward => (
            "Ward",
            "Compact segments of similar size. The usual choice.",
            "Merges the two groups whose union adds the least spread (within-segment variance). Gives compact, similar-sized segments, which is what most marketing segmentations want. Needs Euclidean distance.",
        ),
        Method::Complete => (
            "Complete",
            "Tight, well-separated segments.",
            "The distance between two groups is the distance between their two most different customers. Gives tight segments that are clearly apart, but one unusual customer can keep two groups from merging.",
        ),
        Method::Average => (
            "Average",
            "A balanced general-purpose choice.",
            "The distance between two groups is the average distance over every pair of their customers. Less sensitive to unusual customers than Complete, less prone to chaining than Single.",
        ),
        Method::Single => (
            "Single",
            "Finds outliers and chains.",
            "The distance between two groups is the distance between their two most similar customers. Good at isolating unusual customers, but tends to make one very large segment.",
        ),
        Method::Weighted => (
            "Weighted",
            "Like Average, small groups count more.",
            "Like Average, but when two groups merged earlier each counts equally, whatever its size (WPGMA). Gives small groups more say.",
        ),
        Method::Centroid => (
            "Centroid",
            "Distance between group centres.",
            "The distance between two groups is the distance between their average customers. The tree can have merges lower than earlier ones, which makes it harder to read. Needs Euclidean distance.",
        ),
        Method::Median => (
            "Median",
            "Like Centroid, groups weigh equally.",
            "Like Centroid, but a merged group's centre is the midpoint of the two it came from, whatever their sizes (WPGMC). Needs Euclidean distance.",
        ),
    }
}

fn metric_text(m: Metric) -> (&'static str, &'static str, &'static str) {
    match m {
        Metric::Euclidean => (
            "Euclidean",
            "Straight-line distance.",
            "The ordinary straight-line distance over all features. Required by Ward, Centroid and Median.",
        ),
        Metric::Manhattan => (
            "Manhattan",
            "Sum of differences, feature by feature.",
            "Adds up the differences feature by feature, like walking city blocks. One extreme value sways it less than Euclidean distance.",
        ),
        Metric::Cosine => (
            "Cosine",
            "Compares the shape of profiles, not their size.",
            "Compares the direction of two customers' profiles, not their size: a big and a small spender with the same mix of habits look alike.",
        ),
    }
}

/// A feature checkbox.
pub struct FeatureBox {
    pub name: String,
    pub kind: &'static str,
    pub note: &'static str,
    pub usable: bool,
    pub checked: bool,
    /// The use chosen for the column (`numeric`, `categorical`, `ignore`), or empty for its
    /// detected kind.
    pub used_as: String,
}

impl FeatureBox {
    /// The choices of the column's kind select.
    pub fn uses(&self) -> [(&'static str, &'static str); 4] {
        [
            ("", "as detected"),
            ("numeric", "numeric"),
            ("categorical", "categorical"),
            ("ignore", "ignore"),
        ]
    }
}

/// The form's state: defaults for a new form, the user's values when sent back with an error.
pub struct RunForm {
    pub action: String,
    pub error: Option<String>,
    /// The id of the field the error is about: its message is shown beside it, and it takes
    /// the focus.
    pub error_at: Option<&'static str>,
    pub methods: Vec<Choice>,
    pub metrics: Vec<Choice>,
    /// How the tree is cut: `k` (a number of segments), `height` or `auto` (SegmentIQ
    /// chooses the number).
    pub mode: &'static str,
    pub n_clusters: String,
    pub distance_threshold: String,
    pub max_k: i64,
    pub use_pca: bool,
    pub pca_components: String,
    pub pca_variance: String,
    pub features: Vec<FeatureBox>,
}

fn usable(kind: ColumnKind) -> bool {
    matches!(kind, ColumnKind::Numeric | ColumnKind::Categorical)
}

fn feature_note(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Numeric => "Scaled so that it counts as much as any other feature.",
        ColumnKind::Categorical => "Each value becomes its own yes/no feature.",
        ColumnKind::Identifier => "Different on every row (an id): never used.",
        ColumnKind::Constant => "The same on every row: carries no information.",
    }
}

impl RunForm {
    /// Whether the error is about the field with this id.
    pub fn invalid(&self, id: &str) -> bool {
        self.error_at == Some(id)
    }

    /// A fresh form: Ward, Euclidean, 4 segments, no PCA, every usable column.
    pub fn new(dataset: &Dataset) -> RunForm {
        Self::build(dataset, &Submission::default(), None)
    }

    /// The form as the user sent it, with the reason it was refused.
    pub fn refused(dataset: &Dataset, sent: &Submission, error: &AppError) -> RunForm {
        Self::build(dataset, sent, Some(error))
    }

    fn build(dataset: &Dataset, sent: &Submission, error: Option<&AppError>) -> RunForm {
        let error_at = match error {
            Some(AppError::BadSetting(setting, _)) => Some(field_of(*setting)),
            _ => None,
        };
        let error = error.map(ToString::to_string);
        let fresh = sent.fields.is_empty();
        let method = sent.get("method").unwrap_or(Method::Ward.as_str());
        let metric = sent.get("metric").unwrap_or(Metric::Euclidean.as_str());
        // The rules allow as many segments as rows ([`Setting::Clusters`]).
        let max_k = dataset.row_count.max(2);
        let chosen: Vec<&str> = sent.all("feature");
        RunForm {
            action: routes::dataset_runs(dataset.id),
            error,
            error_at,
            methods: Method::ALL
                .iter()
                .map(|m| {
                    let (label, desc, tip) = method_text(*m);
                    Choice {
                        value: m.as_str(),
                        label,
                        desc,
                        tip,
                        checked: m.as_str() == method,
                        euclidean_only: m.requires_euclidean(),
                    }
                })
                .collect(),
            metrics: Metric::ALL
                .iter()
                .map(|m| {
                    let (label, desc, tip) = metric_text(*m);
                    Choice {
                        value: m.as_str(),
                        label,
                        desc,
                        tip,
                        checked: m.as_str() == metric,
                        euclidean_only: false,
                    }
                })
                .collect(),
            mode: match sent.get("mode") {
                Some("height") => "height",
                Some("auto") => "auto",
                _ => "k",
            },
            n_clusters: sent
                .get("n_clusters")
                .map_or_else(|| DEFAULT_K.min(max_k).to_string(), str::to_string),
            distance_threshold: sent.get("distance_threshold").unwrap_or("").to_string(),
            max_k,
            use_pca: sent.get("use_pca").is_some(),
            pca_components: sent.get("pca_components").unwrap_or("").to_string(),
            pca_variance: sent.get("pca_variance").unwrap_or("").to_string(),
            features: dataset
                .columns
                .iter()
                .map(|c| FeatureBox {
                    name: c.name.clone(),
                    kind: c.kind.as_str(),
                    note: feature_note(c.kind),
                    usable: usable(c.kind),
                    checked: usable(c.kind) && (fresh || chosen.contains(&c.name.as_str())),
                    used_as: sent.get(&kind_field(&c.name)).unwrap_or("").to_string(),
                })
                .collect(),
        }
    }
}

/// The form field that holds `setting`, by its id (for a group of radio buttons or checkboxes,
/// the id of the group's error). The template shows an error beside each of these.
fn field_of(setting: Setting) -> &'static str {
    match setting {
        Setting::Linkage => "method",
        Setting::Metric => "metric",
        Setting::Clusters => "n_clusters",
        Setting::Height => "distance_threshold",
        // The form ignores the PCA fields while its box is unticked, so it never says both.
        Setting::UsePca | Setting::PcaComponents => "pca_components",
        Setting::PcaVariance => "pca_variance",
        Setting::Include | Setting::Exclude | Setting::Kinds => "features",
    }
}

/// The name of the select that overrides `column`'s kind: `kind.<column>`.
pub fn kind_field(column: &str) -> String {
    format!("kind.{column}")
}

/// The submitted form fields, in order (checkbox groups repeat a name).
#[derive(Default, Debug)]
pub struct Submission {
    pub fields: Vec<(String, String)>,
}

impl Submission {
    /// The first non-empty value of `name`.
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A decimal field, by the setting's label on the form.
    fn decimal(&self, name: &str, setting: Setting) -> AppResult<Option<f64>> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    let label = setting.name(Vocabulary::Form);
                    AppError::BadSetting(setting, format!("{label} must be a number, got `{v}`"))
                })
            })
            .transpose()
    }

    /// A whole-number field, by the rule every interface applies to counts.
    fn whole(&self, name: &str, setting: Setting) -> AppResult<Option<i64>> {
        self.get(name)
            .map(|v| {
                crate::engine::spec::whole(setting, v)
                    .map_err(|e| AppError::refused(e, Vocabulary::Form))
            })
            .transpose()
    }

    /// The column kinds chosen in the features list (`kind.<column>` selects; empty keeps the
    /// detected kind).
    fn kinds(&self) -> AppResult<std::collections::BTreeMap<String, ColumnUse>> {
        self.fields
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("kind.")?, v.trim())))
            .filter(|(_, v)| !v.is_empty())
            .map(|(column, used)| {
                let used = used
                    .parse::<ColumnUse>()
                    .map_err(|e| AppError::BadSetting(Setting::Kinds, e))?;
                Ok((column.to_string(), used))
            })
            .collect()
    }

    /// Refuses a field the form has once given twice (a hand-made request: which value was
    /// meant?), and a `mode` the form does not offer, instead of taking one silently.
    fn check_shape(&self) -> AppResult<()> {
        let single = |name: &str| {
            name.starts_with("kind.")
                || [
                    "method",
                    "metric",
                    "mode",
                    "n_clusters",
                    "distance_threshold",
                    "use_pca",
                    "pca_components",
                    "pca_variance",
                    "features_sent",
                ]
                .contains(&name)
        };
        for (i, (name, _)) in self.fields.iter().enumerate() {
            if single(name) && self.fields[..i].iter().any(|(earlier, _)| earlier == name) {
                return Err(AppError::BadInput(given_twice(Pairs::Form, name)));
            }
        }
        match self.get("mode") {
            None | Some("k" | "height" | "auto") => Ok(()),
            Some(other) => Err(AppError::BadInput(format!(
                "the form field `mode` is `k`, `height` or `auto`, not `{other}`"
            ))),
        }
    }

    /// The run the user asked for. Only the form's own shape is checked here; the service
    /// checks the values against the dataset.
    pub fn to_request(&self, dataset: &Dataset) -> AppResult<TrainRequest> {
        self.check_shape()?;
        let method = self
            .get("method")
            .unwrap_or("ward")
            .parse::<Method>()
            .map_err(AppError::BadInput)?;
        let metric = self
            .get("metric")
            .unwrap_or("euclidean")
            .parse::<Metric>()
            .map_err(AppError::BadInput)?;
        let auto_clusters = self.get("mode") == Some("auto");
        let by_height = self.get("mode") == Some("height");
        let (n_clusters, distance_threshold) = if auto_clusters {
            (None, None)
        } else if by_height {
            let h = self.decimal("distance_threshold", Setting::Height)?;
            if h.is_none() {
                return Err(AppError::BadInput(
                    "enter a cut height, or choose a number of segments".into(),
                ));
            }
            (None, h)
        } else {
            let k = self.whole("n_clusters", Setting::Clusters)?;
            if k.is_none() {
                return Err(AppError::BadInput(
                    "enter how many segments you want".into(),
                ));
            }
            (k, None)
        };
        let use_pca = self.get("use_pca").is_some();
        let (pca_components, pca_variance) = if use_pca {
            (
                self.whole("pca_components", Setting::PcaComponents)?,
                self.decimal("pca_variance", Setting::PcaVariance)?,
            )
        } else {
            (None, None)
        };
        // Unticked usable columns are excluded; with nothing sent at all (a client without the
        // checkboxes), every usable column is used.
        let chosen = self.all("feature");
        // A ticked name that is not a column is refused as the other interfaces refuse it,
        // rather than dropped.
        if let Some(unknown) = chosen.iter().find(|name| dataset.column(name).is_none()) {
            let refused = SpecError::UnknownColumn {
                setting: Setting::Include,
                name: unknown.to_string(),
                available: dataset.columns.iter().map(|c| c.name.clone()).collect(),
            };
            return Err(AppError::refused(refused, Vocabulary::Form));
        }
        let exclude = if self.get("features_sent").is_some() {
            dataset
                .columns
                .iter()
                .filter(|c| usable(c.kind) && !chosen.contains(&c.name.as_str()))
                .map(|c| c.name.clone())
                .collect()
        } else {
            Vec::new()
        };
        Ok(TrainRequest {
            dataset_id: dataset.id,
            settings: Draft {
                method,
                metric,
                n_clusters,
                auto_clusters,
                distance_threshold,
                use_pca: Some(use_pca),
                pca_components,
                pca_variance,
                include: None,
                exclude,
                kinds: self.kinds()?,
            },
        })
    }
}
