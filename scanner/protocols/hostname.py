"""A host name a person wrote down (the short form's ``hostname``) -> ``hostname.name``.

Devices announce names themselves too (``dhcp.hostname``, ``mdns.server``); this is the field for
a name known from elsewhere, such as a DHCP server's lease list.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..models import ArtefactKind, Observation
from ._spec import Field, ProtocolSpec

__all__ = ["SPEC"]


def _short_form(doc: Mapping[str, Any], where: dict[str, Any]) -> Iterator[Observation]:
    yield Observation.make(where["probe"], ArtefactKind.HOSTNAME, ip=where["ip"], mac=where["mac"],
                           fields={"hostname.name": doc["hostname"]})


SPEC = ProtocolSpec(
    name="hostname",
    title="short form `hostname`",
    order=130,
    method=False,
    fields={"hostname.name": Field("hostname.name", "the host's name")},
    short_form=("hostname",),
    read_short_form=_short_form,
)
