"""Named policies: which instruments bind the user running camsweep.

A policy is named in ``fingerprints/restrictions.toml`` (``us-federal``, ``uk-gov``, ...) and
selects instruments. The user picks one or more (``--policy us-federal,us-grant`` or ``policy`` in
the config); the default ``all`` selects every instrument, so a report shows everything that
applies *anywhere*, each line saying which jurisdiction it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import UsageError, did_you_mean
from .restrictions import Instrument, RestrictionsData

ALL = "all"


@dataclass(frozen=True, slots=True)
class Selection:
    """The policies the user chose and the instruments they select (in data-file order)."""

    names: tuple[str, ...]
    instruments: tuple[Instrument, ...]

    @property
    def label(self) -> str:
        return ",".join(self.names)

    def includes(self, instrument_id: str) -> bool:
        return any(i.id == instrument_id for i in self.instruments)


def policy_names(data: RestrictionsData) -> tuple[str, ...]:
    return (ALL,) + tuple(p.name for p in data.policies)


def _split(spec: str | Iterable[str] | None) -> list[str]:
    if spec is None:
        return [ALL]
    parts = spec.split(",") if isinstance(spec, str) else [p for item in spec for p in item.split(",")]
    names = [p.strip().lower() for p in parts if p.strip()]
    return names or [ALL]


def select(data: RestrictionsData, spec: str | Iterable[str] | None = None) -> Selection:
    """Resolve ``"us-federal,uk-gov"`` (or a list of names) to the instruments it selects.

    Raises UsageError for an unknown name, naming it, suggesting the closest valid name and
    listing all valid ones.
    """
    names = _split(spec)
    known = {p.name: p for p in data.policies}
    valid = policy_names(data)
    for name in names:
        if name != ALL and name not in known:
            raise UsageError(f"unknown policy {name!r}{did_you_mean(name, valid)}; valid policies: {', '.join(valid)}")
    unique = tuple(dict.fromkeys(names))
    if ALL in unique:
        return Selection(unique, data.instruments)
    wanted = {i for name in unique for i in known[name].instruments}
    return Selection(unique, tuple(i for i in data.instruments if i.id in wanted))


def describe(data: RestrictionsData) -> list[tuple[str, str, str]]:
    """(name, description, instrument ids) for every policy, ``all`` first: for help text and README."""
    rows = [(ALL, "every instrument in the data (default): what applies anywhere", "every instrument")]
    rows += [(p.name, p.description, ", ".join(p.instruments)) for p in data.policies]
    return rows
