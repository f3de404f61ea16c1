"""Health reports for probes and dashboards: ``Salesforce.health`` checks that a token can
be had, that the API answers, and the daily API usage against thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["HealthCheck", "HealthReport"]

Status = Literal["ok", "degraded", "down"]


@dataclass(frozen=True)
class HealthCheck:
    """One check: ``name`` is ``"token"``, ``"api"`` or ``"api_usage"``; ``status`` ``"ok"``,
    ``"degraded"`` or ``"down"``; ``duration`` in seconds; ``detail`` what it found (an error
    code and message when it failed)."""

    name: str
    status: Status
    duration: float
    detail: str


@dataclass(frozen=True)
class HealthReport:
    """Every check, and ``status``: the worst of theirs. ``exit_code`` is 0, 1 or 2 for ok,
    degraded and down, as the ``forcelink health`` command exits."""

    status: Status
    checks: tuple[HealthCheck, ...]

    @property
    def exit_code(self) -> int:
        """0 when ok, 1 when degraded, 2 when down."""
        return {"ok": 0, "degraded": 1, "down": 2}[self.status]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "status": self.status,
            "checks": [
                {"name": c.name, "status": c.status, "duration_seconds": c.duration, "detail": c.detail}
                for c in self.checks
            ],
        }

    @classmethod
    def _from_engine(cls, raw: dict[str, Any]) -> HealthReport:
        return cls(
            status=raw["status"],
            checks=tuple(
                HealthCheck(c["name"], c["status"], c["duration_seconds"], c["detail"]) for c in raw["checks"]
            ),
        )
