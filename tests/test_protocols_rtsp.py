"""RTSP codec: real Dahua and Hikvision replies, request builder, hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from camsweep.models import ArtefactKind
from camsweep.protocols import rtsp

REPLIES = Path(__file__).parent / "fixtures" / "replies"


def _reply(name: str) -> bytes:
    return (REPLIES / name).read_bytes()


def test_dahua_401_login_to_serial_realm() -> None:
    obs = rtsp.parse_reply(_reply("rtsp_dahua_describe_401.txt"), probe="rtsp", ip="192.168.8.20")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.RTSP_BANNER
    assert obs.port == 554
    assert obs.fields["rtsp.status"] == "401"
    assert obs.fields["rtsp.auth.scheme"] == "Digest"
    assert obs.fields["rtsp.auth.realm"] == "Login to 4K01FD2PAJ6E3FF"
    assert obs.fields["rtsp.header_names"] == "CSeq\nWWW-Authenticate"
    assert "rtsp.header.server" not in obs.fields


def test_hikvision_401_two_challenges_one_realm() -> None:
    obs = rtsp.parse_reply(_reply("rtsp_hikvision_describe_401.txt").decode(), port=10554, probe="rtsp")
    assert obs.problem is None
    assert obs.port == 10554
    assert obs.fields["rtsp.auth.scheme"] == "Digest\nBasic"
    assert obs.fields["rtsp.auth.realm"] == "IP Camera(C1214)"
    assert obs.fields["rtsp.header_names"] == "CSeq\nWWW-Authenticate\nWWW-Authenticate"


def test_different_realms_all_kept() -> None:
    raw = (
        "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\n"
        'WWW-Authenticate: Digest realm="Hikvision", nonce="1"\r\nWWW-Authenticate: Basic realm="/"\r\n\r\n'
    )
    assert rtsp.parse_reply(raw, probe="rtsp").fields["rtsp.auth.realm"] == "Hikvision\n/"


def test_hikvision_options_public_order() -> None:
    obs = rtsp.parse_reply(_reply("rtsp_hikvision_options_200.txt"), probe="rtsp")
    assert obs.problem is None
    assert obs.fields["rtsp.status"] == "200"
    assert obs.fields["rtsp.public"] == "OPTIONS, DESCRIBE, PLAY, PAUSE, SETUP, TEARDOWN, SET_PARAMETER, GET_PARAMETER"
    assert obs.fields["rtsp.header.date"] == "Tue, Dec 21 2021 12:08:36 GMT"
    # The raw reply keeps the two spaces after "Date:" that the parsed value loses.
    assert obs.raw is not None and "Date:  Tue" in obs.raw


def test_build_request() -> None:
    assert rtsp.build_request("OPTIONS", "rtsp://198.18.0.10:554/", 1) == (
        b"OPTIONS rtsp://198.18.0.10:554/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    )
    request = rtsp.build_request(
        "DESCRIBE", "rtsp://198.18.0.10/", 2, [("Accept", "application/sdp"), ("User-Agent", "camsweep")]
    )
    assert request == (
        b"DESCRIBE rtsp://198.18.0.10/ RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: camsweep\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [("get me", "rtsp://x/", ()), ("OPTIONS", "rtsp://x/\r\nEvil: 1", ()), ("OPTIONS", "rtsp://x/", [("A", "b\nc")])],
)
def test_build_request_refuses_injection(method: str, url: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError):
        rtsp.build_request(method, url, 1, headers)


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "garbage"),
        (b"\x00\x01\x02\x03", "garbage"),
        (b"RTSP/1.0 200 OK\r\nServer: \xc3\x28\r\n\r\n", "invalid-utf8"),
        (b"RTSP/1.0 200 OK\r\n" + b"X: y\r\n" * 20000, "oversize"),
    ],
    ids=["http-reply", "binary", "bad-utf8", "oversize"],
)
def test_hostile_replies(raw: bytes, slug: str) -> None:
    obs = rtsp.parse_reply(raw, probe="rtsp", ip="198.18.0.11")
    assert obs.problem is not None and obs.problem.startswith(slug + ":"), obs.problem
    assert obs.fields == {}
    assert obs.port == 554
