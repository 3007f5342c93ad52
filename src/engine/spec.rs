//! The rules a run's settings follow, written once.
//!
//! The engine checks them against a parsed table before clustering ([`check`] on a
//! [`Table`]); the server checks them against a dataset's stored column profiles before it
//! queues a run ([`check`] on [`Profiles`]), so a request that would fail is refused at once,
//! with the same verdict whether it came from GraphQL, REST, the run form or the CLI. A
//! [`SpecError`] names the setting at fault and each interface words it in its own
//! [`Vocabulary`]: REST says `n_clusters`, GraphQL `nClusters`, the form "Segments wanted",
//! the CLI `--clusters`.

use super::ingest::{ColumnData, ColumnKind, ColumnProfile, Table};
use super::pca::PcaSpec;
use super::pipeline::{
    Cut, DEFAULT_MAX_EXACT_ROWS, FeatureSelection, MAX_ENCODED_FEATURES, Params, ResolvedFeatures,
};
use super::preprocess;
use super::types::{Method, Metric};

/// Whose words an error message uses for the settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vocabulary {
    /// `segmentiq cluster`'s flags.
    Cli,
    /// The REST API's JSON fields (the predecessor's snake_case).
    Rest,
    /// GraphQL's `TrainRunInput` fields.
    Graphql,
    /// The run form's labels.
    Form,
}

/// A run setting, as every interface has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setting {
    Linkage,
    Metric,
    Clusters,
    Height,
    UsePca,
    PcaComponents,
    PcaVariance,
    Include,
    Exclude,
    Kinds,
}

impl Setting {
    /// The setting's name in `vocabulary`.
    pub fn name(self, vocabulary: Vocabulary) -> &'static str {
        use Setting::*;
        use Vocabulary::*;
        match (self, vocabulary) {
            (Linkage, Form) => "Linkage",
            (Linkage, Cli) => "--linkage",
            (Linkage, _) => "linkage",
            (Metric, Form) => "Distance",
            (Metric, Cli) => "--metric",
            (Metric, _) => "metric",
            (Clusters, Cli) => "--clusters",
            (Clusters, Rest) => "n_clusters",
            (Clusters, Graphql) => "nClusters",
            (Clusters, Form) => "Segments wanted",
            (Height, Cli) => "--distance-threshold",
            (Height, Rest) => "distance_threshold",
            (Height, Graphql) => "distanceThreshold",
            (Height, Form) => "Cut height",
            (UsePca, Cli) => "--pca",
            (UsePca, Rest) => "use_pca",
            (UsePca, Graphql) => "usePca",
            (UsePca, Form) => "Reduce dimensions first",
            (PcaComponents, Cli) => "--pca",
            (PcaComponents, Rest) => "pca_components",
            (PcaComponents, Graphql) => "pcaComponents",
            (PcaComponents, Form) => "Components",
            (PcaVariance, Cli) => "--pca",
            (PcaVariance, Rest) => "pca_variance",
            (PcaVariance, Graphql) => "pcaVariance",
            (PcaVariance, Form) => "Variance to keep",
            (Include, Cli) => "--include",
            (Include, Form) => "Features",
            (Include, _) => "features",
            (Exclude, Cli) => "--exclude",
            (Exclude, Form) => "Features",
            (Exclude, _) => "exclude",
            (Kinds, Cli) => "--kind",
            (Kinds, Form) => "Column kinds",
            (Kinds, _) => "kinds",
        }
    }
}

/// A setting that breaks a rule. [`SpecError::message`] words it for one interface; `Display`
/// uses the CLI's words.
#[derive(Clone, Debug, PartialEq)]
pub enum SpecError {
    TooFewRows {
        rows: usize,
    },
    /// A count (segments, components) written as something other than a whole number.
    NotWhole {
        setting: Setting,
        written: String,
    },
    NoCut,
    BothCuts,
    /// `auto` together with a count or a height.
    AutoWithCut,
    TooFewClusters {
        k: i64,
    },
    TooManyClusters {
        k: i64,
        rows: usize,
    },
    BadHeight {
        height: f64,
    },
    TooFewComponents {
        components: i64,
    },
    /// PCA turned off explicitly, with how much of it to keep given anyway.
    PcaOff {
        given: Setting,
    },
    /// Both a component count and a share of variance.
    BothPca,
    BadComponents {
        components: i64,
        max: usize,
        encoded: usize,
        rows: usize,
    },
    BadVariance {
        fraction: f64,
    },
    NonEuclidean {
        method: Method,
        metric: Metric,
    },
    UnknownColumn {
        setting: Setting,
        name: String,
        available: Vec<String>,
    },
    TextAsNumeric {
        name: String,
    },
    NoFeatures,
    TooManyEncoded {
        name: String,
        levels: usize,
    },
    /// A linkage other than Ward on a table that takes the large-table path.
    LargeTableNeedsWard {
        method: Method,
        rows: usize,
        max_exact_rows: usize,
    },
}

impl SpecError {
    /// The setting to fix (none when the table itself is the problem).
    pub fn setting(&self) -> Option<Setting> {
        use SpecError::*;
        Some(match self {
            TooFewRows { .. } => return None,
            NotWhole { setting, .. } => *setting,
            NoCut | BothCuts | AutoWithCut | TooFewClusters { .. } | TooManyClusters { .. } => {
                Setting::Clusters
            }
            BadHeight { .. } => Setting::Height,
            TooFewComponents { .. } | BadComponents { .. } | BothPca => Setting::PcaComponents,
            PcaOff { .. } => Setting::UsePca,
            BadVariance { .. } => Setting::PcaVariance,
            NonEuclidean { .. } => Setting::Metric,
            UnknownColumn { setting, .. } => *setting,
            TextAsNumeric { .. } => Setting::Kinds,
            NoFeatures | TooManyEncoded { .. } => Setting::Exclude,
            LargeTableNeedsWard { .. } => Setting::Linkage,
        })
    }

    /// The message, naming settings in `vocabulary`.
    pub fn message(&self, vocabulary: Vocabulary) -> String {
        use SpecError::*;
        let name = |s: Setting| s.name(vocabulary);
        match self {
            TooFewRows { rows } => {
                format!("clustering needs at least 2 rows but the table has {rows}")
            }
            NotWhole { setting, written } => {
                format!("{} must be a whole number, got `{written}`", name(*setting))
            }
            NoCut => format!(
                "give {} (the number of segments) or {} (a height cut)",
                name(Setting::Clusters),
                name(Setting::Height)
            ),
            BothCuts => format!(
                "give either {} or {}, not both",
                name(Setting::Clusters),
                name(Setting::Height)
            ),
            AutoWithCut => format!(
                "the run chooses the number of segments when asked for auto, so leave out {} and \
                 {}",
                name(Setting::Clusters),
                name(Setting::Height)
            ),
            TooFewClusters { k } => format!(
                "{} must be at least 2 so there is something to compare, got {k}",
                name(Setting::Clusters)
            ),
            TooManyClusters { k, rows } => format!(
                "{} is {k} but the table has {rows} rows; ask for at most {rows}",
                name(Setting::Clusters)
            ),
            BadHeight { height } => format!(
                "{} must be a number of at least 0, got {height}",
                name(Setting::Height)
            ),
            TooFewComponents { components } => format!(
                "{} must be at least 1, got {components}",
                name(Setting::PcaComponents)
            ),
            PcaOff { given } => format!(
                "{} turns PCA off, but {} says how much of it to keep; turn PCA on, or leave out {}",
                name(Setting::UsePca),
                name(*given),
                name(*given)
            ),
            BothPca => format!(
                "give either {} or {}, not both",
                name(Setting::PcaComponents),
                name(Setting::PcaVariance)
            ),
            BadComponents {
                components,
                max,
                encoded,
                rows,
            } => format!(
                "{} must be from 1 to {max} for this table ({encoded} encoded features, {rows} \
                 rows), got {components}",
                name(Setting::PcaComponents)
            ),
            BadVariance { fraction } => format!(
                "{} is the share of variance to keep: above 0 and at most 1 (0.9 keeps 90%), got \
                 {fraction}",
                name(Setting::PcaVariance)
            ),
            NonEuclidean { method, metric } => format!(
                "{method} linkage is defined for euclidean distances only, not {metric}; set {} \
                 to euclidean, or use average, complete, single or weighted linkage",
                name(Setting::Metric)
            ),
            UnknownColumn {
                setting,
                name: column,
                available,
            } => format!(
                "{} names `{column}`, but there is no such column; the columns are: {}",
                name(*setting),
                available.join(", ")
            ),
            TextAsNumeric { name: column } => format!(
                "column `{column}` holds text, so {} cannot make it numeric; make it categorical \
                 or leave it out",
                name(Setting::Kinds)
            ),
            NoFeatures => format!(
                "no columns are left to cluster on: every column is an identifier, constant or \
                 left out; keep at least one numeric or categorical column ({})",
                name(Setting::Exclude)
            ),
            TooManyEncoded {
                name: column,
                levels,
            } => format!(
                "column `{column}` has {levels} distinct values, which would make more than \
                 {MAX_ENCODED_FEATURES} encoded features; leave it out ({}) or mark it as an \
                 identifier",
                name(Setting::Exclude)
            ),
            LargeTableNeedsWard {
                method,
                rows,
                max_exact_rows,
            } => {
                let limit = match vocabulary {
                    Vocabulary::Cli => "--max-exact-rows",
                    _ => "the server's MAX_EXACT_ROWS",
                };
                format!(
                    "the table has {rows} rows, more than the {max_exact_rows} clustered \
                     exactly ({limit}), so its customers are first grouped into micro-clusters; \
                     only Ward's criterion means the same on groups as on customers ({method} \
                     linkage between micro-clusters would measure their centres, not their \
                     customers); set {} to ward, or raise {limit} to at least {rows} for an \
                     exact {method} run",
                    name(Setting::Linkage)
                )
            }
        }
    }
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(Vocabulary::Cli))
    }
}

impl std::error::Error for SpecError {}

/// How the analyst wants a column used, whatever its detected kind: to fix a detection (a
/// numeric code that should be categories, a column wrongly taken for an identifier) or to
/// leave a column out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnUse {
    Numeric,
    Categorical,
    Ignore,
}

impl ColumnUse {
    pub const ALL: [ColumnUse; 3] = [
        ColumnUse::Numeric,
        ColumnUse::Categorical,
        ColumnUse::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ColumnUse::Numeric => "numeric",
            ColumnUse::Categorical => "categorical",
            ColumnUse::Ignore => "ignore",
        }
    }
}

impl std::str::FromStr for ColumnUse {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ColumnUse::ALL
            .into_iter()
            .find(|u| u.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a column use; use numeric, categorical or ignore"))
    }
}

/// A count as written (`3`, or `3.0` from a tool that writes every number with a point) as a
/// whole number; `2.5` or `three` is refused in the words of `setting`.
pub fn whole(setting: Setting, written: &str) -> Result<i64, SpecError> {
    let written = written.trim();
    let refuse = || SpecError::NotWhole {
        setting,
        written: written.to_string(),
    };
    if let Ok(n) = written.parse::<i64>() {
        return Ok(n);
    }
    match written.parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && x.abs() < 9e15 => Ok(x as i64),
        _ => Err(refuse()),
    }
}

/// Settings as an interface receives them, before any rule is applied: what the REST body,
/// GraphQL input, run form and stored run have in common.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    pub method: Method,
    pub metric: Metric,
    pub n_clusters: Option<i64>,
    /// The run chooses the number of segments (`auto` in every interface); `n_clusters` is
    /// then not given.
    pub auto_clusters: bool,
    pub distance_threshold: Option<f64>,
    /// `Some(false)`: PCA turned off, so a component count or variance is a contradiction;
    /// `None`: not said (PCA runs when either is given).
    pub use_pca: Option<bool>,
    pub pca_components: Option<i64>,
    pub pca_variance: Option<f64>,
    pub include: Option<Vec<String>>,
    pub exclude: Vec<String>,
    /// Per-column uses that override detection, by column name.
    pub kinds: std::collections::BTreeMap<String, ColumnUse>,
}

/// Variance kept when PCA is asked for without saying how much.
pub const DEFAULT_PCA_VARIANCE: f64 = 0.95;

impl Draft {
    /// The engine's parameters, after the rules that need no table.
    pub fn params(&self) -> Result<Params, SpecError> {
        let cut = match (self.n_clusters, self.distance_threshold) {
            (None, None) if self.auto_clusters => Cut::Auto,
            (Some(_), _) | (_, Some(_)) if self.auto_clusters => {
                return Err(SpecError::AutoWithCut);
            }
            (None, None) => return Err(SpecError::NoCut),
            (Some(_), Some(_)) => return Err(SpecError::BothCuts),
            (Some(k), None) if k < 2 => return Err(SpecError::TooFewClusters { k }),
            (Some(k), None) => Cut::Clusters(usize::try_from(k).unwrap_or(usize::MAX)),
            (None, Some(h)) => Cut::Height(h),
        };
        let given = match (self.pca_components, self.pca_variance) {
            (Some(_), Some(_)) => return Err(SpecError::BothPca),
            (Some(_), None) => Some(Setting::PcaComponents),
            (None, Some(_)) => Some(Setting::PcaVariance),
            (None, None) => None,
        };
        if let (Some(false), Some(given)) = (self.use_pca, given) {
            return Err(SpecError::PcaOff { given });
        }
        let pca = match (self.pca_components, self.pca_variance) {
            (Some(c), _) if c < 1 => return Err(SpecError::TooFewComponents { components: c }),
            (Some(c), _) => Some(PcaSpec::Components(c as usize)),
            (None, Some(f)) => Some(PcaSpec::Variance(f)),
            (None, None) if self.use_pca == Some(true) => {
                Some(PcaSpec::Variance(DEFAULT_PCA_VARIANCE))
            }
            (None, None) => None,
        };
        Ok(Params {
            method: self.method,
            metric: self.metric,
            cut,
            pca,
            features: self.selection(),
            k_sweep: true,
            max_exact_rows: DEFAULT_MAX_EXACT_ROWS,
        })
    }
}

impl Draft {
    /// The columns chosen: `ignore` leaves a column out as `exclude` does; `numeric` and
    /// `categorical` override its detected kind.
    fn selection(&self) -> FeatureSelection {
        let mut ignore = Vec::new();
        let mut kinds = Vec::new();
        for (column, used) in &self.kinds {
            match used {
                ColumnUse::Ignore => ignore.push(column.clone()),
                ColumnUse::Numeric => kinds.push((column.clone(), ColumnKind::Numeric)),
                ColumnUse::Categorical => kinds.push((column.clone(), ColumnKind::Categorical)),
            }
        }
        FeatureSelection {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            kinds,
            ignore,
        }
    }
}

/// What the rules need to know of a table: its size and, per column, its name, detected kind,
/// whether it holds text and how many distinct values it has. A parsed [`Table`] and a
/// dataset's stored [`Profiles`] both answer.
pub trait Shape {
    fn rows(&self) -> usize;
    fn names(&self) -> Vec<String>;
    fn kind(&self, column: usize) -> ColumnKind;
    fn holds_text(&self, column: usize) -> bool;
    /// Distinct non-missing values: the one-hot columns a categorical column becomes.
    fn levels(&self, column: usize) -> usize;
}

impl Shape for Table {
    fn rows(&self) -> usize {
        self.n_rows
    }
    fn names(&self) -> Vec<String> {
        self.headers.clone()
    }
    fn kind(&self, column: usize) -> ColumnKind {
        super::ingest::detect_kind(&self.headers[column], &self.columns[column], self.n_rows)
    }
    fn holds_text(&self, column: usize) -> bool {
        matches!(self.columns[column], ColumnData::Text(_))
    }
    fn levels(&self, column: usize) -> usize {
        preprocess::level_count(&self.columns[column])
    }
}

/// A dataset's stored column profiles and row count, as the server has them before a run.
pub struct Profiles<'a> {
    pub rows: usize,
    pub columns: &'a [ColumnProfile],
}

impl Shape for Profiles<'_> {
    fn rows(&self) -> usize {
        self.rows
    }
    fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
    fn kind(&self, column: usize) -> ColumnKind {
        self.columns[column].kind
    }
    fn holds_text(&self, column: usize) -> bool {
        self.columns[column].numeric.is_none()
    }
    fn levels(&self, column: usize) -> usize {
        self.columns[column].distinct
    }
}

/// Checks `params` against a table's shape; on success, which columns become features.
pub fn check(shape: &dyn Shape, params: &Params) -> Result<ResolvedFeatures, SpecError> {
    let rows = shape.rows();
    if rows < 2 {
        return Err(SpecError::TooFewRows { rows });
    }
    if rows > params.max_exact_rows && params.method != Method::Ward {
        return Err(SpecError::LargeTableNeedsWard {
            method: params.method,
            rows,
            max_exact_rows: params.max_exact_rows,
        });
    }
    if params.method.requires_euclidean() && params.metric != Metric::Euclidean {
        return Err(SpecError::NonEuclidean {
            method: params.method,
            metric: params.metric,
        });
    }
    match params.cut {
        Cut::Clusters(k) if k < 2 => return Err(SpecError::TooFewClusters { k: k as i64 }),
        Cut::Clusters(k) if k > rows => {
            return Err(SpecError::TooManyClusters {
                k: i64::try_from(k).unwrap_or(i64::MAX),
                rows,
            });
        }
        Cut::Height(height) if !(height.is_finite() && height >= 0.0) => {
            return Err(SpecError::BadHeight { height });
        }
        _ => {}
    }
    let resolved = resolve(shape, &params.features)?;
    match params.pca {
        Some(PcaSpec::Components(c)) => {
            let max = resolved.n_encoded.min(rows);
            if c == 0 || c > max {
                return Err(SpecError::BadComponents {
                    components: i64::try_from(c).unwrap_or(i64::MAX),
                    max,
                    encoded: resolved.n_encoded,
                    rows,
                });
            }
        }
        Some(PcaSpec::Variance(fraction)) if !(fraction > 0.0 && fraction <= 1.0) => {
            return Err(SpecError::BadVariance { fraction });
        }
        _ => {}
    }
    Ok(resolved)
}

/// Applies a [`FeatureSelection`]: forced kinds first, then `include` (when given) limits the
/// candidates, then `exclude` removes columns. Identifier and constant columns are never
/// features unless a forced kind makes them numeric or categorical.
pub fn resolve(
    shape: &dyn Shape,
    selection: &FeatureSelection,
) -> Result<ResolvedFeatures, SpecError> {
    let names = shape.names();
    let find = |setting: Setting, name: &String| -> Result<usize, SpecError> {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| SpecError::UnknownColumn {
                setting,
                name: name.clone(),
                available: names.clone(),
            })
    };
    let mut kinds: Vec<ColumnKind> = (0..names.len()).map(|c| shape.kind(c)).collect();
    for (name, kind) in &selection.kinds {
        let c = find(Setting::Kinds, name)?;
        if *kind == ColumnKind::Numeric && shape.holds_text(c) {
            return Err(SpecError::TextAsNumeric { name: name.clone() });
        }
        kinds[c] = *kind;
    }
    let mut wanted = vec![selection.include.is_none(); names.len()];
    for name in selection.include.iter().flatten() {
        wanted[find(Setting::Include, name)?] = true;
    }
    for name in &selection.exclude {
        wanted[find(Setting::Exclude, name)?] = false;
    }
    for name in &selection.ignore {
        wanted[find(Setting::Kinds, name)?] = false;
    }

    let mut r = ResolvedFeatures::default();
    for (c, kind) in kinds.iter().enumerate() {
        match kind {
            ColumnKind::Identifier => r.identifiers.push(c),
            ColumnKind::Constant => r.constants.push(c),
            _ if !wanted[c] => r.excluded.push(c),
            ColumnKind::Numeric => r.numeric.push(c),
            ColumnKind::Categorical => r.categorical.push(c),
        }
    }
    if r.numeric.is_empty() && r.categorical.is_empty() {
        return Err(SpecError::NoFeatures);
    }
    r.n_encoded = r.numeric.len();
    for &c in &r.categorical {
        let levels = shape.levels(c);
        r.n_encoded += levels;
        if r.n_encoded > MAX_ENCODED_FEATURES {
            return Err(SpecError::TooManyEncoded {
                name: names[c].clone(),
                levels,
            });
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_interface_names_the_setting_in_its_own_words() {
        let error = SpecError::TooManyClusters { k: 51, rows: 40 };
        let said: Vec<String> = [
            Vocabulary::Rest,
            Vocabulary::Graphql,
            Vocabulary::Form,
            Vocabulary::Cli,
        ]
        .into_iter()
        .map(|v| error.message(v))
        .collect();
        assert_eq!(
            said,
            [
                "n_clusters is 51 but the table has 40 rows; ask for at most 40",
                "nClusters is 51 but the table has 40 rows; ask for at most 40",
                "Segments wanted is 51 but the table has 40 rows; ask for at most 40",
                "--clusters is 51 but the table has 40 rows; ask for at most 40",
            ]
        );
        assert_eq!(error.setting(), Some(Setting::Clusters));
    }

    #[test]
    fn drafts_become_parameters_or_name_what_is_missing() {
        let draft = Draft {
            method: Method::Ward,
            metric: Metric::Euclidean,
            n_clusters: Some(4),
            auto_clusters: false,
            distance_threshold: None,
            use_pca: Some(true),
            pca_components: None,
            pca_variance: None,
            include: None,
            exclude: vec!["city".into()],
            kinds: [
                ("store".to_string(), ColumnUse::Categorical),
                ("note".to_string(), ColumnUse::Ignore),
            ]
            .into(),
        };
        let params = draft.params().unwrap();
        assert_eq!(params.cut, Cut::Clusters(4));
        assert_eq!(params.pca, Some(PcaSpec::Variance(DEFAULT_PCA_VARIANCE)));
        assert_eq!(params.features.exclude, ["city"]);
        assert_eq!(params.features.ignore, ["note"]);
        assert_eq!(
            params.features.kinds,
            [("store".to_string(), ColumnKind::Categorical)]
        );
        let with = |f: &dyn Fn(&mut Draft)| {
            let mut d = draft.clone();
            f(&mut d);
            d.params().unwrap_err()
        };
        assert_eq!(with(&|d| d.n_clusters = None), SpecError::NoCut);
        let auto = Draft {
            n_clusters: None,
            auto_clusters: true,
            ..draft.clone()
        };
        assert_eq!(auto.params().unwrap().cut, Cut::Auto);
        assert_eq!(with(&|d| d.auto_clusters = true), SpecError::AutoWithCut);
        assert_eq!(
            with(&|d| d.distance_threshold = Some(2.0)),
            SpecError::BothCuts
        );
        assert_eq!(
            with(&|d| d.n_clusters = Some(-3)),
            SpecError::TooFewClusters { k: -3 }
        );
        assert_eq!(
            with(&|d| d.pca_components = Some(0)),
            SpecError::TooFewComponents { components: 0 }
        );
        // PCA settings that contradict each other are refused, not settled silently.
        let off = with(&|d| {
            d.use_pca = Some(false);
            d.pca_components = Some(3);
        });
        assert_eq!(
            off.message(Vocabulary::Rest),
            "use_pca turns PCA off, but pca_components says how much of it to keep; turn PCA on, or leave out pca_components"
        );
        assert_eq!(off.setting(), Some(Setting::UsePca));
        let both = with(&|d| {
            d.pca_components = Some(3);
            d.pca_variance = Some(0.8);
        });
        assert_eq!(
            both.message(Vocabulary::Graphql),
            "give either pcaComponents or pcaVariance, not both"
        );
        // Not saying whether PCA is on, a count or a share turns it on.
        let unsaid = Draft {
            use_pca: None,
            pca_variance: Some(0.8),
            ..draft.clone()
        };
        assert_eq!(unsaid.params().unwrap().pca, Some(PcaSpec::Variance(0.8)));
        let plain = Draft {
            use_pca: None,
            ..draft.clone()
        };
        assert_eq!(plain.params().unwrap().pca, None);
    }
}
