"""forcelink: a Salesforce client with a Rust engine, sync and async.

>>> from forcelink import Salesforce
>>> sf = Salesforce.from_env()
>>> sf.sobjects.create("Account", {"Name": "Acme"})
"""

from typing import TYPE_CHECKING, Any

from ._core import __version__
from .client import AsyncSalesforce, Salesforce
from .config import ClientBuilder
from .errors import (
    AuthError,
    BulkIncompleteError,
    BulkInterruptedError,
    BulkJobError,
    BulkTimeoutError,
    CircuitOpenError,
    ClientClosedError,
    CollectionsIncompleteError,
    ConfigError,
    ConnectError,
    CsvFormatError,
    DuplicateValueError,
    EntityDeletedError,
    EventDecodeError,
    EventSchemaError,
    ForbiddenError,
    InternalError,
    InvalidArgumentError,
    InvalidClientError,
    InvalidFieldError,
    InvalidGrantError,
    InvalidQueryLocatorError,
    InvalidSessionError,
    InvalidTypeError,
    MalformedIdError,
    MalformedQueryError,
    MethodNotAllowedError,
    MultipleMatchesError,
    NotFoundError,
    OutcomeUnknownError,
    ProcessingHaltedError,
    PubSubError,
    ReplayIdError,
    RequestLimitError,
    RequestTimeoutError,
    RowLockError,
    SalesforceError,
    ServerError,
    SimulationError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from .results import (
    ApiResponse,
    ApiUsage,
    DescribeGlobal,
    FieldDescribe,
    QueryPage,
    RecordResult,
    RetryEvent,
    SaveResult,
    SObjectDescribe,
    SObjectSummary,
    TokenInfo,
    UpsertResult,
)
from .soql import format_soql, format_sosl

# Names whose modules load when first asked for: `import forcelink` stays light (see
# benches/cold_start.py), and `from forcelink import BulkResult` works as before.
_LAZY = {
    "AsyncBulkQuery": "bulk",
    "AsyncBulkResult": "bulk",
    "BulkEvent": "bulk",
    "BulkQuery": "bulk",
    "BulkResult": "bulk",
    "CircuitState": "breakers",
    "CompositeRequest": "composite",
    "CompositeResult": "composite",
    "Ref": "composite",
    "HealthCheck": "health",
    "HealthReport": "health",
}

if TYPE_CHECKING:
    from .breakers import CircuitState
    from .bulk import AsyncBulkQuery, AsyncBulkResult, BulkEvent, BulkQuery, BulkResult
    from .composite import CompositeRequest, CompositeResult, Ref
    from .health import HealthCheck, HealthReport


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "ApiResponse",
    "ApiUsage",
    "AsyncBulkQuery",
    "AsyncBulkResult",
    "AsyncSalesforce",
    "AuthError",
    "BulkEvent",
    "BulkIncompleteError",
    "BulkInterruptedError",
    "BulkJobError",
    "BulkQuery",
    "BulkResult",
    "BulkTimeoutError",
    "CircuitOpenError",
    "CircuitState",
    "ClientBuilder",
    "ClientClosedError",
    "CollectionsIncompleteError",
    "CompositeRequest",
    "CompositeResult",
    "ConfigError",
    "ConnectError",
    "CsvFormatError",
    "DescribeGlobal",
    "DuplicateValueError",
    "EntityDeletedError",
    "EventDecodeError",
    "EventSchemaError",
    "FieldDescribe",
    "ForbiddenError",
    "HealthCheck",
    "HealthReport",
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
    "QueryPage",
    "RecordResult",
    "Ref",
    "ReplayIdError",
    "RequestLimitError",
    "RequestTimeoutError",
    "RetryEvent",
    "RowLockError",
    "SObjectDescribe",
    "SObjectSummary",
    "Salesforce",
    "SalesforceError",
    "SaveResult",
    "ServerError",
    "SimulationError",
    "TokenInfo",
    "TransportError",
    "UnexpectedResponseError",
    "UpsertResult",
    "ValidationError",
    "__version__",
    "format_soql",
    "format_sosl",
]
