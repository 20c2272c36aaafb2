"""Which faults the emulator injects: ``Faults``, built from fields, a dict or a ``--faults`` string.

    Faults.parse("429=0.1,5xx=0.05,drop=0.02,latency=0.01-0.05")

Only the description and its checks (no I/O, no randomness): ``faults`` decides and sends them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, TypeAlias

__all__ = ["DEFAULT_EXEMPT", "Faults", "FaultsLike", "RouteKey"]

DEFAULT_EXEMPT: Final = ("/_sandbox", "/h5", "/files", "/videos")
# What ``Faults.parse`` and a dict may call each field (the short names first, then the field names).
_ALIASES: Final = {"429": "rate_429", "5xx": "rate_5xx", "drop": "rate_drop", "latency": "latency",
                   "retry_after": "retry_after", "retry-after": "retry_after", "rate_429": "rate_429",
                   "rate_5xx": "rate_5xx", "rate_drop": "rate_drop"}  # fmt: skip
_SHORT_NAMES: Final = "429, 5xx, drop, latency, retry_after"
_SPEC_HELP: Final = "expected e.g. '429=0.1,5xx=0.2,drop=0.05,latency=0.01' (latency may be a range: 0.01-0.05)"

RouteKey = str | re.Pattern[str]
FaultsLike: TypeAlias = "Faults | Mapping[str, Any] | str"  # what Faults.coerce() accepts


@dataclass(frozen=True, repr=False)
class Faults:
    """Which faults to inject, and how often (each rate is a probability per request).

    ``routes`` maps a path prefix, or a regular expression (a string starting with ``^`` or a
    compiled pattern, searched in the path), to the ``Faults`` used instead of these for the
    paths it matches; the first match in the mapping's order wins. Values may also be dicts or
    ``parse`` strings. ``exempt`` prefixes are never faulted, whatever ``routes`` says.
    """

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    latency: float | tuple[float, float] = 0.0  # seconds, or a (min, max) range drawn uniformly
    retry_after: int = 1  # seconds, in the 429's Retry-After header
    routes: Mapping[RouteKey, FaultsLike] = field(default_factory=dict, hash=False)  # values: Faults once built
    exempt: tuple[str, ...] = DEFAULT_EXEMPT

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_drop"):
            rate = getattr(self, name)
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, not {rate!r}.")
            object.__setattr__(self, name, float(rate))
        if self.rate_429 + self.rate_5xx + self.rate_drop > 1.0 + 1e-9:
            raise ValueError("rate_429 + rate_5xx + rate_drop must not exceed 1: each request gets one fault at most.")
        object.__setattr__(self, "latency", _latency(self.latency))
        retry = self.retry_after
        if isinstance(retry, bool) or not isinstance(retry, (int, float)) or retry < 0 or retry != int(retry):
            raise ValueError(f"retry_after must be a whole number of seconds (0 or more), not {retry!r}.")
        object.__setattr__(self, "retry_after", int(retry))
        exempt = (self.exempt,) if isinstance(self.exempt, str) else tuple(self.exempt)
        if not all(isinstance(p, str) for p in exempt):
            raise ValueError(f"exempt must be path prefixes (strings), not {self.exempt!r}.")
        object.__setattr__(self, "exempt", exempt)
        routes: dict[RouteKey, Faults] = {}
        for key, value in dict(self.routes or {}).items():
            if not isinstance(key, (str, re.Pattern)):
                raise ValueError(f"A routes key must be a path prefix or a regex, not {key!r}.")
            if isinstance(key, str) and key.startswith("^"):
                try:
                    re.compile(key)
                except re.error as exc:
                    raise ValueError(f"The routes key {key!r} is not a valid regular expression: {exc}.") from None
            override = Faults.coerce(value)
            if override.routes:
                raise ValueError(f"The override for {key!r} has routes of its own; overrides do not nest.")
            routes[key] = override
        object.__setattr__(self, "routes", routes)

    @classmethod
    def parse(cls, spec: str) -> Faults:
        """Return the faults a ``--faults`` string asks for, e.g. ``"429=0.1,5xx=0.2,drop=0.05,latency=0.01"``.

        Keys: ``429``, ``5xx``, ``drop`` (rates, as fractions or percentages: ``0.1`` or ``10%``),
        ``latency`` (seconds, or ``min-max``) and ``retry_after`` (whole seconds). An empty string
        means no faults. Raises ``ValueError`` naming the bad item.
        """
        if not isinstance(spec, str):
            raise ValueError(f"Faults must be given as a string like '429=0.1', not {type(spec).__name__}.")
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, raw = (s.strip() for s in item.partition("="))
            if not sep or not key or not raw:
                raise ValueError(f"The fault {item!r} in {spec!r} is not key=value; {_SPEC_HELP}.")
            name = _ALIASES.get(key.lower())
            if name is None:
                raise ValueError(f"Unknown fault {key!r} in {spec!r}; known: {_SHORT_NAMES}.")
            if name in values:
                raise ValueError(f"The fault {key!r} is given twice in {spec!r}.")
            values[name] = _parse_value(name, raw, spec)
        return cls(**values)

    @classmethod
    def coerce(cls, value: FaultsLike | None) -> Faults:
        """Return ``value`` as ``Faults``: a ``Faults``, a dict of its fields (or ``parse`` keys), a string, or None."""
        if value is None:
            return cls()
        if isinstance(value, Faults):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            kwargs: dict[str, Any] = {}
            for key, item in value.items():
                name = key if key in known else _ALIASES.get(str(key).lower())
                if name is None:
                    raise ValueError(f"Unknown fault setting {key!r}; known: {', '.join(sorted(known))}.")
                kwargs[name] = item
            return cls(**kwargs)
        raise ValueError(f"Faults must be a Faults, a dict or a string like '429=0.1', not {type(value).__name__}.")

    @property
    def active(self) -> bool:
        """Whether these faults can change any answer (a rate, a latency or an override is set)."""
        return bool(self.rate_429 or self.rate_5xx or self.rate_drop or self.latency != 0.0 or self.routes)

    def __repr__(self) -> str:
        changed = [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != (f.default_factory() if callable(f.default_factory) else f.default)
        ]
        return f"Faults({', '.join(changed)})"


def _latency(value: Any) -> float | tuple[float, float]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = (_seconds(v, "latency") for v in value)
        if low > high:
            raise ValueError(f"latency's range must be (min, max) with min <= max, not {tuple(value)!r}.")
        return (low, high) if low != high else low
    return _seconds(value, "latency")


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be seconds (a number, 0 or more) or a (min, max) pair, not {value!r}.")
    return float(value)


def _parse_value(name: str, raw: str, spec: str) -> Any:
    if name == "retry_after":
        if not raw.isdigit():
            raise ValueError(f"retry_after in {spec!r} must be a whole number of seconds, not {raw!r}.")
        return int(raw)
    try:
        if name == "latency":
            parts = re.split(r"(?<=[0-9.])-", raw)  # "0.01-0.05" is a range; "1e-3" and "-1" are not
            return (float(parts[0]), float(parts[1])) if len(parts) == 2 else float(raw)
        return float(raw.removesuffix("%")) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"The value {raw!r} for {name} in {spec!r} is not a number; {_SPEC_HELP}.") from None
