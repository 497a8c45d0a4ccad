"""A host name a person wrote down (the short form's ``hostname``) -> ``hostname.name``.

Devices announce names themselves too (``dhcp.hostname``, ``mdns.server``); this is the field for
a name known from elsewhere, such as a DHCP server's lease list.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation
from ._spec import Field, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC"]


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    name = r.opt_text("hostname")
    if name:
        yield Observation.make(where["probe"], ArtefactKind.HOSTNAME, ip=where["ip"], mac=where["mac"],
                               fields={"hostname.name": name})


SPEC = ProtocolSpec(
    name="hostname",
    title="short form `hostname`",
    order=130,
    method=False,
    fields={"hostname.name": Field("hostname.name", "the host's name")},
    short_form=("hostname",),
    read_short_form=_short_form,
)
