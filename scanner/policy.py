"""Policies: who the user running camsweep is, and so which instruments bind them.

A policy is named in ``fingerprints/restrictions.toml`` (``us-federal``, ``uk-sensitive-sites``,
...) and stands for one or more *audiences* (``us-executive-agency``, ...). It selects the
instruments with a duty that binds one of those audiences, and only those duties make actions and
deadlines. The user picks one or more (``--policy us-federal-contractor,us-grant`` or ``[policy]
names`` in the config file). Without a policy nothing binds: a report lists, per device, the
instruments that name its maker, and shows no duty, deadline or action.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import UsageError, did_you_mean
from .restrictions import Duty, Instrument, RestrictionsData

log = logging.getLogger("camsweep")

NO_POLICY_ALIASES = ("all",)
"""Names that mean "no policy". ``all`` was the default until 2026.12 (every instrument, merged):
it is accepted for one release, with a warning, and now means no policy."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The policies the user chose, the audiences they stand for and the instruments binding them."""

    names: tuple[str, ...]
    """The chosen policies; () when none was chosen."""
    audiences: frozenset[str]
    instruments: tuple[Instrument, ...]
    """With a policy: the instruments with a duty binding its audiences. Without: every instrument
    (what names a maker is listed, nothing binds)."""

    @property
    def chosen(self) -> bool:
        return bool(self.names)

    @property
    def label(self) -> str:
        return ",".join(self.names) if self.names else "none"

    def includes(self, instrument_id: str) -> bool:
        return any(i.id == instrument_id for i in self.instruments)

    def duties(self, instrument: Instrument) -> tuple[Duty, ...]:
        """The instrument's duties that bind the chosen audiences (none without a policy)."""
        return instrument.duties_for(self.audiences) if self.chosen else ()


def policy_names(data: RestrictionsData) -> tuple[str, ...]:
    return tuple(p.name for p in data.policies)


def _split(spec: str | Iterable[str] | None) -> list[str]:
    if spec is None:
        return []
    parts = spec.split(",") if isinstance(spec, str) else [p for item in spec for p in item.split(",")]
    return [p.strip().lower() for p in parts if p.strip()]


def select(data: RestrictionsData, spec: str | Iterable[str] | None = None) -> Selection:
    """Resolve ``"us-federal,us-grant"`` (or a list of names; None or "" for no policy).

    Raises UsageError for an unknown name (naming it, the closest valid name and all valid ones)
    and for a retired one (saying what to choose instead).
    """
    names = _split(spec)
    known = {p.name: p for p in data.policies}
    valid = policy_names(data)
    chosen: list[str] = []
    for name in names:
        if name in NO_POLICY_ALIASES:
            log.warning("policy %r is deprecated and now means no policy: instruments are listed per device "
                        "without duties or deadlines; choose who you are with --policy NAME", name)
            continue
        if name in data.retired_policies:
            raise UsageError(f"unknown policy {name!r}: {data.retired_policies[name]}")
        if name not in known:
            raise UsageError(f"unknown policy {name!r}{did_you_mean(name, valid)}; valid policies: {', '.join(valid)}")
        chosen.append(name)
    unique = tuple(dict.fromkeys(chosen))
    if not unique:
        return Selection((), frozenset(), data.instruments)
    audiences = frozenset(a for name in unique for a in known[name].audiences)
    return Selection(unique, audiences, tuple(i for i in data.instruments if i.duties_for(audiences)))


def describe(data: RestrictionsData) -> list[tuple[str, str, str]]:
    """(name, who, instrument ids) for every policy: for help text, ``camsweep restrictions`` and README."""
    rows = []
    for p in data.policies:
        ids = [i.id for i in select(data, p.name).instruments]
        rows.append((p.name, p.who, ", ".join(ids) or "(none binds it)"))
    return rows
