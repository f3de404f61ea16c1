//! The one error type of the client, and the table that maps Salesforce error codes to kinds.

use serde::Deserialize;
use std::fmt;

/// What went wrong, in a form callers can branch on. Every failure of the client is an [`Error`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or invalid; nothing was sent.
    #[error("invalid setting {setting}: {message}")]
    Config { setting: String, message: String },

    /// An argument cannot be sent as given (a bad id, an object name that is not an identifier,
    /// a record that is not a JSON object); nothing was sent.
    #[error("invalid argument {argument}: {message}")]
    InvalidArgument { argument: String, message: String },

    /// Bulk input is not well-formed CSV; no job was created.
    #[error("malformed CSV at line {line}: {message}")]
    Csv { line: u64, message: String },

    /// A bulk job did not reach a final state in time. The jobs go on at Salesforce and can be
    /// resumed by id; none was aborted.
    #[error("bulk jobs still running after {waited_secs:.1} s: {}", job_ids.join(", "))]
    BulkTimeout {
        job_ids: Vec<String>,
        waited_secs: f64,
    },

    /// A load stopped part way: the jobs named ran or may still be running (resume them by id
    /// for their results), the rows of `unsent_rows` (first and last data row, from 1) were not
    /// loaded, and `cause` says why. Loading just those rows again duplicates nothing.
    #[error(
        "a bulk load stopped part way: {} job(s) ran or may still run ({records_processed} rows \
         processed, {records_failed} failed; resume them by id), {}: {cause}",
        job_ids.len(),
        unsent_description(unsent_rows)
    )]
    BulkIncomplete {
        job_ids: Vec<String>,
        /// The state each job of `job_ids` was last seen in (`UploadComplete` for a job closed
        /// but not yet polled).
        job_states: Vec<String>,
        records_processed: u64,
        records_failed: u64,
        unsent_rows: Vec<(u64, u64)>,
        cause: Box<Error>,
    },

    /// A collection write of several calls in which some calls failed after others went
    /// through: `results` holds one result per record, in input order; those of the failed
    /// calls are marked NOT_PROCESSED (or OUTCOME_UNKNOWN when the answer was lost).
    #[error(
        "{} of {} records were written before a call failed: {cause}",
        results.iter().filter(|r| r.success).count(),
        results.len()
    )]
    RecordsIncomplete {
        results: Vec<RecordResult>,
        cause: Box<Error>,
    },

    /// A bulk job ended Failed or Aborted where the caller needed its results (a query).
    #[error("bulk job {job_id} ended {state}: {message}")]
    BulkJob {
        job_id: String,
        state: String,
        message: String,
    },

    /// Salesforce answered with an error body (`[{message, errorCode, fields}]`).
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The OAuth token endpoint refused (`{error, error_description}`).
    #[error("{0}")]
    OAuth(Box<OAuthError>),

    /// An upsert matched more than one record (HTTP 300); nothing was written.
    #[error("external id matched {} records; nothing was written", matches.len())]
    MultipleMatches {
        matches: Vec<String>,
        attempts: Attempts,
    },

    /// The request did not complete: connection refused, reset, TLS failure or timeout.
    #[error("{0}")]
    Transport(TransportFailure),

    /// A user-supplied auth provider failed to produce a token.
    #[error("the auth provider failed: {0}")]
    AuthProvider(String),

    /// The Pub/Sub API refused a call or closed a stream for good: the gRPC status, the
    /// service's `error-code` trailer (`sfdc.platform.eventbus.grpc.*`) and its `rpc-id`.
    #[error("Pub/Sub {status}: {message}")]
    PubSub {
        status: String,
        error_code: String,
        message: String,
        rpc_id: Option<String>,
    },

    /// A subscription cannot start at the replay id asked for: it is malformed, was never
    /// issued or is out of retention. The subscriber did not move to another position.
    #[error("invalid replay id: {message}")]
    ReplayId { error_code: String, message: String },

    /// An event payload does not match its Avro schema.
    #[error("event payload does not match schema {schema_id}: {message}")]
    Avro { schema_id: String, message: String },

    /// The family's circuit breaker is open after repeated outages: the call was not sent.
    #[error(
        "the {family} circuit is open after repeated outages: calls fail at once for {:.1} s more, \
         then one is let through to see whether the service is back",
        retry_in.as_secs_f64()
    )]
    CircuitOpen {
        family: String,
        retry_in: std::time::Duration,
    },

    /// The client was closed; build a new one.
    #[error("the client is closed: build a new one")]
    Closed,

    /// The caller interrupted the call (Ctrl-C): what it had done is in the error that carries
    /// this one as its cause.
    #[error("interrupted")]
    Interrupted,

    /// Salesforce answered something this client cannot read.
    #[error("unexpected response (HTTP {status}): {message}")]
    UnexpectedResponse { status: u16, message: String },
}

fn unsent_description(rows: &[(u64, u64)]) -> String {
    if rows.is_empty() {
        return "every row was sent".to_owned();
    }
    let ranges: Vec<String> = rows.iter().map(|(a, b)| format!("{a}-{b}")).collect();
    format!("rows {} were not loaded", ranges.join(", "))
}

/// The variants that carry the attempts a call made, listed once for the shared and the mutable
/// borrow (`$borrow` is `&` or `&mut`); the match stays exhaustive so a new variant is decided.
macro_rules! attempts_of {
    ($error:expr, $($borrow:tt)+) => {
        match $error {
            Error::Api(e) => Some($($borrow)+ e.attempts),
            Error::OAuth(e) => Some($($borrow)+ e.attempts),
            Error::Transport(e) => Some($($borrow)+ e.attempts),
            Error::MultipleMatches { attempts, .. } => Some(attempts),
            Error::Config { .. }
            | Error::InvalidArgument { .. }
            | Error::Csv { .. }
            | Error::BulkTimeout { .. }
            | Error::BulkIncomplete { .. }
            | Error::RecordsIncomplete { .. }
            | Error::BulkJob { .. }
            | Error::UnexpectedResponse { .. }
            | Error::PubSub { .. }
            | Error::ReplayId { .. }
            | Error::Avro { .. }
            | Error::CircuitOpen { .. }
            | Error::Closed
            | Error::Interrupted
            | Error::AuthProvider(_) => None,
        }
    };
}

impl Error {
    pub(crate) fn config(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            setting: setting.into(),
            message: message.into(),
        }
    }

    pub fn invalid_argument(argument: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            argument: argument.into(),
            message: message.into(),
        }
    }

    /// The attempts made before this error was returned, where a request was sent.
    pub fn attempts(&self) -> Option<&Attempts> {
        attempts_of!(self, &)
    }

    /// The same attempts, for the pipeline to fill in once a call has ended.
    pub(crate) fn attempts_mut(&mut self) -> Option<&mut Attempts> {
        attempts_of!(self, &mut)
    }

    /// The Salesforce error code, where Salesforce gave one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => Some(&e.error_code),
            Error::OAuth(e) => Some(&e.error),
            Error::PubSub { error_code, .. } | Error::ReplayId { error_code, .. } => {
                Some(error_code)
            }
            _ => None,
        }
    }
}

/// How many times a request was sent and why each earlier try failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Requests sent (or tried) in all, the last included.
    pub count: u32,
    /// Why each retried try failed, oldest first.
    pub retried_causes: Vec<String>,
}

/// One record's outcome in a collection call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordResult {
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiErrorItem>,
    /// For upserts: whether the record was created.
    #[serde(default)]
    pub created: Option<bool>,
}

/// One entry of a Salesforce error body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiErrorItem {
    #[serde(default)]
    pub message: String,
    #[serde(rename = "errorCode", alias = "statusCode", default)]
    pub error_code: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// An error answer from the REST API.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    /// The first entry's code, verbatim (also for codes this client does not know).
    pub error_code: String,
    pub message: String,
    pub fields: Vec<String>,
    /// Every entry of the body; Salesforce may report several.
    pub errors: Vec<ApiErrorItem>,
    pub attempts: Attempts,
}

impl ApiError {
    /// Builds the error from a response status and body. A body that is not Salesforce's error
    /// shape is kept as the message under the code `UNKNOWN_ERROR`.
    pub fn from_response(status: u16, body: &[u8], attempts: Attempts) -> Self {
        let errors: Vec<ApiErrorItem> = serde_json::from_slice::<Vec<ApiErrorItem>>(body)
            .or_else(|_| serde_json::from_slice::<ApiErrorItem>(body).map(|one| vec![one]))
            .unwrap_or_default();
        let first = errors.first().cloned().unwrap_or_else(|| ApiErrorItem {
            message: String::from_utf8_lossy(body).chars().take(500).collect(),
            error_code: String::new(),
            fields: Vec::new(),
        });
        let error_code = if first.error_code.is_empty() {
            "UNKNOWN_ERROR".to_owned()
        } else {
            first.error_code.clone()
        };
        Self {
            status,
            kind: ErrorKind::classify(&error_code, status),
            error_code,
            message: first.message,
            fields: first.fields,
            errors,
            attempts,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (HTTP {}): {}",
            self.error_code, self.status, self.message
        )?;
        if !self.fields.is_empty() {
            write!(f, " [fields: {}]", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// An error answer from the OAuth endpoints.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub status: u16,
    pub error: String,
    pub error_description: String,
    pub attempts: Attempts,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (HTTP {}): {}",
            self.error, self.status, self.error_description
        )
    }
}

/// A request that did not complete.
#[derive(Debug, Clone)]
pub struct TransportFailure {
    pub kind: TransportErrorKind,
    pub message: String,
    pub attempts: Attempts,
    /// A write (a non-idempotent request) was sent and its answer lost: the server may have
    /// done it. Check before sending it again.
    pub outcome_unknown: bool,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} attempt(s): {}",
            self.kind, self.attempts.count, self.message
        )?;
        if self.outcome_unknown {
            f.write_str("; the request was sent, so the write may or may not have happened")?;
        }
        Ok(())
    }
}

/// How a request failed to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// No connection was made, so the request provably never left.
    Connect,
    /// The connect or request timeout ran out.
    Timeout,
    /// The connection broke after the request may have been sent.
    Io,
    /// A replayer or fake had no answer for the request; nothing was sent.
    Unmatched,
    /// The server's certificate was not trusted: no request was sent, and trying again cannot
    /// help until the trust is set up (`SF_CA_CERT_FILE`).
    Certificate,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connection failed",
            TransportErrorKind::Timeout => "timed out",
            TransportErrorKind::Io => "connection error",
            TransportErrorKind::Unmatched => "no recorded answer",
            TransportErrorKind::Certificate => "certificate not trusted",
        })
    }
}

/// What an API error means, independent of its exact code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The session or token is invalid or expired (401).
    InvalidSession,
    /// The org's API request limit is exhausted (403 REQUEST_LIMIT_EXCEEDED).
    RequestLimit,
    /// The request was refused for another reason (403).
    Forbidden,
    NotFound,
    EntityDeleted,
    InvalidField,
    InvalidType,
    MalformedId,
    MalformedQuery,
    InvalidQueryLocator,
    DuplicateValue,
    /// A validation of the record's values failed (required fields, lengths, formats, rules).
    Validation,
    /// Another transaction holds the row lock; worth retrying.
    RowLock,
    /// A composite subrequest was not run because an earlier one failed.
    ProcessingHalted,
    MethodNotAllowed,
    /// The server failed or is unavailable (5xx).
    Server,
    /// A code this client has no kind for; the code is kept verbatim on the error.
    Other,
}

impl ErrorKind {
    /// Maps an errorCode (and, for unknown codes, the status) to a kind.
    pub fn classify(error_code: &str, status: u16) -> Self {
        match error_code {
            "INVALID_SESSION_ID" | "INVALID_AUTH_HEADER" => ErrorKind::InvalidSession,
            "REQUEST_LIMIT_EXCEEDED" => ErrorKind::RequestLimit,
            "API_DISABLED_FOR_ORG"
            | "API_CURRENTLY_DISABLED"
            | "INSUFFICIENT_ACCESS"
            | "INSUFFICIENT_ACCESS_OR_READONLY" => ErrorKind::Forbidden,
            "NOT_FOUND" => ErrorKind::NotFound,
            "ENTITY_IS_DELETED" => ErrorKind::EntityDeleted,
            "INVALID_FIELD" => ErrorKind::InvalidField,
            "INVALID_TYPE" => ErrorKind::InvalidType,
            "MALFORMED_ID" | "INVALID_ID_FIELD" => ErrorKind::MalformedId,
            "MALFORMED_QUERY" => ErrorKind::MalformedQuery,
            "INVALID_QUERY_LOCATOR" => ErrorKind::InvalidQueryLocator,
            "DUPLICATE_VALUE" => ErrorKind::DuplicateValue,
            "REQUIRED_FIELD_MISSING"
            | "FIELD_CUSTOM_VALIDATION_EXCEPTION"
            | "FIELD_INTEGRITY_EXCEPTION"
            | "INVALID_CROSS_REFERENCE_KEY"
            | "INVALID_FIELD_FOR_INSERT_UPDATE"
            | "STRING_TOO_LONG"
            | "INVALID_EMAIL_ADDRESS"
            | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
            | "JSON_PARSER_ERROR"
            | "NUMBER_OUTSIDE_VALID_RANGE"
            | "INVALID_TYPE_ON_FIELD_IN_RECORD" => ErrorKind::Validation,
            "UNABLE_TO_LOCK_ROW" => ErrorKind::RowLock,
            "PROCESSING_HALTED" | "BATCH_PROCESSING_HALTED" => ErrorKind::ProcessingHalted,
            "METHOD_NOT_ALLOWED" => ErrorKind::MethodNotAllowed,
            "SERVER_UNAVAILABLE" => ErrorKind::Server,
            _ => match status {
                401 => ErrorKind::InvalidSession,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                405 => ErrorKind::MethodNotAllowed,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::Other,
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_has_a_kind() {
        let table = [
            ("INVALID_SESSION_ID", 401, ErrorKind::InvalidSession),
            ("REQUEST_LIMIT_EXCEEDED", 403, ErrorKind::RequestLimit),
            ("API_DISABLED_FOR_ORG", 403, ErrorKind::Forbidden),
            ("API_CURRENTLY_DISABLED", 403, ErrorKind::Forbidden),
            ("MALFORMED_QUERY", 400, ErrorKind::MalformedQuery),
            ("INVALID_FIELD", 400, ErrorKind::InvalidField),
            ("INVALID_TYPE", 400, ErrorKind::InvalidType),
            ("NOT_FOUND", 404, ErrorKind::NotFound),
            ("ENTITY_IS_DELETED", 404, ErrorKind::EntityDeleted),
            ("MALFORMED_ID", 400, ErrorKind::MalformedId),
            ("DUPLICATE_VALUE", 400, ErrorKind::DuplicateValue),
            ("REQUIRED_FIELD_MISSING", 400, ErrorKind::Validation),
            (
                "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                400,
                ErrorKind::Validation,
            ),
            ("FIELD_INTEGRITY_EXCEPTION", 400, ErrorKind::Validation),
            ("UNABLE_TO_LOCK_ROW", 400, ErrorKind::RowLock),
            ("INVALID_CROSS_REFERENCE_KEY", 400, ErrorKind::Validation),
            (
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                400,
                ErrorKind::Validation,
            ),
            ("STRING_TOO_LONG", 400, ErrorKind::Validation),
            ("INVALID_EMAIL_ADDRESS", 400, ErrorKind::Validation),
            (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                400,
                ErrorKind::Validation,
            ),
            ("JSON_PARSER_ERROR", 400, ErrorKind::Validation),
            ("INVALID_QUERY_LOCATOR", 400, ErrorKind::InvalidQueryLocator),
            ("METHOD_NOT_ALLOWED", 405, ErrorKind::MethodNotAllowed),
            ("PROCESSING_HALTED", 400, ErrorKind::ProcessingHalted),
            ("SERVER_UNAVAILABLE", 503, ErrorKind::Server),
        ];
        for (code, status, kind) in table {
            assert_eq!(ErrorKind::classify(code, status), kind, "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim_and_classified_by_status() {
        let body = br#"[{"message":"Brand new","errorCode":"SOMETHING_NEW","fields":["A"]}]"#;
        let e = ApiError::from_response(418, body, Attempts::default());
        assert_eq!(e.error_code, "SOMETHING_NEW");
        assert_eq!(e.kind, ErrorKind::Other);
        assert_eq!(e.fields, vec!["A".to_owned()]);
        let e = ApiError::from_response(502, b"<html>bad gateway</html>", Attempts::default());
        assert_eq!(e.error_code, "UNKNOWN_ERROR");
        assert_eq!(e.kind, ErrorKind::Server);
        assert!(e.message.contains("bad gateway"));
    }

    #[test]
    fn collection_style_status_code_is_read_too() {
        let body = br#"[{"statusCode":"MALFORMED_ID","message":"bad","fields":["Id"]}]"#;
        let e = ApiError::from_response(400, body, Attempts::default());
        assert_eq!(e.kind, ErrorKind::MalformedId);
    }

    fn api(status: u16, body: &str) -> Error {
        Error::Api(Box::new(ApiError::from_response(
            status,
            body.as_bytes(),
            Attempts {
                count: 2,
                retried_causes: vec!["HTTP 503".into()],
            },
        )))
    }

    fn transport(kind: TransportErrorKind, outcome_unknown: bool) -> TransportFailure {
        TransportFailure {
            kind,
            message: "reset by peer".into(),
            attempts: Attempts {
                count: 3,
                retried_causes: Vec::new(),
            },
            outcome_unknown,
        }
    }

    #[test]
    fn the_rest_of_the_codes_and_the_statuses_of_unknown_ones_are_classified() {
        let table = [
            ("INVALID_AUTH_HEADER", 401, ErrorKind::InvalidSession),
            ("INSUFFICIENT_ACCESS", 403, ErrorKind::Forbidden),
            ("INSUFFICIENT_ACCESS_OR_READONLY", 403, ErrorKind::Forbidden),
            ("INVALID_ID_FIELD", 400, ErrorKind::MalformedId),
            ("NUMBER_OUTSIDE_VALID_RANGE", 400, ErrorKind::Validation),
            (
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                400,
                ErrorKind::Validation,
            ),
            ("BATCH_PROCESSING_HALTED", 400, ErrorKind::ProcessingHalted),
            ("UNKNOWN_ERROR", 401, ErrorKind::InvalidSession),
            ("UNKNOWN_ERROR", 403, ErrorKind::Forbidden),
            ("UNKNOWN_ERROR", 404, ErrorKind::NotFound),
            ("UNKNOWN_ERROR", 405, ErrorKind::MethodNotAllowed),
            ("UNKNOWN_ERROR", 500, ErrorKind::Server),
            ("UNKNOWN_ERROR", 599, ErrorKind::Server),
            ("UNKNOWN_ERROR", 400, ErrorKind::Other),
            ("UNKNOWN_ERROR", 600, ErrorKind::Other),
        ];
        for (code, status, kind) in table {
            assert_eq!(ErrorKind::classify(code, status), kind, "{code} {status}");
        }
    }

    #[test]
    fn an_error_body_of_one_object_and_of_several_entries_is_read() {
        let Error::Api(one) = api(400, r#"{"message":"m","errorCode":"NOT_FOUND"}"#) else {
            panic!("an API error");
        };
        assert_eq!((one.kind, one.errors.len()), (ErrorKind::NotFound, 1));
        let Error::Api(many) = api(
            400,
            r#"[{"message":"a","errorCode":"STRING_TOO_LONG","fields":["Name"]},{"message":"b","errorCode":"INVALID_EMAIL_ADDRESS"}]"#,
        ) else {
            panic!("an API error");
        };
        assert_eq!(many.error_code, "STRING_TOO_LONG");
        assert_eq!(many.errors[1].error_code, "INVALID_EMAIL_ADDRESS");
        assert_eq!(
            many.to_string(),
            "STRING_TOO_LONG (HTTP 400): a [fields: Name]"
        );
        let long = "x".repeat(2_000);
        let Error::Api(text) = api(500, &long) else {
            panic!("an API error");
        };
        assert_eq!(
            text.message.len(),
            500,
            "a non-JSON body is cut to 500 characters"
        );
        assert_eq!(
            text.to_string(),
            format!("UNKNOWN_ERROR (HTTP 500): {}", "x".repeat(500))
        );
    }

    #[test]
    fn attempts_and_codes_are_found_on_the_variants_that_carry_them() {
        let oauth = Error::OAuth(Box::new(OAuthError {
            status: 400,
            error: "invalid_grant".into(),
            error_description: "expired access/refresh token".into(),
            attempts: Attempts::default(),
        }));
        let multiple = Error::MultipleMatches {
            matches: vec!["a".into(), "b".into()],
            attempts: Attempts::default(),
        };
        let pubsub = Error::PubSub {
            status: "Unavailable".into(),
            error_code: "sfdc.platform.eventbus.grpc.service.unavailable".into(),
            message: "try later".into(),
            rpc_id: None,
        };
        let replay = Error::ReplayId {
            error_code: "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted".into(),
            message: "corrupted".into(),
        };
        let api_error = api(404, r#"[{"message":"gone","errorCode":"NOT_FOUND"}]"#);
        assert_eq!(api_error.attempts().map(|a| a.count), Some(2));
        assert_eq!(api_error.error_code(), Some("NOT_FOUND"));
        assert_eq!(oauth.error_code(), Some("invalid_grant"));
        assert_eq!(oauth.attempts(), Some(&Attempts::default()));
        assert!(multiple.attempts().is_some() && multiple.error_code().is_none());
        assert_eq!(
            pubsub.error_code(),
            Some("sfdc.platform.eventbus.grpc.service.unavailable")
        );
        assert!(pubsub.attempts().is_none());
        assert!(replay
            .error_code()
            .is_some_and(|c| c.ends_with("corrupted")));
        let mut broken = Error::Transport(transport(TransportErrorKind::Io, false));
        assert_eq!(broken.attempts().map(|a| a.count), Some(3));
        if let Some(slot) = broken.attempts_mut() {
            slot.count = 7;
        }
        assert_eq!(broken.attempts().map(|a| a.count), Some(7));
        let mut closed = Error::Closed;
        assert!(closed.attempts_mut().is_none() && closed.error_code().is_none());
    }

    #[test]
    fn every_message_says_what_happened() {
        let cases: Vec<(Error, &str)> = vec![
            (Error::config("SF_GZIP", "not a boolean"), "invalid setting SF_GZIP: not a boolean"),
            (
                Error::invalid_argument("object", "is empty"),
                "invalid argument object: is empty",
            ),
            (
                Error::Csv {
                    line: 3,
                    message: "unclosed quote".into(),
                },
                "malformed CSV at line 3: unclosed quote",
            ),
            (
                Error::BulkTimeout {
                    job_ids: vec!["750A".into(), "750B".into()],
                    waited_secs: 12.25,
                },
                "bulk jobs still running after 12.2 s: 750A, 750B",
            ),
            (
                Error::BulkIncomplete {
                    job_ids: vec!["750A".into()],
                    job_states: vec!["JobComplete".into()],
                    records_processed: 10,
                    records_failed: 1,
                    unsent_rows: vec![(11, 20), (31, 40)],
                    cause: Box::new(Error::Interrupted),
                },
                "a bulk load stopped part way: 1 job(s) ran or may still run (10 rows processed, 1 \
                 failed; resume them by id), rows 11-20, 31-40 were not loaded: interrupted",
            ),
            (
                Error::BulkIncomplete {
                    job_ids: Vec::new(),
                    job_states: Vec::new(),
                    records_processed: 0,
                    records_failed: 0,
                    unsent_rows: Vec::new(),
                    cause: Box::new(Error::Closed),
                },
                "a bulk load stopped part way: 0 job(s) ran or may still run (0 rows processed, 0 \
                 failed; resume them by id), every row was sent: the client is closed: build a new one",
            ),
            (
                Error::RecordsIncomplete {
                    results: vec![
                        RecordResult {
                            id: Some("001A".into()),
                            success: true,
                            errors: Vec::new(),
                            created: None,
                        },
                        RecordResult {
                            id: None,
                            success: false,
                            errors: Vec::new(),
                            created: None,
                        },
                    ],
                    cause: Box::new(Error::Interrupted),
                },
                "1 of 2 records were written before a call failed: interrupted",
            ),
            (
                Error::BulkJob {
                    job_id: "750A".into(),
                    state: "Failed".into(),
                    message: "InvalidBatch".into(),
                },
                "bulk job 750A ended Failed: InvalidBatch",
            ),
            (
                Error::MultipleMatches {
                    matches: vec!["a".into(), "b".into()],
                    attempts: Attempts::default(),
                },
                "external id matched 2 records; nothing was written",
            ),
            (
                Error::AuthProvider("vault sealed".into()),
                "the auth provider failed: vault sealed",
            ),
            (
                Error::PubSub {
                    status: "Unavailable".into(),
                    error_code: String::new(),
                    message: "down".into(),
                    rpc_id: Some("r1".into()),
                },
                "Pub/Sub Unavailable: down",
            ),
            (
                Error::ReplayId {
                    error_code: String::new(),
                    message: "out of retention".into(),
                },
                "invalid replay id: out of retention",
            ),
            (
                Error::Avro {
                    schema_id: "S1".into(),
                    message: "missing field".into(),
                },
                "event payload does not match schema S1: missing field",
            ),
            (
                Error::CircuitOpen {
                    family: "rest".into(),
                    retry_in: std::time::Duration::from_millis(2_500),
                },
                "the rest circuit is open after repeated outages: calls fail at once for 2.5 s \
                 more, then one is let through to see whether the service is back",
            ),
            (
                Error::UnexpectedResponse {
                    status: 200,
                    message: "not JSON".into(),
                },
                "unexpected response (HTTP 200): not JSON",
            ),
            (
                Error::OAuth(Box::new(OAuthError {
                    status: 400,
                    error: "invalid_grant".into(),
                    error_description: "expired".into(),
                    attempts: Attempts::default(),
                })),
                "invalid_grant (HTTP 400): expired",
            ),
            (
                Error::Transport(transport(TransportErrorKind::Io, true)),
                "connection error after 3 attempt(s): reset by peer; the request was sent, so the \
                 write may or may not have happened",
            ),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
        let kinds = [
            (TransportErrorKind::Connect, "connection failed"),
            (TransportErrorKind::Timeout, "timed out"),
            (TransportErrorKind::Io, "connection error"),
            (TransportErrorKind::Unmatched, "no recorded answer"),
            (TransportErrorKind::Certificate, "certificate not trusted"),
        ];
        for (kind, said) in kinds {
            assert_eq!(
                transport(kind, false).to_string(),
                format!("{said} after 3 attempt(s): reset by peer")
            );
        }
    }

    #[test]
    fn record_results_read_collection_answers_with_their_defaults() {
        let results: Vec<RecordResult> = serde_json::from_str(
            r#"[{"success":true,"id":"001A","created":true},{"success":false,"errors":[{"statusCode":"DUPLICATE_VALUE","message":"dup"}]}]"#,
        )
        .unwrap_or_default();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].created, Some(true));
        assert!(results[0].errors.is_empty());
        assert_eq!(results[1].id, None);
        assert_eq!(results[1].errors[0].error_code, "DUPLICATE_VALUE");
        assert!(results[1].errors[0].fields.is_empty());
    }
}
