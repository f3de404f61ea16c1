"""The exception classes the Rust bindings look up by name exist in forcelink.errors, with the
bases the bindings' choice of class assumes. A renamed class would otherwise surface only as an
AttributeError in the one error path that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import forcelink.errors as errors

BINDINGS = Path(__file__).resolve().parents[2] / "rust" / "python" / "src"

# The base each group of names is chosen for: a timeout is a TimeoutError, a refusal of the
# caller's input a ValueError, a lost connection a TransportError, and so on.
EXPECTED_BASES: dict[str, tuple[type[BaseException], ...]] = {
    "InvalidSessionError": (errors.AuthError,),
    "InvalidGrantError": (errors.AuthError,),
    "InvalidClientError": (errors.AuthError,),
    "RequestLimitError": (errors.ForbiddenError,),
    "EntityDeletedError": (errors.NotFoundError,),
    "MalformedIdError": (ValueError,),
    "MalformedQueryError": (ValueError,),
    "ConfigError": (ValueError,),
    "InvalidArgumentError": (ValueError,),
    "CsvFormatError": (errors.InvalidArgumentError,),
    "BulkTimeoutError": (TimeoutError,),
    "BulkInterruptedError": (errors.BulkIncompleteError, KeyboardInterrupt),
    "ConnectError": (errors.TransportError, ConnectionError),
    "RequestTimeoutError": (errors.TransportError, TimeoutError),
    "OutcomeUnknownError": (errors.TransportError,),
    "CircuitOpenError": (errors.TransportError,),
    "SimulationError": (errors.TransportError, LookupError),
    "ClientClosedError": (RuntimeError,),
    "ReplayIdError": (errors.PubSubError, ValueError),
    "EventDecodeError": (errors.EventSchemaError,),
}


def looked_up_names() -> set[str]:
    """Every class name the bindings' sources quote: `"...Error"` string literals."""
    names: set[str] = set()
    for source in BINDINGS.glob("*.rs"):
        names.update(re.findall(r'"([A-Z][A-Za-z]*Error)"', source.read_text()))
    return names


def test_the_bindings_name_the_classes_this_test_knows() -> None:
    names = looked_up_names()
    # The source scan itself works: the error conversion's names are found.
    assert {"InvalidSessionError", "BulkInterruptedError", "OutcomeUnknownError"} <= names
    assert len(names) >= 40


@pytest.mark.parametrize("name", sorted(looked_up_names()))
def test_each_looked_up_class_exists_and_is_a_salesforce_error(name: str) -> None:
    cls = getattr(errors, name, None)
    assert isinstance(cls, type), f"forcelink.errors has no class {name}"
    assert issubclass(cls, errors.SalesforceError)
    for base in EXPECTED_BASES.get(name, ()):
        assert issubclass(cls, base), f"{name} is not a {base.__name__}"


def test_every_expected_base_names_a_looked_up_class() -> None:
    assert set(EXPECTED_BASES) <= looked_up_names()
