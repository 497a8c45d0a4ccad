"""Property-based fuzz of every codec in scanner/protocols/ and every regex that scans device text.

``tests/test_protocols_fuzz.py`` mutates real replies at random and ``tests/test_protocols_hostile.py``
replays known attacks; this file builds *structured* hostile input with hypothesis: valid-looking
messages whose fields are mutated, lone surrogates, ``1e999``, NULs, deep nesting, lying lengths,
and long runs of a regex's opener (``<title`` many times over, ``realm="`` without its quote, ...),
the shape that makes a backtracking regex quadratic. The same is done to the fingerprint rules'
patterns (fingerprints/*.toml), through the matcher (``camsweep.verdicts.identify``).

Properties, for every input: the codec does not raise; it returns one Observation whose every
string encodes as UTF-8 (and the whole of which ``json.dumps`` can write as last-scan.json does);
raw and fields stay within their limits; an unexpected exception inside a codec (``parser-error``)
never happens; an observation with a problem has no fields unless the problem is only that text
had to be made encodable; and each example finishes within the deadline (2 s, generous: the
linear codecs take milliseconds, the quadratic title regex took 38 s on 256 KiB).

Deterministic (``derandomize``, no example database), sized to run in well under a minute on a
loaded two-core machine.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import string
import struct
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import pytest
from camsweep.errors import InputFileError
from camsweep.models import FIELD_LIMIT, RAW_LIMIT, ArtefactKind, Device, Observation
from camsweep.probes import http as http_probe
from camsweep.probes import onvif as onvif_probe
from camsweep.probes import rtsp as rtsp_probe
from camsweep.protocols import (
    _common,
    dhcp,
    dhip,
    http,
    mdns,
    onvif,
    rtsp,
    sadp,
    tls,
    upnp,
    wsd,
)
from camsweep.verdicts import identify, load_fingerprints
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=dt.timedelta(seconds=2),
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)
"""Fixed seed per test, no database: a failure reproduces and CI does the same work each run."""

# ------------------------------------------------------------------------------ text pieces

SPECIAL = [
    "\ud800", "\udfff", "\udbff\udc00", "\ud83d\ude00",  # lone and paired surrogates (JSON \u escapes give them)
    "\x00", "\x1b[2J", "\u202e", "\ufeff", "\u0085", "\u2028", "\ufffd", "\u0130", "\u212a",
    "1e999", "-1e999", "NaN", "Infinity", "-0", "18446744073709551616", "",
    " ", "\t", "\r", "\n", "\r\n", "\r\n ", "\r\n\r\n",
    "<", ">", "&", "&amp;", "&#xD800;", "&#0;", "]]>", "<!--", '"', "'", "\\", "%", "%ED%A0%80", "%00", "%zz",
    ",", ";", "=", ":", "/", "+",
]
"""Pieces that broke, or could break, a parser: unencodable text, NULs, control and bidi characters,
numbers JSON and int() dislike, line ends and folding, markup and escape characters."""

atoms = st.one_of(
    st.text(max_size=20),
    st.sampled_from(SPECIAL),
    st.characters(categories=["Cs"]),
    st.text(alphabet=string.ascii_letters + string.digits + " -_.", max_size=20),
)
hostile_text = st.lists(atoms, max_size=8).map("".join)
"""Short text mixing ordinary words with the pieces above (lone surrogates included)."""


def runs(openers: list[str], most: int) -> st.SearchStrategy[str]:
    """One opener repeated up to ``most`` times, with hostile text before and after.

    ``most`` is chosen per codec so the run reaches that codec's input limit: a regex that restarts
    from every opener shows its quadratic cost only on long runs, which hypothesis alone would not
    build (its text strategies stay small).
    """
    return st.builds(
        lambda head, opener, count, tail: head + opener * count + tail,
        hostile_text, st.sampled_from(openers), st.integers(1, most), hostile_text,
    )


def encodings(text: str) -> st.SearchStrategy[bytes | str]:
    """The same text as a str (short form) or bytes (the wire), surrogates passed through as bytes."""
    return st.sampled_from([text, text.encode("utf-8", errors="surrogatepass")])


# ---------------------------------------------------------------------------- the property


def _strings(obs: Observation) -> list[str]:
    texts = [obs.probe, obs.ip, obs.mac, obs.raw, obs.problem]
    texts += [t for item in obs.fields.items() for t in item]
    return [t for t in texts if t is not None]


def check(obs: Any, kind: ArtefactKind | None = None, *, codec: bool = True) -> Observation:
    """The properties every codec result must have (see the module docstring); ``codec=False`` for
    an observation made directly, whose caller may give both fields and a problem."""
    assert isinstance(obs, Observation), obs
    if kind is not None:
        assert obs.kind is kind
    for text in _strings(obs):
        assert isinstance(text, str)
        text.encode("utf-8")  # raises on a surrogate
    json.dumps(obs.to_dict(), ensure_ascii=False).encode("utf-8")
    assert obs.raw is None or len(obs.raw) <= RAW_LIMIT
    assert all(len(v) <= FIELD_LIMIT for v in obs.fields.values())
    if obs.problem is not None:
        assert not obs.problem.startswith("parser-error"), obs.problem  # an unexpected exception in a codec
        if codec and not obs.problem.startswith("unencodable-text"):
            assert obs.fields == {}, obs.problem
    return obs


def surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


# ------------------------------------------------------------------------------------- DHIP

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    hostile_text, st.just("__1E999__"),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=10,
)
dhip_device_info = st.fixed_dictionaries(
    {},
    optional={
        **{key: json_values for key in ("DeviceClass", "DeviceType", "SerialNo", "Vendor", "Manufacturer",
                                         "Version", "MachineName", "HttpPort", "Port", "DeviceID", "MAC")},
        "IPv4Address": st.one_of(json_values, st.fixed_dictionaries({"IPAddress": json_values})),
    },
)
dhip_messages = st.fixed_dictionaries(
    {"method": st.one_of(st.sampled_from(["client.notifyDevInfo", "DHDiscover.search", ""]), json_values)},
    optional={
        "params": st.one_of(
            st.fixed_dictionaries({"deviceInfo": dhip_device_info}, optional={"realm": json_values}), json_values),
        "mac": json_values,
        "error": st.one_of(st.fixed_dictionaries({"code": json_values, "message": json_values}), json_values),
        "result": json_values,
        "session": json_values,
    },
)


@st.composite
def dhip_inputs(draw: st.DrawFn) -> bytes | str | dict[str, Any]:
    message = draw(dhip_messages)
    form = draw(st.sampled_from(["mapping", "packet", "json-bytes", "json-text"]))
    if form == "mapping":
        return message
    text = json.dumps(message, ensure_ascii=draw(st.booleans())).replace('"__1E999__"', "1e999")
    depth = draw(st.sampled_from([0, 0, 0, 50, 5000, 30000]))
    if depth:
        text = '{"params":' * depth + text + "}" * depth if draw(st.booleans()) else "[" * depth + text + "]" * depth
    if form == "json-text":
        return text
    body = text.encode("utf-8", errors="surrogatepass") + draw(st.sampled_from([b"\n", b"", b"\x00", b"\n\x00\x00"]))
    if form == "json-bytes":
        return body
    length = draw(st.one_of(st.just(len(body)), st.integers(0, 2**32 - 1), st.integers(0, len(body) + 64)))
    length2 = draw(st.one_of(st.just(length), st.integers(0, 2**32 - 1)))
    size = draw(st.sampled_from([dhip.HEADER_SIZE, dhip.HEADER_SIZE, 0, 2**32 - 1]))
    magic = draw(st.sampled_from([dhip.MAGIC, dhip.MAGIC, b"DHIQ", b"\x00" * 4]))
    header = dhip.HEADER.pack(size, magic, 0, draw(st.integers(0, 2**32 - 1)), length, 0, length2, 0)
    return (header + body)[: draw(st.sampled_from([None, None, 16, 40, len(header) + len(body) // 2]))]


@FUZZ
@given(dhip_inputs())
@example(dhip.encode(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"Port":' + b"9" * 5000 + b"}}}"))
@example(dhip.encode(b"[" * 30_000 + b"]" * 30_000))  # nesting deeper than json recurses
def test_dhip(data: bytes | str | dict[str, Any]) -> None:
    check(dhip.parse_reply(data, probe="f", ip="198.18.0.9"), ArtefactKind.DHIP_REPLY)


# -------------------------------------------------------------------------------------- XML


def element(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


xml_declarations = st.sampled_from([
    "", '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="GB2312"?>',
    '<?xml version="1.0" encoding="bogus-8"?>', '<?xml version="1.0" encoding="utf-16"?>',
    "\r\n\r\n<?xml version='1.0'?>", "<?xml" + " a" * 2000 + "?>", "<?xml" * 3000, "\ufeff",
])
xml_openers = ["<?xml", "<", "<a>", "<a", "</a>", "&", "&amp;", "<![CDATA[", "<!--", "xmlns:a='u' ", "]]>"]


@st.composite
def xml_documents(draw: st.DrawFn, root: str | list[str], children: list[str],
                  wrap: Callable[[str], str] = lambda body: body) -> bytes | str:
    """A document of the expected shape whose element texts are hostile, then encoded and mutated."""
    root = draw(st.sampled_from(root)) if isinstance(root, list) else root
    parts = [element(name, draw(st.one_of(hostile_text, runs(xml_openers, 3000))))
             for name in draw(st.lists(st.sampled_from(children), max_size=len(children) + 2))]
    depth = draw(st.sampled_from([0, 0, 0, 100, 20000]))
    body = "<a>" * depth + "".join(parts) + "</a>" * depth
    text = draw(xml_declarations) + wrap(f"<{root}>{body}</{root}>")
    text = text[: draw(st.sampled_from([None, None, None, len(text) // 2]))]
    return draw(encodings(text))


SADP_CHILDREN = ["Uuid", "Types", "DeviceType", "DeviceDescription", "DeviceSN", "MAC", "IPv4Address", "HttpPort",
                 "CommandPort", "SoftwareVersion", "DSPVersion", "DetailOEMCode", "OEMInfo", "Activated", "BootTime"]


@FUZZ
@given(xml_documents(root=["ProbeMatch", "ProbeMatch", "Probe", "x:ProbeMatch"], children=SADP_CHILDREN))
def test_sadp(data: bytes | str) -> None:
    check(sadp.parse_reply(data, probe="f"), ArtefactKind.SADP_REPLY)


WSD_NS = ('xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
          'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:tnshik="http://www.hikvision.com/2011/event/topics"')
scope_values = st.one_of(
    hostile_text,
    st.builds(lambda kind, value: f"onvif://www.onvif.org/{kind}/{value}",
              st.sampled_from(["name", "hardware", "location/city", "MAC", "type", "Profile"]), hostile_text),
    runs(["onvif://www.onvif.org/", "onvif://www.onvif.org/hardware/x ", "onvif://www.onvif.org/name/ ", "%", "%E", " "],
         3000),
)


@st.composite
def wsd_messages(draw: st.DrawFn) -> bytes | str:
    message = draw(st.sampled_from(["ProbeMatches", "Hello", "Bye", "Probe", "Resolve"]))
    scopes = " ".join(draw(st.lists(scope_values, max_size=6)))
    match = "".join([
        f"<a:EndpointReference><a:Address>{escape(draw(hostile_text))}</a:Address></a:EndpointReference>",
        element("d:Types", draw(hostile_text)), element("d:Scopes", scopes), element("d:XAddrs", draw(hostile_text)),
        element("d:MetadataVersion", draw(hostile_text)),
    ])
    inner = f"<d:ProbeMatch>{match}</d:ProbeMatch>" * draw(st.integers(0, 3)) if message == "ProbeMatches" else match
    header = element("a:MessageID", draw(hostile_text)) + element("a:RelatesTo", draw(hostile_text))
    text = (draw(xml_declarations) + f"<s:Envelope {WSD_NS}><s:Header>{header}</s:Header>"
            f"<s:Body><d:{message}>{inner}</d:{message}></s:Body></s:Envelope>")
    return draw(encodings(text[: draw(st.sampled_from([None, None, None, len(text) - 20]))]))


@FUZZ
@given(wsd_messages())
def test_wsd(data: bytes | str) -> None:
    check(wsd.parse_message(data, probe="f"), ArtefactKind.ONVIF_SCOPES)


SOAP = 'xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"'


def _soap(body: str) -> str:
    return f"<s:Envelope {SOAP}><s:Body>{body}</s:Body></s:Envelope>"


onvif_mappings = st.dictionaries(
    st.sampled_from(["Manufacturer", "Model", "FirmwareVersion", "SerialNumber", "HardwareId", "HwAddress", "Name",
                     "NetworkInterfaces", "Info"]) | hostile_text,
    json_values, max_size=6,
)


@FUZZ
@given(st.one_of(
    onvif_mappings,
    xml_documents(root="tds:GetDeviceInformationResponse",
                  children=["tds:Manufacturer", "tds:Model", "tds:FirmwareVersion", "tds:SerialNumber", "tds:HardwareId"],
                  wrap=_soap),
    xml_documents(root="s:Fault", children=["s:Value", "s:Text", "faultstring"], wrap=_soap),
))
def test_onvif_device_information(data: Any) -> None:
    check(onvif.parse_device_information(data, probe="f"), ArtefactKind.ONVIF_DEVICE_INFO)


@FUZZ
@given(st.one_of(
    onvif_mappings,
    st.builds(lambda items: {"NetworkInterfaces": items}, st.lists(st.one_of(onvif_mappings, json_values), max_size=4)),
    xml_documents(root="tds:GetNetworkInterfacesResponse", children=["HwAddress", "Name", "Info"], wrap=_soap),
))
def test_onvif_network_interfaces(data: Any) -> None:
    check(onvif.parse_network_interfaces(data, probe="f"), ArtefactKind.ONVIF_DEVICE_INFO)


def _in_device(document: str) -> str:
    return document.replace("<root>", "<root><device>", 1).replace("</root>", "</device></root>")


@FUZZ
@given(xml_documents(root="root", wrap=_in_device,
                     children=["manufacturer", "manufacturerURL", "modelName", "modelNumber", "modelDescription",
                               "friendlyName", "serialNumber", "deviceType", "UDN", "presentationURL", "device"]))
def test_upnp_description(data: bytes | str) -> None:
    check(upnp.parse_description(data, probe="f"), ArtefactKind.UPNP_DESCRIPTION)


# ------------------------------------------------------------------ HTTP-style header blocks

header_names = st.one_of(
    st.sampled_from(["Server", "WWW-Authenticate", "Location", "Content-Length", "CONTENT-LENGTH", "ST", "USN",
                     "NT", "NTS", "Public", "Set-Cookie", ""]),
    hostile_text,
)
challenge_openers = ['Digest ', 'realm="', 'realm=', 'a=', 'a="', 'a="\\', '\\"', 'a==', ', ', ',', 'x/', '=',
                     'Negotiate abc==', 'Basic realm="Login to ', '"', ' a', 'a ']
header_values = st.one_of(
    hostile_text,
    runs(challenge_openers, 6000),
    st.builds(lambda head, folds: head + "".join("\r\n" + f for f in folds),
              hostile_text, st.lists(st.sampled_from([" a", "\ta", " ", " realm=\"x\"", " a" * 2000]), max_size=50)),
)
headers = st.lists(st.tuples(header_names, header_values), max_size=12)


def message_bytes(start: str, header_list: list[tuple[str, str]], body: bytes, *, separator: str = "\r\n") -> bytes:
    head = separator.join([start, *(f"{name}: {value}" for name, value in header_list)])
    return head.encode("utf-8", errors="surrogatepass") + (separator * 2).encode() + body


title_openers = ["<title", "<title>", "<TITLE ", "<title\n", "</title", "</title ", "<title>x</title", "<titlebar>",
                 "<title a='>'", "<title>\u0130", "<ti", "<"]
bodies = st.one_of(
    st.binary(max_size=200),
    hostile_text.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    runs(title_openers, 40_000).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.builds(lambda title, n: f"<html><title>{title}</title>".encode("utf-8", errors="surrogatepass") + b"<title>" * n,
              hostile_text, st.integers(0, 40_000)),
)


@FUZZ
@given(st.integers(-5, 1200), headers, st.one_of(bodies, hostile_text), st.sampled_from(["/", "/%63urrent", "\ud800"]))
@example(200, [], b"<title>" * 40_000, "/")  # the 38-second page of issue 19
@example(401, [("WWW-Authenticate", "Digest" + " a" * 200_000)], b"", "/")  # one challenge per letter
def test_http_response(status: int, header_list: list[tuple[str, str]], body: bytes | str, path: str) -> None:
    obs = check(http.parse_response(status, header_list, body, path=path, port=80, probe="f"), ArtefactKind.HTTP_RESPONSE)
    if obs.problem is None:
        assert obs.fields["http.status"] == str(status)


status_lines = st.one_of(
    st.sampled_from(["HTTP/1.1 200 OK", "HTTP/1.0 401 Unauthorized", "HTTP/1.1 302 Found", "HTTP/2 999 x", "HTTP/1.1 20",
                     "RTSP/1.0 200 OK", "RTSP/1.0 401 Unauthorized", "NOTIFY * HTTP/1.1", "M-SEARCH * HTTP/1.1", ""]),
    hostile_text,
    runs(["HTTP/1.1 ", "RTSP/1.0 ", "NOTIFY * ", " ", "\t"], 3000),
)


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes | str:
    data = message_bytes(draw(status_lines), draw(headers), draw(bodies),
                         separator=draw(st.sampled_from(["\r\n", "\n", "\r\n", "\r"])))
    data = data[: draw(st.sampled_from([None, None, None, 10, len(data) // 2]))]
    return draw(st.sampled_from([data, data.decode("utf-8", errors="surrogateescape")]))


@FUZZ
@given(raw_messages())
@example(b"HTTP/1.1 200 OK\r\n" + b"X: a\r\n" + b" a\r\n" * 200_000 + b"\r\n")  # quadratic folding
def test_http_raw_response(data: bytes | str) -> None:
    check(http.parse_raw_response(data, path="/", port=80, probe="f"), ArtefactKind.HTTP_RESPONSE)


@FUZZ
@given(raw_messages())
def test_rtsp(data: bytes | str) -> None:
    check(rtsp.parse_reply(data, probe="f"), ArtefactKind.RTSP_BANNER)
    if isinstance(data, bytes):
        assert rtsp_probe.reply_complete(data) in (True, False)


@FUZZ
@given(raw_messages())
def test_ssdp(data: bytes | str) -> None:
    check(upnp.parse_ssdp(data, probe="f"), ArtefactKind.SSDP_REPLY)


@FUZZ
@given(header_values)
def test_challenges_are_bounded(value: str) -> None:
    challenges = http.parse_challenges(value)
    assert len(challenges) <= http.MAX_CHALLENGES
    for scheme, params in challenges:
        assert len(scheme) <= _common.HEADER_VALUE_LIMIT and all(len(v) <= _common.HEADER_VALUE_LIMIT for v in params.values())


_REFERENCE_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
"""The regex title_of used to be: the reference for what a title is (it is fine on short input)."""


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(title_openers + [">", "</title>", "</TITLE\n>", "x", " "]), hostile_text),
                max_size=12).map("".join))
def test_title_of_agrees_with_the_old_regex_on_short_pages(page: str) -> None:
    found = _REFERENCE_TITLE.search(page)
    expected = _common.collapse(html.unescape(found.group(1))) if found else None
    assert http.title_of(page) == (expected or None)


# ------------------------------------------------------------------------------ TLS

_KEY = None


def _certificate(subject: list[tuple[str, str]]) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID

    global _KEY
    # Ed25519 from a fixed seed signs deterministically: the same names give the same DER, which
    # hypothesis needs to replay an example.
    _KEY = _KEY or ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "L": NameOID.LOCALITY_NAME}
    name = x509.Name([x509.NameAttribute(oids[key], value) for key, value in subject] or
                     [x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(_KEY.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + dt.timedelta(days=1))
            .sign(_KEY, None))
    return cert.public_bytes(serialization.Encoding.DER)


dn_text = st.one_of(hostile_text, runs(["\\", ",", "+", "=", "\\,", "CN=", "; ", "/"], 3000)).filter(
    lambda t: not surrogates(t) and "\x00" not in t)


@st.composite
def der_certificates(draw: st.DrawFn) -> bytes:
    der = bytearray(_certificate(draw(st.lists(
        st.tuples(st.sampled_from(["CN", "O", "OU", "L"]), dn_text.filter(lambda t: 0 < len(t) <= 64)), max_size=4))))
    for _ in range(draw(st.integers(0, 3))):
        if der:
            at = draw(st.integers(0, len(der) - 1))
            der[at] = draw(st.integers(0, 255))
    return bytes(der[: draw(st.sampled_from([None, None, None, 10, len(der) - 1]))])


@FUZZ
@given(der_certificates())
def test_tls_der(der: bytes) -> None:
    check(tls.from_der(der, port=443, probe="f"), ArtefactKind.TLS_CERTIFICATE)


@FUZZ
@given(st.one_of(hostile_text, dn_text, runs(["CN=", "\\", "; C=", "/O=", ",", "+"], 3000)), hostile_text)
def test_tls_names(subject: str, issuer: str) -> None:
    check(tls.from_names(subject, issuer, port=443, probe="f"), ArtefactKind.TLS_CERTIFICATE)


# ------------------------------------------------------------------------------ mDNS, DHCP

txt_records = st.one_of(
    st.none(), hostile_text, st.binary(max_size=64),
    st.dictionaries(st.one_of(hostile_text, st.binary(max_size=16)), st.one_of(st.none(), hostile_text, st.binary(max_size=32)),
                    max_size=80),
    st.lists(st.one_of(hostile_text, st.binary(max_size=16)), max_size=80),
)


@FUZZ
@given(hostile_text, hostile_text, st.one_of(st.none(), hostile_text),
       st.one_of(st.none(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True), hostile_text,
                 st.sampled_from(["80", "9" * 5000, "\u0663", True])),
       txt_records)
def test_mdns(service_type: str, instance: str, server: str | None, port: Any, txt: Any) -> None:
    check(mdns.from_service(service_type, instance, server=server, service_port=port, txt=txt, probe="f"),
          ArtefactKind.MDNS_RECORD)


@st.composite
def dhcp_packets(draw: st.DrawFn) -> bytes:
    hlen = draw(st.sampled_from([6, 6, 0, 16, 255]))
    fixed = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", draw(st.sampled_from([1, 1, 2, 0, 255])), 1, hlen, 0,
                        draw(st.integers(0, 2**32 - 1)), 0, 0, draw(st.binary(min_size=4, max_size=4)), bytes(4),
                        bytes(4), bytes(4), draw(st.binary(min_size=16, max_size=16)), bytes(64), bytes(128))
    options = b""
    for code, value in draw(st.lists(st.tuples(
            st.sampled_from([12, 60, 55, 53, 50, 61, 0, 255, 81]),
            st.one_of(hostile_text.map(lambda t: t.encode("utf-8", errors="surrogatepass")), st.binary(max_size=40))),
            max_size=8)):
        length = draw(st.one_of(st.just(len(value)), st.integers(0, 255)))  # a lying length now and then
        options += bytes([code, min(length, 255)]) + value[:255]
    packet = fixed + b"\x63\x82\x53\x63" + options + draw(st.sampled_from([b"\xff", b"", b"\xff\x00\x00"]))
    return packet[: draw(st.sampled_from([None, None, None, 239, 241, len(packet) - 1]))]


@FUZZ
@given(dhcp_packets())
def test_dhcp_packet(payload: bytes) -> None:
    check(dhcp.parse_packet(payload, probe="f"), ArtefactKind.DHCP_OPTIONS)


param_lists = st.one_of(
    st.none(), hostile_text, st.binary(max_size=40),
    st.lists(st.one_of(st.integers(-(2**70), 2**70), hostile_text, st.floats(allow_nan=True, allow_infinity=True),
                       st.none()), max_size=10),
    st.sampled_from(["1,3,6", "1e999", "\u00b2", "\u0663", "999999999999999999999", "9" * 5000]),
)


@FUZZ
@given(st.one_of(st.none(), hostile_text, st.binary(max_size=40)), st.one_of(st.none(), hostile_text, st.binary(max_size=40)),
       param_lists)
def test_dhcp_options(hostname: Any, vendor_class: Any, param_list: Any) -> None:
    check(dhcp.from_options(hostname=hostname, vendor_class=vendor_class, param_list=param_list, probe="f"),
          ArtefactKind.DHCP_OPTIONS)


# ------------------------------------------------------------------------- _common helpers


@FUZZ
@given(st.one_of(raw_messages(), st.binary(max_size=300)))
def test_split_message_is_bounded(data: bytes | str) -> None:
    try:
        start, header_list, body = _common.split_message(data, what="fuzz")
    except _common.BadInput as exc:
        assert exc.slug == "invalid-utf8"
        return
    assert isinstance(start, str) and isinstance(body, bytes)
    assert len(header_list) <= _common.MAX_HEADERS
    assert sum(len(n) + len(v) for n, v in header_list) <= _common.HEADER_BLOCK_LIMIT
    assert all(len(v) <= _common.HEADER_VALUE_LIMIT for _, v in header_list)
    fields = _common.header_fields("x", header_list)
    assert all(isinstance(v, str) for v in fields.values())


@FUZZ
@given(st.one_of(xml_documents(root="r", children=["a", "b"]), st.binary(max_size=200), hostile_text))
def test_parse_xml_and_namespaces(data: bytes | str) -> None:
    try:
        root = _common.parse_xml(data, _common.DISCOVERY_LIMIT)
    except _common.BadInput as exc:
        assert exc.slug in ("oversize", "garbage", "xml-invalid", "xml-forbidden", "invalid-utf8")
        return
    assert isinstance(_common.local_name(root.tag), str)
    assert all(isinstance(uri, str) for uri in _common.declared_namespaces(data))


@FUZZ
@given(st.one_of(st.none(), hostile_text, st.binary(max_size=100), json_values, runs(["x"], 70_000)))
def test_raw_text_is_bounded_and_decoded(data: Any) -> None:
    text = _common.raw_text(data)
    assert text is None or (isinstance(text, str) and len(text) <= RAW_LIMIT * 4 + 4)


@FUZZ
@given(st.lists(st.tuples(st.one_of(hostile_text, json_values),
                          st.one_of(hostile_text, json_values, st.integers(0, 20_000).map("a".__mul__))), max_size=6),
       st.integers(1, 100), st.lists(st.one_of(st.none(), hostile_text), max_size=50))
def test_header_helpers(pairs: list[tuple[Any, Any]], copies: int, values: list[str | None]) -> None:
    bounded = _common.bound_headers(pairs * copies)
    assert len(bounded) <= _common.MAX_HEADERS and all(isinstance(n, str) and isinstance(v, str) for n, v in bounded)
    kept: list[str] = []  # what unique_lines did before it was made linear: first occurrences, in order
    for value in values:
        if value and value not in kept:
            kept.append(value)
    assert _common.unique_lines(values) == "\n".join(kept)


@FUZZ
@given(hostile_text, runs(["x", "\n", "\x1b", "\u202e", "\ud800"], 50_000))
def test_log_line_is_one_short_printable_line(message: str, long: str) -> None:
    line = _common.one_line(ValueError(message + long))
    assert len(line) <= _common.LOG_DETAIL_LIMIT
    assert "\n" not in line and line.isprintable()
    line.encode("utf-8")


@FUZZ
@given(st.dictionaries(hostile_text, st.one_of(hostile_text, json_values), max_size=6),
       st.one_of(st.none(), hostile_text, runs(["\ud800", "x"], 40_000)), st.one_of(st.none(), hostile_text),
       st.one_of(st.none(), hostile_text), st.one_of(st.none(), hostile_text))
def test_observation_make_and_from_dict(fields: dict[str, Any], raw: str | None, problem: str | None,
                                        ip: str | None, mac: str | None) -> None:
    """Every source of observations ends here (codecs, captures, the short form, saved files)."""
    obs = check(Observation.make("f\ud800", ArtefactKind.HOSTNAME, ip=ip, mac=mac, raw=raw, fields=fields,
                                 problem=problem), ArtefactKind.HOSTNAME, codec=False)
    try:
        again = Observation.from_dict({**obs.to_dict(), "raw": raw, "problem": problem, "ip": ip, "mac": mac})
    except InputFileError:
        pass  # a saved file with an address that is not one is refused in one line (test_fuzz_saved)
    else:
        for text in _strings(again):
            text.encode("utf-8")
    assert Observation.from_dict(json.loads(json.dumps(obs.to_dict()))) == obs


# -------------------------------------------------------- regexes of the probes on device text


@FUZZ
@given(headers, bodies)
def test_http_probe_follow_ups(header_list: list[tuple[str, str]], body: bytes) -> None:
    """The pages the probe asks next come from the rules a reply matches, whatever the reply holds."""
    reply = http.parse_response(200, _common.bound_headers(header_list), body, path="/", port=80, probe="http")
    pages, login = http_probe.follow_ups([reply])
    named = {page for rule in DB.rules for page in (*rule.confirm_paths, rule.login_path) if page}
    assert set(pages) <= named and (login is None or login in named)


@FUZZ
@given(st.one_of(hostile_text, runs(["%", "%25", "%2", "/", "\\", "%63", "/RPC", "?auth", "%00"], 5000)))
def test_forbidden_path_check(path: str) -> None:
    assert http_probe.forbidden(path) in (True, False)


@FUZZ
@given(st.one_of(hostile_text, runs(["NotAuthori", "HTTP status 40", "time", "refused", " "], 20_000)))
def test_onvif_error_classification(text: str) -> None:
    assert onvif_probe.classify(RuntimeError(text)).startswith("onvif-")


# ------------------------------------------------------------------------- fingerprint rules

DB = load_fingerprints()
RULES = sorted({rule.id: rule for key in DB.fields for rule in DB.rules_for(key)}.values(), key=lambda r: r.id)
STRETCH = 64 * 1024
"""Characters a stretched value may reach: 16 times an observation's field limit, so a quadratic
pattern costs 256 times what it costs in a scan, and shows."""
DERIVED = {"device.ports", "device.model", "http.header_shape"}
"""Keys the matcher computes per device rather than reads from an observation: the rule is applied
to the value directly (the same compiled pattern the matcher uses)."""


@st.composite
def rule_values(draw: st.DrawFn, rule: Any) -> str:
    """Text shaped like the rule's own examples, then stretched: a prefix repeated, a long run of
    one character inside it, a terminator the pattern does not expect, a lone surrogate."""
    samples = [e.value for e in (*rule.examples, *rule.counter_examples)] or ["x"]
    sample = draw(st.sampled_from(samples))
    cut = draw(st.integers(0, len(sample)))
    filler = draw(st.sampled_from([" ", "a", "0", "\n", "\t", ",", ".", "/", "=", '"', "<", "-", "\\", "\r\n", " a"]))
    count = draw(st.integers(1, STRETCH))
    terminator = draw(st.sampled_from(["", "!", "\x00", "\n", "x", '"', ">", "\ud800"]))
    shape = draw(st.sampled_from(["prefix-repeated", "run-inside", "run-then-terminator", "chunks"]))
    if shape == "prefix-repeated":
        value = (sample[:cut] + terminator) * max(1, count // max(1, cut))
    elif shape == "run-inside":
        value = sample[:cut] + filler * count + sample[cut:]
    elif shape == "run-then-terminator":
        value = sample[:cut] + filler * count + terminator
    else:
        value = (sample[:cut] + filler * 40 + terminator) * max(1, count // (cut + 40))
    return value[:STRETCH]


def worst_values(rule: Any) -> list[str]:
    """Shapes tried on every rule whatever hypothesis draws: each example (two at most) followed by
    a 64 KiB run of a space, a letter, a digit or a tab and then a character no rule expects, and
    the first half of each example repeated to 64 KiB."""
    out = []
    for sample in [e.value for e in rule.examples][:2] or ["x"]:
        head = sample.rstrip()
        out += [head + filler * STRETCH + "!" for filler in (" ", "a", "0", "\t")]
        half = head[: max(1, len(head) // 2)]
        out.append(half * (STRETCH // len(half)))
    return out


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_fingerprint_rule_is_linear_on_stretched_examples(rule: Any) -> None:
    @settings(FUZZ, max_examples=12)
    @given(rule_values(rule))
    def run(value: str) -> None:
        # The pattern itself on up to 64 KiB: a linear one takes milliseconds, a quadratic one
        # (the old lazy vendor= rule) tens of seconds, far past the deadline.
        rule.match(value)
        for key in rule.fields:
            if key in DERIVED:
                continue
            # Then through the matcher, as an observation carries it (cut to FIELD_LIMIT).
            obs = check(Observation.make("f", ArtefactKind.HTTP_RESPONSE, ip="198.18.0.9", fields={key: value}))
            verdict = identify(Device(key="198.18.0.9", ips=("198.18.0.9",), observations=(obs,)), DB)
            json.dumps(verdict.to_dict(), ensure_ascii=False).encode("utf-8")

    for value in worst_values(rule):
        run = example(value)(run)  # explicit examples run first, under the same deadline
    run()
