"""Read saved observations for offline ``camsweep identify``.

Three shapes are accepted (see README "Offline identification"):

* a full scan result (``{"schema_version": 1, "devices": [...]}``) as written by ``--format json``;
* a list of observations in the full schema (``{"schema_version": 1, "observations": [...]}``);
* the *short form* a person writes by hand: one JSON object per host with whichever artefacts
  they have, as a single object, a JSON array of objects, or JSON lines::

    {"ip": "192.0.2.10", "mac": "58:50:ed:00:00:01",
     "http": [{"port": 80, "path": "/", "status": 200, "headers": {"Server": "App-webs/"}, "body": "..."}],
     "rtsp": "RTSP/1.0 401 Unauthorized\\r\\n...", "tls_subject": "CN=...", "tls_issuer": "CN=...",
     "onvif_probematch": "<xml>", "onvif_device_info": {"Manufacturer": "...", "Model": "..."},
     "sadp": "<xml>", "dhip": {...}, "upnp": "<xml>", "ssdp": "HTTP/1.1 200 OK\\r\\n...",
     "mdns": [{"type": "_CGI._tcp.local.", "name": "...", "server": "...", "port": 80, "txt": {"path": "/"}}],
     "dhcp": {"hostname": "...", "vendor_class": "...", "param_list": [1, 3, 6]},
     "ports": [80, 554, 8000], "hostname": "...", "model": "DS-2CD2385G1-I"}

Unknown keys are ignored with a debug log. An object is placed by its ``ip`` or ``mac``; one with
neither is refused naming it (``object N``), unless it is a model-only record or carries only a MAC
prefix (``A0:FF:0C``): then it is a record of its own, like a register row of ``camsweep check``.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Iterable, Iterator, Mapping

from . import jsonio, protocols
from .errors import InputFileError, SchemaVersionError
from .jsonio import MAX_INPUT_BYTES, Reader, read_text  # noqa: F401 (read_text is part of this module's API)
from .models import SCHEMA_VERSION, ArtefactKind, Observation, ScanResult, normalize_ip, normalize_mac, normalize_oui
from .protocols import asset

log = logging.getLogger("camsweep")

PROBE = "input"

HOST_KEYS = frozenset({"ip", "mac", "comment", "source", "truth"})
"""Keys that place or annotate the host rather than carry an artefact."""
SHORT_FORM_KEYS = HOST_KEYS | {key for spec in protocols.specs() for key in spec.short_form}
"""Every key the short form reads; the artefact keys are declared by the protocols."""


def parse_documents(text: str, name: str) -> list[Any]:
    """A JSON document, or JSON lines (one object per non-empty line)."""
    stripped = text.strip()
    if not stripped:
        raise InputFileError(f"{name}: empty input")
    try:
        return [jsonio.loads(stripped)]
    except ValueError as whole_error:
        docs = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(jsonio.loads(line))
            except ValueError as exc:
                if lineno == 1 and len(docs) == 0:
                    raise InputFileError(f"{name}: not valid JSON: {_json_problem(whole_error, True)}") from None
                raise InputFileError(f"{name}: line {lineno}: not valid JSON: {_json_problem(exc, False)}") from None
        return docs


def _json_problem(error: ValueError, where: bool) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}" if where else error.msg
    return str(error)  # too deep, or a number too long to read


def observations_from_documents(docs: Iterable[Any], name: str) -> list[Observation]:
    """Observations from decoded documents: host objects, saved scans, lists of them (any depth)."""
    out: list[Observation] = []
    hosts = 0  # objects read so far: a host with neither address is named by its number
    pending: list[Iterator[Any]] = [iter(docs)]  # a stack, not recursion: [[[[...]]]] is not a host
    while pending:
        doc = next(pending[-1], _END)
        if doc is _END:
            pending.pop()
        elif isinstance(doc, list):
            pending.append(iter(doc))
        elif isinstance(doc, Mapping):
            hosts += 1
            out.extend(_from_mapping(doc, name, hosts))
        else:
            raise InputFileError(f"{name}: expected a JSON object per host, got {jsonio.type_name(doc)}")
    return out


_END = object()


def _from_mapping(doc: Mapping[str, Any], name: str, number: int = 1) -> list[Observation]:
    if "schema_version" in doc:
        version = doc["schema_version"]
        if type(version) is not int or version != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{name}: schema_version {jsonio.quote(version)} is not supported (this camsweep reads {SCHEMA_VERSION})"
            )
        try:
            if "devices" in doc:
                result = ScanResult.from_dict(doc)
                return [o for d in result.devices for o in d.device.observations]
            return [Observation.from_dict(o) for o in Reader(doc).children("observations")]
        except InputFileError as exc:
            raise InputFileError(f"{name}: does not follow schema {SCHEMA_VERSION}: {exc}") from None
    if not (doc.get("ip") or doc.get("mac")) and not doc.get("model"):
        label = f" ({jsonio.quote(doc['comment'])})" if isinstance(doc.get("comment"), str) else ""
        raise InputFileError(
            f"{name}: object {number}{label} has neither ip nor mac (nor a model): it cannot be placed"
        )
    try:
        return list(short_form(doc, record=f"{os.path.basename(name)}#{number}"))
    except InputFileError as exc:
        host = doc.get("ip") or doc.get("mac") or f"object {number}"
        raise InputFileError(f"{name}: host {jsonio.quote(host)}: {exc}") from None


def short_form(doc: Mapping[str, Any], record: str = "input") -> Iterator[Observation]:
    """Turn one hand-written host object into observations, through the same parsers probes use
    (each protocol reads its own keys: ``ProtocolSpec.read_short_form``).

    Each value's type is checked first (InputFileError naming the key): the parsers get device
    text of the types they expect, and a wrong type is the author's mistake, not a device's.
    """
    r = Reader(doc)
    for key in doc:
        if key not in SHORT_FORM_KEYS:
            log.debug("short form: ignoring unknown key %r", key)
    ip = r.converted("ip", normalize_ip, "an IP address")
    # A MAC prefix (``A0:FF:0C``) is OUI-only evidence: it names a registrant, not a host.
    oui = normalize_oui(doc["mac"]) if isinstance(doc.get("mac"), str) else None
    mac = None if oui else r.converted("mac", normalize_mac, "a MAC address")
    if not (ip or mac):
        # Nothing places it: one register-like record (``scanner/devices.py`` keeps it apart),
        # made of what such a record can carry; anything else would be silently unplaced.
        placed_only = sorted(k for k in doc if k in SHORT_FORM_KEYS - HOST_KEYS - {"model"})
        if placed_only:
            raise InputFileError(f"{', '.join(placed_only)} need an ip or a full mac to place them")
        values = {"model": r.opt_text("model") or "", "mac": doc.get("mac") or ""}
        yield asset.record(record, values, probe=PROBE, extra={"mac.oui": oui} if oui else None)
        return
    where = {"probe": PROBE, "ip": ip, "mac": mac}
    if mac:
        yield Observation.make(PROBE, ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, raw=mac)
    for spec in protocols.specs():
        if spec.read_short_form is not None and any(doc.get(key) is not None for key in spec.short_form):
            yield from spec.read_short_form(r, where)


def load(paths: Iterable[str], stdin_text: str | None = None) -> list[Observation]:
    """Observations from every file (``-`` = stdin), in order."""
    out: list[Observation] = []
    for path in paths:
        text = read_text(path, stdin_text)
        out.extend(observations_from_documents(parse_documents(text, path), path))
    return out
