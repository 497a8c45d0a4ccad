"""Pure protocol codecs: build requests and parse replies into Observations. No sockets here.

One module per protocol (``arp``, ``wsd``, ``sadp``, ``dhip``, ``upnp``, ``mdns``, ``ports``,
``http``, ``rtsp``, ``tls``, ``onvif``, ``dhcp``, and the field sources ``hostname`` and
``device``). Every ``parse_*``/``from_*`` function returns exactly one
``camsweep.models.Observation`` and never raises on device input: bad input (garbage, oversize,
XML bombs, DTDs, invalid UTF-8, lying length fields) becomes an observation whose ``problem`` is
``"<slug>: <detail>"`` and which carries no fields. Builders raise ``ValueError`` only on bad
arguments from our own code. Lower-level helpers that do not build an Observation
(``dhip.decode``, ``http.split_response``) raise ``BadInput`` instead; it carries the same slug.

Each module ends with its declaration, ``SPEC = ProtocolSpec(...)`` (``_spec.py``). The functions
below read them all; everything that used to be a hand-kept list of protocols is computed here.
``python3 -m camsweep.protocols --markdown`` prints the field table of fingerprints/README.md.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from ._common import BadInput
from ._spec import PASSIVE_PROBE, Field, Heard, Passive, ProtocolSpec, Unread

__all__ = [
    "PASSIVE_PROBE",
    "BadInput",
    "Field",
    "Heard",
    "Passive",
    "ProtocolSpec",
    "Unread",
    "declares",
    "family",
    "family_name",
    "field",
    "field_table",
    "methods",
    "spec",
    "specs",
]


@functools.cache
def specs() -> tuple[ProtocolSpec, ...]:
    """Every declaration, in ``order``: one per codec module of this package.

    Raises RuntimeError when a codec module declares nothing, two declare one name, or two give
    one field key different families: a declaration that is wrong must not be half used.
    """
    found: list[ProtocolSpec] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        declared = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SPEC", None)
        if not isinstance(declared, ProtocolSpec):
            # a package bug, not a caller's bad argument: RuntimeError, not TypeError
            raise RuntimeError(f"camsweep.protocols.{module.name} has no SPEC = ProtocolSpec(...)")  # noqa: TRY004
        found.append(declared)
    found.sort(key=lambda s: (s.order, s.name))
    names: set[str] = set()
    families: dict[str, str] = {}
    for item in found:
        if item.name in names:
            raise RuntimeError(f"protocol {item.name!r} is declared twice")
        names.add(item.name)
        for key, declared_field in item.fields.items():
            if families.setdefault(key, declared_field.family) != declared_field.family:
                raise RuntimeError(f"field {key!r} is declared with two evidence families")
    return tuple(found)


def methods() -> tuple[ProtocolSpec, ...]:
    """The discovery methods (``--methods``), in the order the engine runs them."""
    return tuple(s for s in specs() if s.method)


@functools.cache
def _by_name() -> dict[str, ProtocolSpec]:
    return {s.name: s for s in specs()}


def spec(name: str) -> ProtocolSpec | None:
    """The declaration named ``name``, or None."""
    return _by_name().get(name)


@functools.cache
def _fields() -> dict[str, Field]:
    table: dict[str, Field] = {}
    for item in specs():
        for key, declared in item.fields.items():
            table.setdefault(key, declared)
    return table


def field(key: str) -> Field | None:
    """The declaration of a field key (``http.header.server`` is declared by ``http.header.*``)."""
    table = _fields()
    found = table.get(key)
    if found is None:
        head, dot, _ = key.rpartition(".")
        if dot:
            found = table.get(head + ".*")
    return found


def declares(key: str) -> bool:
    """True if some protocol emits field ``key`` (what fingerprint rules may match:
    ``fingerprints.load(declared=declares)``)."""
    return field(key) is not None


def family(key: str) -> str:
    """The evidence family of a field key; an undeclared key is a family of its own."""
    declared = field(key)
    return declared.family if declared is not None else key


@functools.cache
def _family_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for item in specs():
        names.update(item.families)
    return names


def family_name(key: str) -> str:
    """How a verdict names the evidence family of a field key ("SADP reply"); the key itself
    for a family without a display name."""
    return _family_names().get(family(key), key)


def field_table() -> str:
    """The field table of fingerprints/README.md (Markdown), one row per declared key, in spec order."""
    rows = ["| key | from | evidence family | meaning |", "|---|---|---|---|"]
    for item in specs():
        for key, declared in item.fields.items():
            rows.append(f"| `{key}` | {item.title} | `{declared.family}` | {declared.label} |")
    return "\n".join(rows) + "\n"
