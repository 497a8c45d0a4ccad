"""ONVIF device service replies: GetDeviceInformation and GetNetworkInterfaces -> ``onvif.*``.

Also the unauthenticated GetSystemDateAndTime request (ONVIF Core lets any client call it; a
camera's answer, and its envelope namespaces, need no login).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import ArtefactKind, Observation, normalize_mac
from ._common import (
    DOCUMENT_LIMIT,
    BadInput,
    children_by_name,
    declared_namespaces,
    find_local,
    guarded,
    iter_local,
    parse_xml,
    text_of,
)
from ._spec import Field, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = [
    "SPEC",
    "build_get_device_information",
    "build_get_system_date_and_time",
    "parse_device_information",
    "parse_network_interfaces",
]

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
DEVICE_WSDL = "http://www.onvif.org/ver10/device/wsdl"

_DEVICE_INFO_KEYS = {
    "manufacturer": "onvif.manufacturer",
    "model": "onvif.model",
    "firmwareversion": "onvif.firmware",
    "serialnumber": "onvif.serial",
    "hardwareid": "onvif.hardware_id",
}


def _request(operation: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<s:Envelope xmlns:s="{SOAP12}"><s:Body>'
        f'<{operation} xmlns="{DEVICE_WSDL}"/>'
        "</s:Body></s:Envelope>"
    ).encode()


def build_get_system_date_and_time() -> bytes:
    """SOAP 1.2 body of GetSystemDateAndTime (no credentials needed by the ONVIF spec)."""
    return _request("GetSystemDateAndTime")


def build_get_device_information() -> bytes:
    """SOAP 1.2 body of GetDeviceInformation, without WS-Security (many devices then answer 401)."""
    return _request("GetDeviceInformation")


def _fault(root: Any) -> str | None:
    fault = find_local(root, "Fault")
    if fault is None:
        return None
    reason = text_of(find_local(fault, "Text")) or text_of(find_local(fault, "faultstring"))
    subcode = [text_of(v) for v in iter_local(fault, "Value")]
    return " / ".join(x for x in [*subcode, reason] if x) or "SOAP Fault"


def _lower_keys(data: Mapping[Any, Any]) -> dict[str, str]:
    return {str(k).lower(): str(v).strip() for k, v in data.items() if v is not None and not isinstance(v, (dict, list))}


@guarded(ArtefactKind.ONVIF_DEVICE_INFO, raw_arg="data")
def parse_device_information(
    data: Mapping[str, Any] | str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """GetDeviceInformationResponse (SOAP XML, or a Mapping of its five values) -> ONVIF_DEVICE_INFO."""
    fields: dict[str, str] = {}
    if isinstance(data, Mapping):
        values = _lower_keys(data)
        raw: str | bytes = repr(dict(data))
    else:
        root = parse_xml(data, DOCUMENT_LIMIT)
        fault = _fault(root)
        if fault:
            raise BadInput("soap-fault", fault)
        response = find_local(root, "GetDeviceInformationResponse")
        if response is None:
            raise BadInput("garbage", "no GetDeviceInformationResponse in the document")
        values = children_by_name(response)
        raw = data
        namespaces = declared_namespaces(data)
        if namespaces:
            fields["onvif.namespaces"] = " ".join(namespaces)
    for name, key in _DEVICE_INFO_KEYS.items():
        if values.get(name):
            fields[key] = values[name]
    if not any(key in fields for key in _DEVICE_INFO_KEYS.values()):
        raise BadInput("garbage", "device information has none of Manufacturer/Model/FirmwareVersion/SerialNumber/HardwareId")
    return Observation.make(
        probe, ArtefactKind.ONVIF_DEVICE_INFO, ip=ip, mac=mac, raw=raw, fields=fields, time=time
    )


@guarded(ArtefactKind.ONVIF_DEVICE_INFO, raw_arg="data")
def parse_network_interfaces(
    data: Mapping[str, Any] | str | bytes,
    *,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """GetNetworkInterfacesResponse -> observation whose ``mac`` is the first interface's HwAddress
    (the device's own statement wins over a ``mac`` the caller passed).

    A Mapping may give ``HwAddress`` directly or a list ``NetworkInterfaces`` of Mappings with
    ``Info.HwAddress`` (the shape onvif-zeep returns, serialised to dicts). All hardware addresses
    seen are kept, ``\\n``-joined, in ``onvif.hw_address``; interface names in ``onvif.interface``.
    """
    addresses: list[str] = []
    names: list[str] = []
    if isinstance(data, Mapping):
        raw: str | bytes = repr(dict(data))
        interfaces = data.get("NetworkInterfaces") or [data]
        for item in interfaces if isinstance(interfaces, list) else [interfaces]:
            if not isinstance(item, Mapping):
                continue
            nested = item.get("Info")
            info: Mapping[str, Any] = nested if isinstance(nested, Mapping) else item
            if info.get("HwAddress"):
                addresses.append(str(info["HwAddress"]).strip())
            if info.get("Name"):
                names.append(str(info["Name"]).strip())
    else:
        root = parse_xml(data, DOCUMENT_LIMIT)
        fault = _fault(root)
        if fault:
            raise BadInput("soap-fault", fault)
        raw = data
        for element in iter_local(root, "HwAddress"):
            if text_of(element):
                addresses.append(text_of(element) or "")
        names = [n for n in (text_of(e) for e in iter_local(root, "Name")) if n]
    macs = [m for m in (normalize_mac(a) for a in addresses) if m]
    if not addresses:
        raise BadInput("garbage", "no HwAddress in the network interfaces")
    fields = {"onvif.hw_address": "\n".join(macs or addresses)}
    if names:
        fields["onvif.interface"] = "\n".join(dict.fromkeys(names))
    return Observation.make(
        probe, ArtefactKind.ONVIF_DEVICE_INFO, ip=ip, mac=macs[0] if macs else mac,
        raw=raw, fields=fields, time=time,
    )


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    info = r.text_or_object("onvif_device_info")
    if info:
        yield parse_device_information(info if isinstance(info, str) else r.text_map("onvif_device_info"), **where)


SPEC = ProtocolSpec(
    name="onvif",
    title="ONVIF device service",
    order=110,
    holds_connections=True,
    families={"onvif": "ONVIF"},
    fields={
        "onvif.manufacturer": Field("onvif", "GetDeviceInformation `Manufacturer`"),
        "onvif.model": Field("onvif", "GetDeviceInformation `Model`"),
        "onvif.firmware": Field("onvif", "GetDeviceInformation `FirmwareVersion`"),
        "onvif.serial": Field("onvif", "GetDeviceInformation `SerialNumber`"),
        "onvif.hardware_id": Field("onvif", "GetDeviceInformation `HardwareId`"),
        "onvif.namespaces": Field("onvif", "namespace URIs declared in the envelope (space-joined)"),
        "onvif.hw_address": Field("onvif", "GetNetworkInterfaces MACs (fill in a routed device's MAC)"),
        "onvif.interface": Field("onvif", "GetNetworkInterfaces interface names"),
    },
    short_form=("onvif_device_info",),
    read_short_form=_short_form,
)
