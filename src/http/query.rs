//! Query-string parameters for every REST and page handler. axum's own `Query` answers a wrong
//! value with a plain-text 400 in serde's words; this one names the parameter, the value sent and
//! what the parameter takes, as a 422 in the shape of the interface the route belongs to
//! ([`Refusal`]): REST's `{"detail", "code"}`, the pages' error page.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::Refusal;
use crate::error::AppError;

/// The query string read into `T`; a value `T` cannot take is refused by name.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse(parts.uri.query().unwrap_or_default())
            .map(Query)
            .map_err(|e| Refusal::of(&parts.extensions).answer(&parts.headers, e))
    }
}

/// Reads `query` into `T`, with an error that names the parameter at fault.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    parse_pairs(query, Pairs::QueryString)
}

/// Where `name=value` pairs came from, as messages name it and one of its pairs.
#[derive(Clone, Copy)]
pub(crate) enum Pairs {
    QueryString,
    Form,
}

impl Pairs {
    fn whole(self) -> &'static str {
        match self {
            Pairs::QueryString => "the query string",
            Pairs::Form => "the form",
        }
    }

    fn one(self) -> &'static str {
        match self {
            Pairs::QueryString => "the query parameter",
            Pairs::Form => "the form field",
        }
    }
}

/// A pair that may come once, sent twice: which value was meant?
pub(crate) fn given_twice(source: Pairs, name: &str) -> String {
    format!("{} `{name}` is given twice; give it once", source.one())
}

/// Reads URL-encoded `name=value` pairs into `T`, with an error that names the pair at fault.
pub(super) fn parse_pairs<T: DeserializeOwned>(text: &str, source: Pairs) -> Result<T, AppError> {
    let pairs = url::form_urlencoded::parse(text.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
        let parameter = e.path().iter().next().map(ToString::to_string);
        AppError::BadInput(explain(text, source, parameter, &e.inner().to_string()))
    })
}

/// serde's complaint about `parameter` (or about all of `query`) in the words of `source`.
/// serde_urlencoded reads numbers with `str::parse`, so a wrong number arrives as the standard
/// library's parse error; what the value looks like tells which rule it broke.
fn explain(query: &str, source: Pairs, parameter: Option<String>, serde: &str) -> String {
    let (whole, one) = (source.whole(), source.one());
    let quoted = |prefix: &str| {
        serde
            .strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_string())
    };
    if let Some(name) = quoted("missing field ") {
        return format!("{one} `{name}` is missing");
    }
    if let Some(name) = quoted("duplicate field ") {
        return given_twice(source, &name);
    }
    let Some(name) = parameter else {
        return format!("{whole} cannot be read: {serde}");
    };
    let value = url::form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| *key == name)
        .last()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let sent = if value.is_empty() {
        "an empty value".to_string()
    } else {
        format!("`{value}`")
    };
    let whole = value.trim_start_matches('-');
    let takes = match serde {
        "invalid digit found in string"
            if value.starts_with('-')
                && !whole.is_empty()
                && whole.bytes().all(|b| b.is_ascii_digit()) =>
        {
            "a whole number, 0 or more"
        }
        "number too large to fit in target type" | "number too small to fit in target type" => {
            return format!("{one} `{name}` is out of range: {sent}");
        }
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            "a whole number"
        }
        "invalid float literal" | "cannot parse float from empty string" => "a number",
        "provided string was not `true` or `false`" => "`true` or `false`",
        other => return format!("{one} `{name}` is wrong ({other}): {sent}"),
    };
    format!("{one} `{name}` takes {takes}, not {sent}")
}
