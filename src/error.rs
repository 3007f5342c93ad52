//! One error type for every interface: HTTP status for REST and pages, `extensions.code` for
//! GraphQL. Messages are written for the person who sent the request: they say what to fix.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist (or no longer does).
    #[error("{}", shorten(.0))]
    NotFound(String),
    /// The request is wrong in a way the sender can fix.
    #[error("{}", shorten(.0))]
    BadInput(String),
    /// A run setting breaks a rule: which setting (so the form can show the message beside
    /// its field) and the message in the words of the interface the request came in.
    #[error("{}", shorten(.1))]
    BadSetting(crate::engine::spec::Setting, String),
    /// The upload is larger than the configured limit.
    #[error("{}", shorten(.0))]
    TooLarge(String),
    /// The request asks for something the current state does not allow (e.g. a dataset being
    /// deleted).
    #[error("{}", shorten(.0))]
    Conflict(String),
    #[error("missing or wrong API token: send `Authorization: Bearer <token>`")]
    Unauthenticated,
    /// The credentials are valid but do not allow this (the read-only token asking for a
    /// change), or the request came from another site. The message names which.
    #[error("{0}")]
    Forbidden(String),
    /// The database could not be reached, or the connection broke off mid-request. Nothing was
    /// stored half-way (every write is one transaction), so the same request can simply be
    /// sent again: 503 with `Retry-After`, GraphQL code `UNAVAILABLE` with `retryAfter`.
    #[error("{}", unavailable(.0))]
    Unavailable(#[source] anyhow::Error),
    /// A bug or an unexpected failure; details go to the log, not to the user.
    #[error("internal error; the server log has details")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// Longest word (run of non-space characters) quoted whole in an error message.
const LONGEST_WORD: usize = 80;

/// Cuts every word of `message` longer than [`LONGEST_WORD`] characters to a short prefix and
/// says how long it was, so an error never echoes a 5 MB argument back to its sender (or into
/// the log). Messages are otherwise unchanged.
pub fn shorten(message: &str) -> std::borrow::Cow<'_, str> {
    if !message
        .split_whitespace()
        .any(|w| w.chars().count() > LONGEST_WORD)
    {
        return message.into();
    }
    let mut out = String::with_capacity(LONGEST_WORD * 4);
    let mut rest = message;
    while !rest.is_empty() {
        let word_len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, tail) = rest.split_at(word_len);
        let chars = word.chars().count();
        if chars > LONGEST_WORD {
            out.extend(word.chars().take(LONGEST_WORD / 2));
            out.push_str(&format!("… ({chars} characters)"));
        } else {
            out.push_str(word);
        }
        let space_len = tail
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(tail.len());
        out.push_str(&tail[..space_len]);
        rest = &tail[space_len..];
    }
    out.into()
}

/// Why the database cannot serve a request, in words: busy (every pooled connection in use
/// for longer than the pool waits) or unreachable.
fn unavailable(cause: &anyhow::Error) -> &'static str {
    use diesel_async::pooled_connection::deadpool::PoolError;
    match cause.downcast_ref::<PoolError>() {
        Some(PoolError::Timeout(_)) => {
            "the server is busy: every database connection is in use; try again in a few seconds"
        }
        _ => "the database is unavailable; try again in a few seconds",
    }
}

/// Seconds a client is told to wait before retrying when the database is unavailable: long
/// enough for a restarting PostgreSQL or a replaced connection, short enough for a person.
pub const RETRY_AFTER_SECS: u64 = 5;

impl AppError {
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        AppError::NotFound(format!("{what} not found"))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadInput(_) | AppError::BadSetting(..) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The GraphQL `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::BadInput(_)
            | AppError::BadSetting(..)
            | AppError::TooLarge(_)
            | AppError::Conflict(_) => "BAD_USER_INPUT",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Unavailable(_) => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL",
        }
    }

    /// Logs what the user does not see: internal failures with their cause.
    pub fn log(&self) {
        match self {
            AppError::Internal(e) => tracing::error!(error = ?e, "internal error"),
            AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            _ => {}
        }
    }
}

impl AppError {
    /// A run setting refused by a rule of [`spec`](crate::engine::spec), in the words of the
    /// interface it came through; the setting is kept so a form can mark its field.
    pub fn refused(
        e: crate::engine::spec::SpecError,
        vocabulary: crate::engine::spec::Vocabulary,
    ) -> AppError {
        match e.setting() {
            Some(setting) => AppError::BadSetting(setting, e.message(vocabulary)),
            None => AppError::BadInput(e.message(vocabulary)),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if connection_lost(&e) {
            AppError::Unavailable(e.into())
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// Errors of the bulk writes, which talk to tokio-postgres directly (`db::copy`). It reports
/// what diesel-async cannot: the SQLSTATE, and whether the connection closed.
impl From<tokio_postgres::Error> for AppError {
    fn from(e: tokio_postgres::Error) -> Self {
        let lost = match e.code() {
            // Connection exceptions (08), and the server ending the session (57P0x, 25P03).
            Some(code) => {
                let code = code.code();
                code.starts_with("08") || code.starts_with("57P0") || code == "25P03"
            }
            // No SQLSTATE: the client could not connect, send or receive.
            None => e.as_db_error().is_none(),
        };
        if lost {
            AppError::Unavailable(e.into())
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// The start of PostgreSQL's messages for errors that end the connection rather than the
/// statement: SQLSTATE 57P01 (admin shutdown, `pg_terminate_backend`), 57P02 (crash of another
/// backend), 57P03 (starting up, shutting down, recovery), 25P03 and 57P05 (idle timeouts).
/// diesel-async hands these over as `DatabaseErrorKind::Unknown` without the SQLSTATE, so the
/// (English) message is all there is; with `lc_messages` in another language they stay
/// `Internal`, and the next statement on the dead connection is `UnableToSendCommand` anyway.
const CONNECTION_ENDED: [&str; 2] = ["terminating connection", "the database system is"];

/// Whether a database error means the connection or the server went away (so the same request
/// can succeed on a new connection) rather than that the statement was wrong. diesel-async
/// reports every client-side failure (connection closed, could not send or receive: the 08
/// class of SQLSTATEs, seen from the client) as `UnableToSendCommand`.
pub fn connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error as E};
    match e {
        E::DatabaseError(Kind::ClosedConnection | Kind::UnableToSendCommand, _) => true,
        E::DatabaseError(_, info) => CONNECTION_ENDED
            .iter()
            .any(|start| info.message().starts_with(start)),
        E::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => connection_lost(rollback_error) || connection_lost(commit_error),
        _ => false,
    }
}

/// Every 503 (REST, pages, downloads, `/readyz`) says when to try again, whichever handler
/// produced it: a response-mapping layer over the whole router.
pub async fn add_retry_after(mut response: Response) -> Response {
    if response.status() == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .entry(axum::http::header::RETRY_AFTER)
            .or_insert_with(|| RETRY_AFTER_SECS.into());
    }
    response
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        AppError::Unavailable(e.into())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(e.into())
    }
}

/// REST errors: `{"detail": "..."}` like the predecessor (FastAPI), plus a machine code.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut body = serde_json::json!({ "detail": self.to_string(), "code": self.code() });
        if matches!(self, AppError::Unavailable(_)) {
            body["retry_after"] = RETRY_AFTER_SECS.into();
        }
        (self.status(), axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    /// A pool that waited too long says the server is busy, not that the database is down.
    #[test]
    fn a_busy_pool_is_not_a_missing_database() {
        use deadpool::managed::TimeoutType;
        use diesel_async::pooled_connection::deadpool::PoolError;
        let busy = AppError::from(PoolError::Timeout(TimeoutType::Wait));
        assert_eq!(
            busy.to_string(),
            "the server is busy: every database connection is in use; try again in a few seconds"
        );
        assert_eq!(
            (busy.status(), busy.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
        );
        let down = AppError::Unavailable(anyhow::anyhow!("connection refused"));
        assert_eq!(
            down.to_string(),
            "the database is unavailable; try again in a few seconds"
        );
    }

    #[test]
    fn long_words_are_cut_and_measured() {
        assert_eq!(shorten("id `42` not found"), "id `42` not found");
        let long = format!("`{}` is not an id", "x".repeat(5_000_000));
        let short = shorten(&long).into_owned();
        assert!(short.len() < 120, "{short}");
        assert!(
            short.ends_with("… (5000002 characters) is not an id"),
            "{short}"
        );
        // Multi-byte characters are cut on a character boundary.
        let amharic = "ሀ".repeat(100);
        assert!(shorten(&amharic).starts_with(&"ሀ".repeat(40)));
        assert_eq!(AppError::BadInput(long).to_string(), short);
    }

    fn db_error(kind: DatabaseErrorKind, message: &str) -> Error {
        Error::DatabaseError(kind, Box::new(message.to_string()))
    }

    #[test]
    fn lost_connections_are_unavailable_and_statement_errors_internal() {
        let lost = [
            db_error(DatabaseErrorKind::ClosedConnection, "connection closed"),
            db_error(DatabaseErrorKind::UnableToSendCommand, "connection closed"),
            db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            db_error(
                DatabaseErrorKind::Unknown,
                "the database system is shutting down",
            ),
        ];
        for e in lost {
            let app = AppError::from(e);
            assert_eq!(app.status(), StatusCode::SERVICE_UNAVAILABLE, "{app:?}");
            assert_eq!(app.code(), "UNAVAILABLE");
        }
        let wrong = [
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key value"),
            db_error(
                DatabaseErrorKind::Unknown,
                "syntax error at or near \"SELEC\"",
            ),
        ];
        for e in wrong {
            assert_eq!(AppError::from(e).code(), "INTERNAL");
        }
        assert_eq!(AppError::from(Error::NotFound).code(), "INTERNAL");
    }
}
