"""``camsweep restrictions``: the instruments and policies behind every remediation list.

What an auditor reads before trusting a report: per instrument whom it binds, what it covers, its
duties, legal force, dates with their precision, citations and verification; filtered by
jurisdiction, policy and maker; judged at ``--as-of`` (in force or not, deadlines past or not).
"""

from __future__ import annotations

import click
from camsweep.reports.restrictions_doc import FORMATS, View, render

from .. import restrictions
from ..config import Outputs
from ..errors import UsageError
from ..policy import select
from . import Choice, echo
from ._settings import given, options


@click.command("restrictions")
@click.option("--format", "fmt", type=Choice(FORMATS), default="table", show_default=True,
              help="table (terminal), json, or markdown (RESTRICTIONS.md is this output).")
@click.option("--jurisdiction", "jurisdictions", multiple=True, metavar="CODE",
              help="Only instruments of this jurisdiction (US, US-VT, UK, AU, CA, LT, TW, IN, EU, UA, DK, NZ, "
                   "corporate); repeat or comma-separate for several.")
@options(Outputs, ["policy", "as_of"],
         policy={"help": "Only the instruments these policies select, their audiences' duties marked."})
@click.option("--maker", "makers", multiple=True, metavar="ID",
              help="Only instruments that name this maker (hikvision, dahua); repeat for several.")
def command(fmt: str, jurisdictions: tuple[str, ...], policy: str | None, as_of: str | None,
            makers: tuple[str, ...]) -> None:
    """List the instruments (laws, rules, orders, lists) that name Hikvision and Dahua, and the
    policies that select them. With --as-of DATE each instrument says whether it is in force at that
    date and which deadlines have passed."""
    ctx = click.get_current_context()
    when = given(Outputs, ctx, {"as_of": as_of}).get("as_of")
    data = restrictions.load()
    selection = select(data, policy) if policy else None
    instruments = selection.instruments if selection else data.instruments
    filters = []
    wanted_j = {j.strip().casefold() for item in jurisdictions for j in item.split(",") if j.strip()}
    if wanted_j:
        known = {i.jurisdiction.casefold() for i in data.instruments}
        unknown = sorted(wanted_j - known)
        if unknown:
            raise UsageError(f"unknown jurisdiction {unknown[0]!r}; valid: "
                             f"{', '.join(sorted({i.jurisdiction for i in data.instruments}))}")
        instruments = tuple(i for i in instruments if i.jurisdiction.casefold() in wanted_j)
        filters.append("jurisdiction " + ",".join(sorted(wanted_j)))
    wanted_m = {m.strip().lower() for item in makers for m in item.split(",") if m.strip()}
    if wanted_m:
        unknown = sorted(wanted_m - set(data.makers))
        if unknown:
            raise UsageError(f"unknown maker {unknown[0]!r}; valid: {', '.join(data.makers)}")
        instruments = tuple(i for i in instruments if wanted_m & set(i.makers))
        filters.append("maker " + ",".join(sorted(wanted_m)))
    if selection:
        filters.append(f"policy {selection.label}")
    view = View(data, tuple(instruments), selection.names if selection else (),
                selection.audiences if selection else frozenset(), when, tuple(filters))
    echo(render(view, fmt), nl=False)
