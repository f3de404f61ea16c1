"""Valid sample records of the standard objects, for tests and demos."""

from __future__ import annotations

from typing import Any

__all__ = ["make_account", "make_case", "make_contact", "make_lead", "make_opportunity", "sample_account"]


def make_account(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Account record (``n`` varies the values), with ``overrides`` applied."""
    return {"Name": f"Account {n}", "Industry": "Technology", "BillingCity": "San Francisco", **overrides}


def make_contact(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Contact record."""
    return {"FirstName": "Test", "LastName": f"Contact {n}", "Email": f"contact{n}@example.com", **overrides}


def make_lead(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Lead record."""
    return {"LastName": f"Lead {n}", "Company": f"Company {n}", **overrides}


def make_opportunity(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Opportunity record."""
    return {"Name": f"Opportunity {n}", "StageName": "Prospecting", "CloseDate": "2030-01-31", **overrides}


def make_case(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid Case record."""
    return {"Subject": f"Case {n}", "Origin": "Web", **overrides}


def sample_account(i: int) -> dict[str, object]:
    """An Account with 10 fields set, for demos and benchmarks."""
    return {
        "Name": f"Account {i}",
        "AccountNumber": f"AN-{i:08}",
        "Type": "Customer - Direct",
        "Industry": "Energy",
        "AnnualRevenue": i * 10.5,
        "NumberOfEmployees": i % 5000,
        "Phone": "+1 415 555 0100",
        "Website": "https://example.com",
        "BillingCity": "San Francisco",
    }
