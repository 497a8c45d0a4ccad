"""ONVIF WS-Discovery (UDP 3702): Probe builder and ProbeMatches/Hello/Bye parser.

Besides the scopes (``name/`` tells the label, ``hardware/`` the model), the envelope's declared
namespaces are kept: Hikvision's gSOAP envelope declares ``tnshik``/``hikwsd``/``hikxsd`` even
on relabelled units, which a rewritten ``name/`` scope does not remove.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from ..models import ArtefactKind, Observation, normalize_mac
from ._common import (
    DISCOVERY_LIMIT,
    BadInput,
    collapse,
    declared_namespaces,
    find_local,
    guarded,
    iter_local,
    local_name,
    parse_xml,
    text_of,
)
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "build_probe", "is_reply_to", "normalize_message_id", "parse_message", "parse_scopes", "scope_fields"]

_NS = {
    "2005": {
        "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
        "wsd": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
        "to": "urn:schemas-xmlsoap-org:ws:2005:04:discovery",
        "anonymous": "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous",
    },
    "2009": {
        "wsa": "http://www.w3.org/2005/08/addressing",
        "wsd": "http://docs.oasis-open.org/ws-dd/ns/discovery/2009/01",
        "to": "urn:docs-oasis-open-org:ws-dd:ns:discovery:2009:01",
        "anonymous": "http://www.w3.org/2005/08/addressing/anonymous",
    },
}
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ONVIF_NETWORK = "http://www.onvif.org/ver10/network/wsdl"
SCOPE_PREFIX = "onvif://www.onvif.org/"
MESSAGE_TYPES = ("ProbeMatches", "Hello", "Bye")


def normalize_message_id(value: str) -> str:
    """``urn:uuid:ABC`` / ``uuid:abc`` / ``abc`` -> ``abc`` (devices echo any of these forms)."""
    text = value.strip().lower()
    for prefix in ("urn:uuid:", "uuid:"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def build_probe(message_id: str, namespace: Literal["2005", "2009"] = "2005") -> bytes:
    """A WS-Discovery Probe for ``dn:NetworkVideoTransmitter`` (ONVIF cameras, NVRs, encoders).

    ``namespace`` "2005" is the April 2005 draft ONVIF devices answer; "2009" is WS-Discovery 1.1.
    """
    if namespace not in _NS:
        raise ValueError(f"namespace must be '2005' or '2009', not {namespace!r}")
    ns = _NS[namespace]
    mid = f"urn:uuid:{uuid.UUID(normalize_message_id(message_id))}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12}" xmlns:a="{ns["wsa"]}" xmlns:d="{ns["wsd"]}" xmlns:dn="{ONVIF_NETWORK}">'
        "<s:Header>"
        f'<a:Action s:mustUnderstand="1">{ns["wsd"]}/Probe</a:Action>'
        f"<a:MessageID>{mid}</a:MessageID>"
        f'<a:ReplyTo><a:Address>{ns["anonymous"]}</a:Address></a:ReplyTo>'
        f'<a:To s:mustUnderstand="1">{ns["to"]}</a:To>'
        "</s:Header>"
        "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body>"
        "</s:Envelope>"
    ).encode()


def parse_scopes(text: str) -> list[str]:
    """Whitespace-separated scope URIs, each percent-decoded."""
    return [unquote(item, errors="replace") for item in text.split()]


def scope_fields(scopes: list[str]) -> dict[str, str]:
    """``onvif.scopes`` and the ``onvif.scope.name|hardware|location|mac`` values.

    Several values of one kind (two ``location/`` scopes) are joined by ``\\n``.
    """
    found: dict[str, list[str]] = {}
    for scope in scopes:
        if not scope.lower().startswith(SCOPE_PREFIX):
            continue
        kind, _, value = scope[len(SCOPE_PREFIX) :].partition("/")
        kind = kind.lower()
        if kind in ("name", "hardware", "location", "mac") and value:
            found.setdefault(kind, []).append(value)
    fields = {"onvif.scopes": "\n".join(scopes)}
    for kind, values in found.items():
        fields[f"onvif.scope.{kind}"] = "\n".join(values)
    return fields


@guarded(ArtefactKind.ONVIF_SCOPES, raw_arg="xml")
def parse_message(
    xml: str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A ProbeMatches, Hello or Bye envelope -> ONVIF_SCOPES observation.

    The observation's MAC is taken from a ``MAC/`` scope when the caller knows none.
    """
    root = parse_xml(xml, DISCOVERY_LIMIT)
    if local_name(root.tag) != "Envelope":
        raise BadInput("garbage", f"not a SOAP envelope (root <{local_name(root.tag)}>)")
    body = find_local(root, "Body")
    message = next(iter(body), None) if body is not None else None
    message_type = local_name(message.tag) if message is not None else ""
    if message is None or message_type not in MESSAGE_TYPES:
        raise BadInput("not-a-reply", f"WS-Discovery {message_type or 'empty body'} is not ProbeMatches/Hello/Bye")
    header = find_local(root, "Header")
    fields: dict[str, str] = {"onvif.message_type": message_type}
    if header is not None:
        for name, key in (("MessageID", "onvif.message_id"), ("RelatesTo", "onvif.relates_to")):
            value = text_of(find_local(header, name))
            if value:
                fields[key] = value
    matches = [message] if message_type != "ProbeMatches" else list(iter_local(message, "ProbeMatch"))
    if not matches:
        raise BadInput("garbage", "ProbeMatches without a ProbeMatch")
    if len(matches) > 1:
        fields["onvif.match_count"] = str(len(matches))
    match = matches[0]
    endpoint = find_local(match, "EndpointReference")
    address = text_of(find_local(endpoint, "Address")) if endpoint is not None else None
    if address:
        fields["onvif.endpoint"] = address
    for name, key in (("Types", "onvif.types"), ("XAddrs", "onvif.xaddrs"), ("MetadataVersion", "onvif.metadata_version")):
        value = text_of(find_local(match, name))
        if value:
            fields[key] = collapse(value)
    scopes_text = text_of(find_local(match, "Scopes"))
    if scopes_text:
        fields.update(scope_fields(parse_scopes(scopes_text)))
    namespaces = declared_namespaces(xml)
    if namespaces:
        fields["onvif.namespaces"] = " ".join(namespaces)
    scope_mac = normalize_mac((fields.get("onvif.scope.mac") or "").split("\n")[0])
    return Observation.make(
        probe, ArtefactKind.ONVIF_SCOPES, ip=ip, mac=mac or scope_mac, raw=xml, fields=fields, time=time
    )


def is_reply_to(obs: Observation, message_id: str) -> bool:
    """True if a parsed ProbeMatches answers the Probe sent with ``message_id``."""
    relates_to = obs.fields.get("onvif.relates_to")
    if not relates_to:
        return False
    return normalize_message_id(relates_to) == normalize_message_id(message_id)


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """ProbeMatches, Hello and Bye on the wire; other clients' Probes are not evidence."""
    payload = heard.payload
    if b"ProbeMatches" in payload or b"Hello" in payload or b"Bye" in payload:
        yield ("wsd", heard.src), parse_message(payload, **heard.where())


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    text = r.opt_text("onvif_probematch")
    if text:
        yield parse_message(text, **where)


SPEC = ProtocolSpec(
    name="wsd",
    title="WS-Discovery",
    order=20,
    udp=(3702,),
    groups=("239.255.255.250",),
    families={"onvif": "ONVIF"},
    fields={
        "onvif.scopes": Field("onvif", "decoded scope URIs joined by `\\n`"),
        "onvif.scope.name": Field("onvif", "percent-decoded `name/` scope (the label)"),
        "onvif.scope.hardware": Field("onvif", "percent-decoded `hardware/` scope (the model)"),
        "onvif.scope.location": Field("onvif", "percent-decoded `location/` scope"),
        "onvif.scope.mac": Field("onvif", "percent-decoded `MAC/` scope"),
        "onvif.endpoint": Field("onvif", "EndpointReference address"),
        "onvif.xaddrs": Field("onvif", "XAddrs (device service URLs, space-joined)"),
        "onvif.types": Field("onvif", "Types"),
        "onvif.namespaces": Field("onvif", "namespace URIs declared in the envelope (space-joined)"),
        "onvif.message_type": Field("onvif", "`ProbeMatches`, `Hello` or `Bye`"),
        "onvif.message_id": Field("onvif", "MessageID"),
        "onvif.relates_to": Field("onvif", "RelatesTo (our Probe's MessageID)"),
        "onvif.metadata_version": Field("onvif", "MetadataVersion"),
        "onvif.match_count": Field("onvif", "ProbeMatch elements in one reply, when more than one"),
    },
    short_form=("onvif_probematch",),
    read_short_form=_short_form,
    passive=Passive(_heard),
)
