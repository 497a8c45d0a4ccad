"""Open TCP ports -> ``port.*`` fields: one OPEN_PORT observation per open port.

The connect scan (``probes/ports.py``), the passive path (a SYN-ACK shows the port a host serves
on) and the short form's ``ports`` list all make the same observation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation
from ._spec import Field, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "open_port"]


def open_port(probe: str, ip: str | None, port: int, *, mac: str | None = None, raw: str | None = None,
              time: datetime | None = None) -> Observation:
    return Observation.make(
        probe, ArtefactKind.OPEN_PORT, ip=ip, mac=mac, port=port, raw=raw,
        fields={"port.number": port, "port.protocol": "tcp"}, time=time,
    )


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    for port in r.integers("ports", 1, 65535):
        yield open_port(where["probe"], where["ip"], port, mac=where["mac"])


SPEC = ProtocolSpec(
    name="ports",
    title="port scan",
    order=70,
    runs_first=True,
    fields={
        "port.number": Field("port", "an open TCP port (one observation per port)"),
        "port.protocol": Field("port", "`tcp`"),
    },
    short_form=("ports",),
    read_short_form=_short_form,
)
