//! The one conversion of client errors to Python exceptions. The classes live in
//! `forcelink/errors.py`; the match below is exhaustive, so a new kind cannot be missed.

use crate::results::error_dicts;
use forcelink::{Error, ErrorKind, TransportErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `forcelink.errors.InternalError`: a defect in this library, never the caller's input.
#[cold]
pub fn internal_error(message: &str) -> PyErr {
    Python::with_gil(|py| {
        let class = py
            .import("forcelink.errors")
            .and_then(|m| m.getattr("InternalError"));
        match class.and_then(|c| c.call1((message,))) {
            Ok(instance) => PyErr::from_value(instance),
            Err(failed) => failed,
        }
    })
}

/// Converts a client error to the matching `forcelink.errors` exception.
pub fn to_pyerr(err: Error) -> PyErr {
    Python::with_gil(|py| build(py, err).unwrap_or_else(|failed| failed))
}

fn class_for_kind(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSession => "InvalidSessionError",
        ErrorKind::RequestLimit => "RequestLimitError",
        ErrorKind::Forbidden => "ForbiddenError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::EntityDeleted => "EntityDeletedError",
        ErrorKind::InvalidField => "InvalidFieldError",
        ErrorKind::InvalidType => "InvalidTypeError",
        ErrorKind::MalformedId => "MalformedIdError",
        ErrorKind::MalformedQuery => "MalformedQueryError",
        ErrorKind::InvalidQueryLocator => "InvalidQueryLocatorError",
        ErrorKind::DuplicateValue => "DuplicateValueError",
        ErrorKind::Validation => "ValidationError",
        ErrorKind::RowLock => "RowLockError",
        ErrorKind::ProcessingHalted => "ProcessingHaltedError",
        ErrorKind::MethodNotAllowed => "MethodNotAllowedError",
        ErrorKind::Server => "ServerError",
        ErrorKind::Other => "SalesforceError",
    }
}

fn build(py: Python<'_>, err: Error) -> PyResult<PyErr> {
    let module = py.import("forcelink.errors")?;
    let kwargs = PyDict::new(py);
    if let Some(attempts) = err.attempts() {
        kwargs.set_item("attempts", attempts.count)?;
        kwargs.set_item("retried_causes", PyList::new(py, &attempts.retried_causes)?)?;
    }
    let message = err.to_string();
    let class = match err {
        Error::Config { setting, .. } => {
            kwargs.set_item("setting", setting)?;
            "ConfigError"
        }
        Error::InvalidArgument { argument, .. } => {
            kwargs.set_item("argument", argument)?;
            "InvalidArgumentError"
        }
        Error::Api(api) => {
            kwargs.set_item("error_code", &api.error_code)?;
            kwargs.set_item("status", api.status)?;
            kwargs.set_item("fields", PyList::new(py, &api.fields)?)?;
            kwargs.set_item("errors", error_dicts(py, &api.errors, "errorCode")?)?;
            return instantiate(&module, class_for_kind(api.kind), &api.message, &kwargs);
        }
        Error::OAuth(oauth) => {
            kwargs.set_item("error_code", &oauth.error)?;
            kwargs.set_item("status", oauth.status)?;
            kwargs.set_item("error_description", &oauth.error_description)?;
            let class = match oauth.error.as_str() {
                "invalid_grant" => "InvalidGrantError",
                "invalid_client_id" | "invalid_client" | "invalid_client_credentials" => {
                    "InvalidClientError"
                }
                _ => "AuthError",
            };
            return instantiate(&module, class, &oauth.error_description, &kwargs);
        }
        Error::AuthProvider(_) => "AuthError",
        Error::Csv { line, .. } => {
            kwargs.set_item("argument", "data")?;
            kwargs.set_item("line", line)?;
            "CsvFormatError"
        }
        Error::BulkTimeout { job_ids, .. } => {
            kwargs.set_item("job_ids", PyList::new(py, &job_ids)?)?;
            "BulkTimeoutError"
        }
        Error::RecordsIncomplete { results, cause } => {
            kwargs.set_item("error_code", cause.error_code())?;
            if let Error::Api(api) = cause.as_ref() {
                kwargs.set_item("status", api.status)?;
            }
            kwargs.set_item(
                "results",
                crate::results::ResultsOut(results).into_pyobject(py)?,
            )?;
            kwargs.set_item("cause", build(py, *cause)?.into_value(py))?;
            "CollectionsIncompleteError"
        }
        Error::BulkIncomplete {
            job_ids,
            job_states,
            records_processed,
            records_failed,
            unsent_rows,
            cause,
        } => {
            kwargs.set_item("error_code", cause.error_code())?;
            if let Error::Api(api) = cause.as_ref() {
                kwargs.set_item("status", api.status)?;
            }
            let jobs = PyList::empty(py);
            for (id, state) in job_ids.iter().zip(&job_states) {
                let job = PyDict::new(py);
                job.set_item("id", id)?;
                job.set_item("state", state)?;
                jobs.append(job)?;
            }
            kwargs.set_item("jobs", jobs)?;
            kwargs.set_item("job_ids", PyList::new(py, &job_ids)?)?;
            kwargs.set_item("records_processed", records_processed)?;
            kwargs.set_item("records_failed", records_failed)?;
            kwargs.set_item("unsent_rows", PyList::new(py, &unsent_rows)?)?;
            let interrupted = matches!(*cause, Error::Interrupted);
            kwargs.set_item("cause", build(py, *cause)?.into_value(py))?;
            if interrupted {
                "BulkInterruptedError"
            } else {
                "BulkIncompleteError"
            }
        }
        Error::Interrupted => {
            return Ok(pyo3::exceptions::PyKeyboardInterrupt::new_err(message));
        }
        Error::BulkJob { job_id, state, .. } => {
            kwargs.set_item("job_id", job_id)?;
            kwargs.set_item("state", state)?;
            "BulkJobError"
        }
        Error::MultipleMatches { matches, .. } => {
            kwargs.set_item("status", 300)?;
            kwargs.set_item("error_code", "MULTIPLE_CHOICES")?;
            kwargs.set_item("matches", PyList::new(py, &matches)?)?;
            "MultipleMatchesError"
        }
        Error::Transport(failure) if failure.outcome_unknown => "OutcomeUnknownError",
        Error::Closed => "ClientClosedError",
        Error::CircuitOpen { family, retry_in } => {
            kwargs.set_item("family", family)?;
            kwargs.set_item("retry_in", retry_in.as_secs_f64())?;
            "CircuitOpenError"
        }
        Error::Transport(failure) => match failure.kind {
            TransportErrorKind::Timeout => "RequestTimeoutError",
            TransportErrorKind::Connect | TransportErrorKind::Certificate => "ConnectError",
            TransportErrorKind::Io => "TransportError",
            TransportErrorKind::Unmatched => "SimulationError",
        },
        Error::UnexpectedResponse { status, .. } => {
            kwargs.set_item("status", status)?;
            "UnexpectedResponseError"
        }
        Error::PubSub {
            status,
            error_code,
            rpc_id,
            ..
        } => {
            kwargs.set_item("grpc_status", status)?;
            kwargs.set_item("error_code", error_code)?;
            kwargs.set_item("rpc_id", rpc_id)?;
            "PubSubError"
        }
        Error::ReplayId { error_code, .. } => {
            kwargs.set_item("grpc_status", "INVALID_ARGUMENT")?;
            kwargs.set_item("error_code", error_code)?;
            "ReplayIdError"
        }
        Error::Avro { schema_id, .. } => {
            kwargs.set_item("schema_id", schema_id)?;
            "EventSchemaError"
        }
    };
    instantiate(&module, class, &message, &kwargs)
}

fn instantiate(
    module: &Bound<'_, PyModule>,
    class: &str,
    message: &str,
    kwargs: &Bound<'_, PyDict>,
) -> PyResult<PyErr> {
    let instance = module.getattr(class)?.call((message,), Some(kwargs))?;
    Ok(PyErr::from_value(instance))
}
