"""A row of an asset register or purchase list (``camsweep check``) -> ``asset.*`` fields.

Nothing here was seen on a wire: the values are what a person or a purchasing system wrote down
(``scanner/assets.py`` reads the files). Rules on these keys (``fingerprints/asset.toml``) treat
them as label evidence: a model number or a maker's name says what the box is sold as, and only a
cited model line or serial shape names the maker behind an OEM brand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation
from ._spec import Field, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "record"]

COLUMNS = ("make", "model", "serial", "mac", "ip", "description", "location", "site")
"""The register columns a row may carry, each read into ``asset.<column>``."""


def record(where: str | None, values: dict[str, str], *, ip: str | None = None, mac: str | None = None,
           probe: str = "asset", extra: dict[str, str] | None = None) -> Observation:
    """One register row as an observation; ``where`` (``file:line``) names it, and places it when
    it has no address, so a row is never merged away or dropped (``scanner/devices.py``)."""
    fields = {f"asset.{k}": v for k, v in values.items() if k in COLUMNS and v}
    if where:
        fields["asset.record"] = where
    fields.update(extra or {})  # e.g. the ``mac.*`` fields of the row's MAC or MAC prefix
    raw = "; ".join(f"{k}={v}" for k, v in values.items() if v)
    return Observation.make(probe, ArtefactKind.ASSET_RECORD, ip=ip, mac=mac, raw=raw, fields=fields)


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    model = r.opt_text("model")
    if model:
        # A host placed by its address needs no record name (it would show as a host name).
        yield record(None, {"model": model}, ip=where["ip"], mac=where["mac"], probe=where["probe"])


SPEC = ProtocolSpec(
    name="asset",
    title="asset register row",
    order=135,
    method=False,
    families={"asset": "asset register"},
    fields={
        "asset.model": Field("asset", "model or part number / SKU as written in the register"),
        "asset.make": Field("asset", "make, manufacturer, vendor or brand column"),
        "asset.serial": Field("asset", "serial number column"),
        "asset.mac": Field("asset", "MAC address column, as written"),
        "asset.ip": Field("asset", "IP address column (a row without a MAC stays a record of its own, at that IP)"),
        "asset.description": Field("asset", "description column"),
        "asset.location": Field("asset", "location column"),
        "asset.site": Field("asset", "site column"),
        "asset.record": Field("asset", "where the row is: `file:line` (`file#N` for the Nth short-form object)"),
    },
    short_form=("model",),
    read_short_form=_short_form,
)
