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
     "ports": [80, 554, 8000], "hostname": "..."}

Unknown keys are ignored with a debug log.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable, Iterator, Mapping

from . import protocols
from .errors import InputFileError, SchemaVersionError
from .models import SCHEMA_VERSION, ArtefactKind, Observation, ScanResult

log = logging.getLogger("camsweep")

PROBE = "input"
MAX_INPUT_BYTES = 64 * 1024 * 1024

HOST_KEYS = frozenset({"ip", "mac", "comment", "source", "truth"})
"""Keys that place or annotate the host rather than carry an artefact."""
SHORT_FORM_KEYS = HOST_KEYS | {key for spec in protocols.specs() for key in spec.short_form}
"""Every key the short form reads; the artefact keys are declared by the protocols."""


def read_text(path: str, stdin_text: str | None = None) -> str:
    """Read an input file (``-`` for stdin) with a size bound and a clear error."""
    if path == "-":
        if stdin_text is None:
            raise InputFileError("-: no input on stdin")
        return stdin_text
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputFileError(f"{path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def parse_documents(text: str, name: str) -> list[Any]:
    """A JSON document, or JSON lines (one object per non-empty line)."""
    stripped = text.strip()
    if not stripped:
        raise InputFileError(f"{name}: empty input")
    try:
        return [json.loads(stripped)]
    except json.JSONDecodeError as whole_error:
        docs = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if lineno == 1 and len(docs) == 0:
                    raise InputFileError(
                        f"{name}: not valid JSON: {whole_error.msg} at line {whole_error.lineno} column {whole_error.colno}"
                    ) from None
                raise InputFileError(f"{name}: line {lineno}: not valid JSON: {exc.msg}") from None
        return docs


def observations_from_documents(docs: Iterable[Any], name: str) -> list[Observation]:
    out: list[Observation] = []
    for doc in docs:
        if isinstance(doc, list):
            out.extend(observations_from_documents(doc, name))
        elif isinstance(doc, Mapping):
            out.extend(_from_mapping(doc, name))
        else:
            raise InputFileError(f"{name}: expected a JSON object per host, got {type(doc).__name__}")
    return out


def _from_mapping(doc: Mapping[str, Any], name: str) -> list[Observation]:
    if "schema_version" in doc:
        if doc["schema_version"] != SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{name}: schema_version {doc['schema_version']!r} is not supported (this camsweep reads {SCHEMA_VERSION})"
            )
        try:
            if "devices" in doc:
                result = ScanResult.from_dict(doc)
                return [o for d in result.devices for o in d.device.observations]
            return [Observation.from_dict(o) for o in doc.get("observations", ())]
        except (KeyError, ValueError, TypeError) as exc:
            raise InputFileError(f"{name}: does not follow schema {SCHEMA_VERSION}: {exc}") from None
    try:
        return list(short_form(doc))
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InputFileError(f"{name}: host {doc.get('ip') or doc.get('mac')!r}: {exc}") from None


def short_form(doc: Mapping[str, Any]) -> Iterator[Observation]:
    """Turn one hand-written host object into observations, through the same parsers probes use
    (each protocol reads its own keys: ``ProtocolSpec.read_short_form``)."""
    for key in doc:
        if key not in SHORT_FORM_KEYS:
            log.debug("short form: ignoring unknown key %r", key)
    ip, mac = doc.get("ip"), doc.get("mac")
    where = {"probe": PROBE, "ip": ip, "mac": mac}
    if mac:
        yield Observation.make(PROBE, ArtefactKind.MAC_ADDRESS, ip=ip, mac=mac, raw=mac)
    for spec in protocols.specs():
        if spec.read_short_form is not None and any(doc.get(key) for key in spec.short_form):
            yield from spec.read_short_form(doc, where)


def load(paths: Iterable[str], stdin_text: str | None = None) -> list[Observation]:
    """Observations from every file (``-`` = stdin), in order."""
    out: list[Observation] = []
    for path in paths:
        text = read_text(path, stdin_text)
        try:
            out.extend(observations_from_documents(parse_documents(text, path), path))
        except RecursionError:  # json and the list walk recurse: [[[[... is not a host
            raise InputFileError(f"{path}: JSON nested too deeply") from None
    return out
