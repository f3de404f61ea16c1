"""What the circuit breakers report (``client.circuit_breakers``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CircuitState"]


@dataclass(frozen=True)
class CircuitState:
    """Where one service family's circuit breaker stands: ``state`` is ``"closed"``,
    ``"open"`` or ``"half_open"``; ``failures`` the outages in a row while closed; ``retry_in``
    the seconds until one call is let through while open."""

    family: str
    state: str
    failures: int
    retry_in: float | None
