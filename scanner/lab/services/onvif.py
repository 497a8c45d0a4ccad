"""ONVIF device service (SOAP 1.2) with WS-UsernameToken PasswordDigest authentication.

Generates the replies onvif-zeep needs (GetSystemDateAndTime without auth; GetDeviceInformation,
GetScopes, GetNetworkInterfaces, GetCapabilities, GetServices with auth). A profile may replace
any generated reply with a captured envelope (``[onvif.replies]``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import ipaddress
import logging
import re
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from ..templates import fill
from .http import Request, build_response

log = logging.getLogger("camsweep.lab")

PATH = "/onvif/device_service"
_NS = ('xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
       'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
       'xmlns:tt="http://www.onvif.org/ver10/schema" '
       'xmlns:ter="http://www.onvif.org/ver10/error"')
_WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
_WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"
_CONTENT_TYPE = ("Content-Type", "application/soap+xml; charset=utf-8")


def _envelope(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<env:Envelope {_NS}><env:Body>{body}</env:Body></env:Envelope>'


def fault(subcode: str, text: str) -> str:
    return _envelope(
        "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode>"
        f"<env:Value>{subcode}</env:Value></env:Subcode></env:Code><env:Reason>"
        f'<env:Text xml:lang="en">{escape(text)}</env:Text></env:Reason></env:Fault>')


def password_digest(nonce_b64: str, created: str, password: str) -> str:
    """WS-Security UsernameToken PasswordDigest: Base64(SHA1(nonce + created + password))."""
    raw = base64.b64decode(nonce_b64) + created.encode() + password.encode()
    return base64.b64encode(hashlib.sha1(raw).digest()).decode()


class OnvifService:
    def __init__(self, config: Mapping[str, Any], variables: Mapping[str, str], port: int) -> None:
        self.config = config
        self.variables = variables
        self.port = port

    def _authorised(self, root: Any) -> bool:
        token = root.find(f".//{_WSSE}UsernameToken")
        if token is None:
            return False
        username = token.findtext(f"{_WSSE}Username")
        password = token.find(f"{_WSSE}Password")
        nonce = token.findtext(f"{_WSSE}Nonce")
        created = token.findtext(f"{_WSU}Created")
        if username != self.config["username"] or password is None or not nonce or not created:
            return False
        if not (password.get("Type") or "").endswith("#PasswordDigest"):
            return False
        try:
            expected = password_digest(nonce, created, self.config["password"])
        except ValueError:
            return False
        return hmac.compare_digest(expected, (password.text or "").strip())

    def _xaddr(self) -> str:
        port = "" if self.port == 80 else f":{self.port}"
        return f"http://{self.variables['ip']}{port}{PATH}"

    def _generated(self, operation: str) -> str | None:
        c, v = self.config, self.variables
        if operation == "GetSystemDateAndTime":
            now = datetime.datetime.now(datetime.UTC)
            return _envelope(
                "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>"
                "<tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone><tt:UTCDateTime>"
                f"<tt:Time><tt:Hour>{now.hour}</tt:Hour><tt:Minute>{now.minute}</tt:Minute><tt:Second>{now.second}</tt:Second></tt:Time>"
                f"<tt:Date><tt:Year>{now.year}</tt:Year><tt:Month>{now.month}</tt:Month><tt:Day>{now.day}</tt:Day></tt:Date>"
                "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>")
        if operation == "GetDeviceInformation":
            fields = [("Manufacturer", "manufacturer"), ("Model", "model"), ("FirmwareVersion", "firmware_version"),
                      ("SerialNumber", "serial_number"), ("HardwareId", "hardware_id")]
            inner = "".join(f"<tds:{tag}>{escape(fill(c.get(key, ''), v))}</tds:{tag}>" for tag, key in fields)
            return _envelope(f"<tds:GetDeviceInformationResponse>{inner}</tds:GetDeviceInformationResponse>")
        if operation == "GetScopes":
            items = "".join(f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{escape(fill(s, v))}</tt:ScopeItem></tds:Scopes>"
                            for s in c.get("scopes", []))
            return _envelope(f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>")
        if operation == "GetNetworkInterfaces":
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{v['netmask']}").prefixlen
            return _envelope(
                '<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="eth0"><tt:Enabled>true</tt:Enabled>'
                f"<tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>{v['mac']}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>"
                "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual>"
                f"<tt:Address>{v['ip']}</tt:Address><tt:PrefixLength>{prefix}</tt:PrefixLength></tt:Manual>"
                "<tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>")
        if operation == "GetCapabilities":
            xaddr = self._xaddr()
            return _envelope(
                "<tds:GetCapabilitiesResponse><tds:Capabilities>"
                f"<tt:Device><tt:XAddr>{xaddr}</tt:XAddr></tt:Device>"
                "</tds:Capabilities></tds:GetCapabilitiesResponse>")
        if operation == "GetServices":
            return _envelope(
                "<tds:GetServicesResponse><tds:Service><tds:Namespace>http://www.onvif.org/ver10/device/wsdl</tds:Namespace>"
                f"<tds:XAddr>{self._xaddr()}</tds:XAddr><tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>"
                "</tds:Service></tds:GetServicesResponse>")
        return None

    async def handle(self, request: Request) -> bytes | None:
        if request.method != "POST":
            return build_response(405, [_CONTENT_TYPE], b"")
        try:
            root = ElementTree.fromstring(request.body)
            body = next(el for el in root if el.tag.endswith("}Body"))
            operation = re.sub(r"^\{.*\}", "", next(iter(body)).tag)
        except (ElementTree.ParseError, ValueError, StopIteration):  # malformed SOAP, bombs, empty Body
            return build_response(400, [_CONTENT_TYPE], fault("ter:InvalidArgVal", "Malformed request").encode())
        if operation != "GetSystemDateAndTime" and not self._authorised(root):
            return build_response(400, [_CONTENT_TYPE], fault("ter:NotAuthorized", "Sender not Authorized").encode())
        captured = self.config.get("replies", {}).get(operation)
        text = fill(captured, self.variables) if captured else self._generated(operation)
        if text is None:
            return build_response(400, [_CONTENT_TYPE], fault("ter:ActionNotSupported", "Optional Action Not Implemented").encode())
        return build_response(200, [_CONTENT_TYPE], text.encode("utf-8"))
