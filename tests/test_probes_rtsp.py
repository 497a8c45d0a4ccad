"""RTSP probe's reply framing: hostile Content-Length values never raise."""

from __future__ import annotations

import pytest

from camsweep.probes.rtsp import reply_complete


@pytest.mark.parametrize("length", [b"9" * 5000, b"9" * 4301, b"99999999999999999999"])
def test_absurd_content_length_does_not_raise(length: bytes) -> None:
    # Before: int() of more than 4300 digits raised ValueError and ended the probe for the host.
    reply = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: " + length + b"\r\n\r\n"
    assert reply_complete(reply) in (True, False)


def test_content_length_is_honoured() -> None:
    head = b"RTSP/1.0 200 OK\r\nContent-Length: 3\r\nCSeq: 2\r\n\r\n"
    assert reply_complete(head + b"ab") is False
    assert reply_complete(head + b"abc") is True
    assert reply_complete(b"RTSP/1.0 200 OK\r\ncontent-length:2\r\n\r\nab") is True
    assert reply_complete(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n") is False
