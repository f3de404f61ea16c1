"""salesforce_api: a Salesforce client with a Rust engine, sync and async.

>>> from salesforce_api import Salesforce
>>> sf = Salesforce.from_env()
>>> sf.sobjects.create("Account", {"Name": "Acme"})
"""

from ._core import __version__
from .client import AsyncSalesforce, Salesforce
from .config import ClientBuilder
from .errors import (
    AuthError,
    ConfigError,
    ConnectError,
    DuplicateValueError,
    EntityDeletedError,
    ForbiddenError,
    InvalidArgumentError,
    InvalidFieldError,
    InvalidQueryLocatorError,
    InvalidSessionError,
    InvalidTypeError,
    MalformedIdError,
    MalformedQueryError,
    MethodNotAllowedError,
    MultipleMatchesError,
    NotFoundError,
    ProcessingHaltedError,
    RequestLimitError,
    RequestTimeoutError,
    RowLockError,
    SalesforceError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from .results import (
    ApiUsage,
    DescribeGlobal,
    FieldDescribe,
    RetryEvent,
    SaveResult,
    SObjectDescribe,
    SObjectSummary,
    UpsertResult,
)

__all__ = [
    "ApiUsage",
    "AsyncSalesforce",
    "AuthError",
    "ClientBuilder",
    "ConfigError",
    "ConnectError",
    "DescribeGlobal",
    "DuplicateValueError",
    "EntityDeletedError",
    "FieldDescribe",
    "ForbiddenError",
    "InvalidArgumentError",
    "InvalidFieldError",
    "InvalidQueryLocatorError",
    "InvalidSessionError",
    "InvalidTypeError",
    "MalformedIdError",
    "MalformedQueryError",
    "MethodNotAllowedError",
    "MultipleMatchesError",
    "NotFoundError",
    "ProcessingHaltedError",
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
    "TransportError",
    "UnexpectedResponseError",
    "UpsertResult",
    "ValidationError",
    "__version__",
]
