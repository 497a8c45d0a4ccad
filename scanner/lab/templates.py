"""Placeholder substitution for profile templates (plain text replacement; see PROFILES.md)."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from collections.abc import Mapping


def device_uuid(mac: str) -> str:
    """A stable UUID ending in the MAC, shaped like the endpoint UUIDs cameras announce."""
    digest = hashlib.sha1(mac.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-11{digest[14:16]}-8{digest[17:20]}-{mac.replace(':', '')}"


def device_variables(name: str, hostname: str, mac: str, ip: str, network: str, gateway: str) -> dict[str, str]:
    """The placeholders every template of one device may use."""
    mac_hex = mac.replace(":", "")
    return {
        "ip": ip, "netmask": str(ipaddress.IPv4Network(network).netmask), "gateway": gateway,
        "mac": mac, "mac_dash": mac.replace(":", "-"), "mac_hex": mac_hex, "MAC_HEX": mac_hex.upper(),
        "name": name, "hostname": hostname, "device_uuid": device_uuid(mac),
    }


def fill(template: str, variables: Mapping[str, str]) -> str:
    """Replace ``{key}`` for each given key; every other brace is left as written."""
    for key, value in variables.items():
        template = template.replace("{" + key + "}", value)
    return template


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"
