"""Hikvision SADP ("Search Active Devices Protocol", UDP 37020): inquiry builder, reply parser.

The request is the tiny XML document Hikvision's SADP tool multicasts to 239.255.255.250:37020
(same form in UniversalScanner ``Hikvision.cs`` and Haicam ``discovery.go``). Any device that
answers with a ``<ProbeMatch>`` runs Hikvision firmware, whatever its label says.
"""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Hashable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation, normalize_mac
from ._common import (
    DISCOVERY_LIMIT,
    BadInput,
    children_by_name,
    guarded,
    local_name,
    parse_xml,
)
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "build_inquiry", "is_reply_to", "parse_reply"]

_FIELDS = {
    "types": "sadp.types",
    "devicetype": "sadp.device_type",
    "devicedescription": "sadp.model",
    "devicesn": "sadp.serial",
    "ipv4address": "sadp.ipv4",
    "httpport": "sadp.http_port",
    "commandport": "sadp.command_port",
    "softwareversion": "sadp.firmware",
    "dspversion": "sadp.dsp_version",
    "detailoemcode": "sadp.oem_code",
    "oeminfo": "sadp.oem_info",
    "activated": "sadp.activated",
    "boottime": "sadp.boot_time",
    "uuid": "sadp.uuid",
    "sdkovertlsport": "sadp.sdk_over_tls_port",
}


def build_inquiry(uuid: str) -> bytes:
    """``<Probe><Uuid>UUID</Uuid><Types>inquiry</Types></Probe>``; ``uuid`` must be a UUID."""
    text = uuid.strip()
    uuid_module.UUID(text)  # refuse anything that is not a UUID before it goes into XML
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Probe><Uuid>{text}</Uuid><Types>inquiry</Types></Probe>"
    ).encode()


@guarded(ArtefactKind.SADP_REPLY, raw_arg="xml")
def parse_reply(
    xml: str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A SADP ``<ProbeMatch>`` reply -> SADP_REPLY; the MAC field becomes the observation's MAC
    when the caller knows none. Another client's ``<Probe>`` inquiry is ``not-a-reply``."""
    root = parse_xml(xml, DISCOVERY_LIMIT)
    root_name = local_name(root.tag)
    if root_name.lower() == "probe":
        raise BadInput("not-a-reply", "SADP <Probe> inquiry from a client, not a device reply")
    values = children_by_name(root)
    if not values:
        raise BadInput("garbage", f"SADP <{root_name}> has no fields")
    fields = {"sadp.xml_root": root_name}
    for name, key in _FIELDS.items():
        if values.get(name):
            fields[key] = values[name]
    device_mac = normalize_mac(values.get("mac"))
    if device_mac:
        fields["sadp.mac"] = device_mac
    elif values.get("mac"):
        fields["sadp.mac"] = values["mac"].lower()
    return Observation.make(
        probe, ArtefactKind.SADP_REPLY, ip=ip, mac=mac or device_mac, raw=xml, fields=fields, time=time
    )


def is_reply_to(obs: Observation, uuid: str) -> bool:
    """True if a parsed reply carries the ``Uuid`` of our inquiry (compared case-insensitively).

    Whether every firmware echoes the inquiry's Uuid is not verified; use this as a filter only
    where dropping a non-echoing reply is acceptable."""
    echoed = obs.fields.get("sadp.uuid")
    if not echoed:
        return False
    return echoed.strip().lower() == uuid.strip().lower()


_STATEMENT = ("sadp.firmware", "sadp.model", "sadp.serial")
"""The fields that say what the unit is: a passive answer that changes one is kept as well."""


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """A device's reply (or announcement) on the wire; another client's inquiry is not one."""
    payload = heard.payload
    if payload.lstrip()[:1] == b"<" and (b"inquiry" not in payload[:400] or b"ProbeMatch" in payload):
        obs = parse_reply(payload, **heard.where())
        # One observation per host and *statement*: a later answer naming another firmware, model
        # or serial (an upgrade within the capture) is kept too, so the verdict can show both.
        yield ("sadp", heard.src, *(obs.fields.get(k) for k in _STATEMENT)), obs


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    text = r.opt_text("sadp")
    if text:
        yield parse_reply(text, **where)


SPEC = ProtocolSpec(
    name="sadp",
    title="SADP reply",
    order=30,
    udp=(37020,),
    groups=("239.255.255.250",),
    families={"sadp": "SADP reply"},
    fields={
        "sadp.xml_root": Field("sadp", "root element name (`ProbeMatch`)"),
        "sadp.types": Field("sadp", "`Types`"),
        "sadp.device_type": Field("sadp", "`DeviceType` (class code)"),
        "sadp.model": Field("sadp", "model (`DeviceDescription`)"),
        "sadp.serial": Field("sadp", "serial (`DeviceSN`)"),
        "sadp.mac": Field("sadp", "MAC the device reports"),
        "sadp.ipv4": Field("sadp", "`IPv4Address`"),
        "sadp.http_port": Field("sadp", "`HttpPort`"),
        "sadp.command_port": Field("sadp", "`CommandPort` (SDK)"),
        "sadp.firmware": Field("sadp", "firmware (`SoftwareVersion`)"),
        "sadp.dsp_version": Field("sadp", "`DSPVersion`"),
        "sadp.oem_code": Field("sadp", "`DetailOEMCode`"),
        "sadp.oem_info": Field("sadp", "`OEMInfo`"),
        "sadp.activated": Field("sadp", "`Activated`"),
        "sadp.boot_time": Field("sadp", "`BootTime`"),
        "sadp.uuid": Field("sadp", "`Uuid` (echoes the inquiry)"),
        "sadp.sdk_over_tls_port": Field("sadp", "`SDKOverTLSPort`"),
    },
    short_form=("sadp",),
    read_short_form=_short_form,
    passive=Passive(_heard, replies_only=True),
)
