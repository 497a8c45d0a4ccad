"""Mutated real replies into every parser: always one Observation, never an exception, never a
``parser-error`` (which would mean an unexpected exception inside a codec), no fields with a problem.

Deterministic: a fixed seed, so a failure reproduces.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from camsweep.models import RAW_LIMIT, Observation
from camsweep.protocols import dhcp, dhip, http, onvif, rtsp, sadp, tls, upnp, wsd

REPLIES = Path(__file__).parent / "fixtures" / "replies"
MUTATIONS = 300


def _hex(name: str) -> bytes:
    return bytes.fromhex((REPLIES / name).read_text().strip())


def _der_sample() -> bytes:
    from tests.test_protocols_tls import (
        _self_signed_der,  # synthetic certificate built in that module
    )

    return _self_signed_der()


TARGETS: list[tuple[str, Callable[[bytes], Observation], Callable[[], bytes]]] = [
    ("sadp", lambda d: sadp.parse_reply(d, probe="f"), lambda: (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes()),
    ("wsd", lambda d: wsd.parse_message(d, probe="f"), lambda: (REPLIES / "wsd_probematches_ds-2cd3955fwd-iws.xml").read_bytes()),
    ("onvif", lambda d: onvif.parse_device_information(d, probe="f"), lambda: (REPLIES / "onvif_getdeviceinformation_ds-2cd3t45p1-i.xml").read_bytes()),
    ("upnp", lambda d: upnp.parse_description(d, probe="f"), lambda: (REPLIES / "upnp_description_belkin_netcam.xml").read_bytes()),
    ("ssdp", lambda d: upnp.parse_ssdp(d, probe="f"), lambda: (REPLIES / "ssdp_msearch_reply_pms.txt").read_bytes()),
    ("rtsp", lambda d: rtsp.parse_reply(d, probe="f"), lambda: (REPLIES / "rtsp_hikvision_describe_401.txt").read_bytes()),
    ("http", lambda d: http.parse_raw_response(d, path="/", port=80, probe="f"), lambda: (REPLIES / "http_hikvision_nvr_isapi_status_401.txt").read_bytes()),
    ("dhip-packet", lambda d: dhip.parse_reply(d, probe="f"), lambda: _hex("dhip_login_challenge_imou_ranger2.hex")),
    ("dhip-json", lambda d: dhip.parse_reply(d, probe="f"), lambda: dhip.encode_reply(json.loads((REPLIES / "dhip_notifydevinfo_ipc-hdw5421s.json").read_text()))),
    ("dhcp", lambda d: dhcp.parse_packet(d, probe="f"), lambda: _hex("dhcp_discover_msft50.hex")),
    ("tls", lambda d: tls.from_der(d, port=443, probe="f"), _der_sample),
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    choice = rng.randrange(6)
    if choice == 0 and buf:  # flip bits
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif choice == 1:  # truncate
        del buf[rng.randrange(len(buf) + 1):]
    elif choice == 2 and buf:  # overwrite a run with random bytes
        start = rng.randrange(len(buf))
        buf[start : start + rng.randint(1, 32)] = rng.randbytes(rng.randint(1, 32))
    elif choice == 3 and buf:  # duplicate a slice
        start = rng.randrange(len(buf))
        buf[start:start] = buf[start : start + rng.randint(1, 200)] * rng.randint(1, 50)
    elif choice == 4:  # insert markup-significant characters
        for _ in range(rng.randint(1, 5)):
            buf.insert(rng.randrange(len(buf) + 1), rng.choice(b'<>&"\x00\r\n:;=%{}[]'))
    else:  # prepend/append junk
        buf = bytearray(rng.randbytes(rng.randint(0, 40))) + buf + bytearray(rng.randbytes(rng.randint(0, 40)))
    return bytes(buf)


@pytest.mark.parametrize(("name", "parse", "sample"), TARGETS, ids=[t[0] for t in TARGETS])
def test_mutated_replies_never_break_a_parser(
    name: str, parse: Callable[[bytes], Observation], sample: Callable[[], bytes]
) -> None:
    rng = random.Random(f"camsweep-{name}")
    original = sample()
    assert parse(original).problem is None  # the unmutated sample parses cleanly
    problems = 0
    for _ in range(MUTATIONS):
        data = _mutate(rng, original)
        obs = parse(data)
        assert isinstance(obs, Observation)
        assert obs.raw is None or len(obs.raw) <= RAW_LIMIT
        if obs.problem is not None:
            problems += 1
            assert obs.fields == {}, (data, obs.problem)
            assert not obs.problem.startswith("parser-error"), (data, obs.problem)
    assert 0 < problems <= MUTATIONS  # the mutations did reach the error paths
