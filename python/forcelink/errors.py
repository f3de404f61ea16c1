"""Exceptions raised by forcelink.

Every exception is a ``SalesforceError`` and carries what Salesforce said:
``error_code`` (for example ``"INVALID_FIELD"``), ``status`` (the HTTP status), ``fields`` (the
fields at fault), ``message``, and ``errors`` (every entry of the error body). ``attempts`` and
``retried_causes`` tell how often the request was sent and why earlier tries failed.

Where the meaning matches a builtin, the exception is also that builtin: a
``ConfigError`` is a ``ValueError``, a ``RequestTimeoutError`` a ``TimeoutError``, a
``ConnectError`` a ``ConnectionError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AuthError",
    "BulkIncompleteError",
    "BulkInterruptedError",
    "BulkJobError",
    "BulkTimeoutError",
    "CircuitOpenError",
    "ClientClosedError",
    "CollectionsIncompleteError",
    "ConfigError",
    "ConnectError",
    "CsvFormatError",
    "DuplicateValueError",
    "EntityDeletedError",
    "EventDecodeError",
    "EventSchemaError",
    "ForbiddenError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidClientError",
    "InvalidFieldError",
    "InvalidGrantError",
    "InvalidQueryLocatorError",
    "InvalidSessionError",
    "InvalidTypeError",
    "MalformedIdError",
    "MalformedQueryError",
    "MethodNotAllowedError",
    "MultipleMatchesError",
    "NotFoundError",
    "OutcomeUnknownError",
    "ProcessingHaltedError",
    "PubSubError",
    "ReplayIdError",
    "RequestLimitError",
    "RequestTimeoutError",
    "RowLockError",
    "SalesforceError",
    "ServerError",
    "SimulationError",
    "TransportError",
    "UnexpectedResponseError",
    "ValidationError",
]


class SalesforceError(Exception):
    """Base of every error raised by this package."""

    message: str
    error_code: str | None
    status: int | None
    fields: list[str]
    errors: list[dict[str, Any]]
    attempts: int
    retried_causes: list[str]

    def __init__(
        self,
        message: str,
        *,
        error_code: str | None = None,
        status: int | None = None,
        fields: Sequence[str] = (),
        errors: Sequence[Mapping[str, Any]] = (),
        attempts: int = 1,
        retried_causes: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code
        self.status = status
        self.fields = list(fields)
        self.errors = [dict(e) for e in errors]
        self.attempts = attempts
        self.retried_causes = list(retried_causes)

    def __str__(self) -> str:
        head = " ".join(
            part for part in (self.error_code or "", f"(HTTP {self.status})" if self.status else "") if part
        )
        text = f"{head}: {self.message}" if head else self.message
        if self.fields:
            text += f" [fields: {', '.join(self.fields)}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, error_code={self.error_code!r}, status={self.status!r})"
        )


class ConfigError(SalesforceError, ValueError):
    """A setting is missing or invalid; nothing was sent. ``setting`` names it."""

    def __init__(self, message: str, *, setting: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.setting = setting


class InvalidArgumentError(SalesforceError, ValueError):
    """An argument cannot be sent as given (a malformed id, a name that is not an API name);
    nothing was sent. ``argument`` names it."""

    def __init__(self, message: str, *, argument: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.argument = argument


class CsvFormatError(InvalidArgumentError):
    """Bulk input is not well-formed CSV (an unclosed quote, a wrong number of fields, a stray
    quote, bytes that are not UTF-8); no job was created. ``line`` is the 1-based line at fault."""

    def __init__(self, message: str, *, line: int = 0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.line = line


class BulkTimeoutError(SalesforceError, TimeoutError):
    """Bulk jobs did not finish within the timeout. They go on at Salesforce (none was aborted
    or deleted); ``job_ids`` lists them, for ``sf.bulk.resume(job_ids)``."""

    def __init__(self, message: str, *, job_ids: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job_ids = list(job_ids)


class BulkIncompleteError(SalesforceError):
    """A load stopped part way. ``job_ids`` ran, or hold their data and may still be running
    because their end was not seen (pass them to ``sf.bulk.resume`` for their results:
    ``records_processed``, ``records_failed``); ``jobs`` gives each one's ``id`` and the
    ``state`` it was last seen in.
    ``unsent_rows`` lists the data rows, as (first, last) counted from 1 after the header, that
    were not loaded, and ``cause`` (also ``__cause__``) says why. Loading just those rows again
    (the ``rows`` option of a load) duplicates nothing."""

    def __init__(
        self,
        message: str,
        *,
        job_ids: Sequence[str] = (),
        jobs: Sequence[Mapping[str, str]] = (),
        records_processed: int = 0,
        records_failed: int = 0,
        unsent_rows: Sequence[tuple[int, int]] = (),
        cause: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.job_ids = list(job_ids)
        self.jobs = [dict(j) for j in jobs] or [{"id": i, "state": ""} for i in self.job_ids]
        self.records_processed = records_processed
        self.records_failed = records_failed
        self.unsent_rows = [(int(first), int(last)) for first, last in unsent_rows]
        self.cause = cause
        self.__cause__ = cause


class BulkInterruptedError(BulkIncompleteError, KeyboardInterrupt):
    """A load stopped by Ctrl-C (a ``KeyboardInterrupt`` still, so the program stops unless it
    catches it). No job was started after the interrupt; a job still being uploaded was aborted
    (nothing of it ran) and its rows are in ``unsent_rows``; jobs already closed go on at
    Salesforce and are in ``job_ids``. ``sf.bulk.resume(job_ids)`` and a load of just the
    ``unsent_rows`` (``rows=error.unsent_rows``) finish the load with each row loaded once."""


class CollectionsIncompleteError(SalesforceError):
    """A collection write of more than 200 records (several calls) in which some calls failed
    after others went through. ``results`` holds one ``RecordResult`` per record, in input
    order: those of the failed calls have ``success=False`` and an error ``NOT_PROCESSED`` (the
    call was refused) or ``OUTCOME_UNKNOWN`` (its answer was lost: check before sending again).
    ``cause`` (also ``__cause__``) says why."""

    def __init__(
        self, message: str, *, results: Sequence[Any] = (), cause: BaseException | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.results = list(results)
        self.cause = cause
        self.__cause__ = cause


class BulkJobError(SalesforceError):
    """A bulk job ended ``Failed`` or ``Aborted`` where its results were needed (a bulk query).
    ``job_id`` and ``state`` say which and how."""

    def __init__(self, message: str, *, job_id: str = "", state: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.job_id = job_id
        self.state = state


class PubSubError(SalesforceError):
    """The Pub/Sub API refused a call or ended a subscription for good. ``grpc_status`` is the
    gRPC status name (``UNAVAILABLE``, ``NOT_FOUND``...), ``error_code`` the service's
    ``sfdc.platform.eventbus.grpc.*`` code and ``rpc_id`` its id for support."""

    def __init__(
        self, message: str, *, grpc_status: str = "", rpc_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.grpc_status = grpc_status
        self.rpc_id = rpc_id


class ReplayIdError(PubSubError, ValueError):
    """A subscription cannot start at the replay id given: malformed, never issued, or past
    retention. The subscriber did not move to another position; resubscribe explicitly (for
    example from ``"earliest"``)."""


class EventSchemaError(SalesforceError, ValueError):
    """An event payload does not match its Avro schema (``schema_id``)."""

    def __init__(self, message: str, *, schema_id: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.schema_id = schema_id


class EventDecodeError(EventSchemaError):
    """A delivered event whose payload could not be decoded with its schema. The subscription
    goes on: the event is handed over with this error as ``event.decode_error``, and reading
    ``event.payload`` raises it. ``replay_id``, ``schema_id``, ``event_id`` and ``raw`` (the
    payload bytes as received) say which event it was, so it can be set aside and replayed."""

    def __init__(
        self,
        message: str,
        *,
        replay_id: bytes = b"",
        event_id: str = "",
        raw: bytes = b"",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.replay_id = replay_id
        self.event_id = event_id
        self.raw = raw


class InternalError(SalesforceError):
    """A defect in forcelink itself, never a problem with the caller's input: the engine hit a
    state it should not (a Rust panic, caught at the boundary rather than let through as a
    ``BaseException``). The message says where; please report it."""


class AuthError(SalesforceError):
    """Authentication failed: the token endpoint refused, or the session is not valid.
    ``error`` is the OAuth error code (also in ``error_code``) and ``error_description`` its
    description, where the token endpoint gave them."""

    def __init__(self, message: str, *, error_description: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.error_description = error_description

    @property
    def error(self) -> str | None:
        """The OAuth error code, such as ``invalid_grant`` (the same as ``error_code``)."""
        return self.error_code


class InvalidGrantError(AuthError):
    """The token endpoint refused the grant (``invalid_grant``): a bad or expired assertion, a
    wrong audience, an unapproved user, a revoked or expired refresh token."""


class InvalidClientError(AuthError):
    """The connected app is unknown or its secret is wrong (``invalid_client_id``,
    ``invalid_client``)."""


class InvalidSessionError(AuthError):
    """The access token expired or was revoked (401 INVALID_SESSION_ID)."""


class ForbiddenError(SalesforceError):
    """The request was refused (403), e.g. the API is disabled for the org or the user."""


class RequestLimitError(ForbiddenError):
    """The org's API request limit is used up (403 REQUEST_LIMIT_EXCEEDED)."""


class NotFoundError(SalesforceError):
    """The record or resource does not exist (404 NOT_FOUND)."""


class EntityDeletedError(NotFoundError):
    """The record is in the recycle bin (404 ENTITY_IS_DELETED)."""


class InvalidFieldError(SalesforceError):
    """A field does not exist or cannot be used here (INVALID_FIELD)."""


class InvalidTypeError(SalesforceError):
    """The object type does not exist or is not supported (INVALID_TYPE)."""


class MalformedIdError(SalesforceError, ValueError):
    """Salesforce could not read a record id (MALFORMED_ID)."""


class MalformedQueryError(SalesforceError, ValueError):
    """The SOQL query is not valid (MALFORMED_QUERY)."""


class InvalidQueryLocatorError(SalesforceError):
    """A query cursor is unknown or expired (INVALID_QUERY_LOCATOR)."""


class DuplicateValueError(SalesforceError):
    """A unique field's value is already used by another record (DUPLICATE_VALUE)."""


class ValidationError(SalesforceError):
    """A record's values failed validation: required fields, lengths, formats, types or rules."""


class RowLockError(SalesforceError):
    """Another transaction held the record's lock (UNABLE_TO_LOCK_ROW); retried before raising."""


class ProcessingHaltedError(SalesforceError):
    """A composite subrequest was not run because an earlier one failed."""


class MethodNotAllowedError(SalesforceError):
    """The resource does not take this HTTP method (405)."""


class ServerError(SalesforceError):
    """Salesforce failed or is unavailable (5xx); retried before raising where that is safe."""


class MultipleMatchesError(SalesforceError):
    """An upsert's external id matched several records (HTTP 300); nothing was written.
    ``matches`` lists the matching records' URLs."""

    def __init__(self, message: str, *, matches: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.matches = list(matches)


class UnexpectedResponseError(SalesforceError):
    """Salesforce answered something this client cannot read."""


class TransportError(SalesforceError):
    """The request did not complete (connection reset, TLS failure); retried where safe."""


class ConnectError(TransportError, ConnectionError):
    """No connection could be made; the request never left."""


class ClientClosedError(SalesforceError, RuntimeError):
    """The client was closed (``close()``, the end of its ``with`` block): build a new one."""


class CircuitOpenError(TransportError):
    """The circuit breaker of a service family (``family``: ``"rest"``, ``"bulk"`` or
    ``"pubsub"``) is open after repeated outages: the call was not sent. ``retry_in`` is how many
    seconds until one call is let through to see whether the service is back."""

    def __init__(self, message: str, *, family: str = "", retry_in: float = 0.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.family = family
        self.retry_in = retry_in


class OutcomeUnknownError(TransportError):
    """A write was sent and the connection failed before its answer came: Salesforce may or
    may not have done it. A create, an upsert or a composite call is never resent blindly, so
    check (by external id, or with a query) before sending it again; an update or a delete
    was already retried, and the last try's answer was lost."""


class SimulationError(TransportError, LookupError):
    """A replayer (or fake transport) had no recorded answer for the request; the message names
    the request. Nothing was sent."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The connect or request timeout ran out."""
