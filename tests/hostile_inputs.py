"""Builders for the hostile device answers of issue 19 (codec cases), so no large fixture is stored.

Each function returns the bytes one device could send. The regression tests
(``tests/test_protocols_hostile.py``) assert what the codecs make of them; ``bench/hostile_codecs.py``
times them. Shapes come from the issue's reproducers:

* a DHIP discovery answer whose JSON holds a lone-surrogate escape (valid JSON, not encodable);
* an HTTP body of ``<title>`` repeated (256 KiB), which made the title regex quadratic;
* a ``WWW-Authenticate`` header folded over many continuation lines (6.4 MB: what http.client
  accepts, 97 lines of 64 KiB), which made header joining quadratic.
"""

from __future__ import annotations

import json
from typing import Any

from camsweep.protocols import dhip

TITLE_FLOOD_BYTES = 256 * 1024
FOLDED_LINES = 97
"""http.client takes at most 100 header lines: the first line, 97 folds, Content-Length and the blank line."""
FOLDED_LINE_BYTES = 64 * 1024 - 2
"""http.client takes lines of at most 64 KiB, CRLF included."""


def dhip_device_info(device_type: str = "IPC-HDW1431T1-S4") -> dict[str, Any]:
    """A ``client.notifyDevInfo`` answer shaped like Haicam's recorded one (tests/fixtures/replies)."""
    return {
        "mac": "08:ed:ed:87:42:7a",
        "method": "client.notifyDevInfo",
        "params": {
            "deviceInfo": {
                "DeviceClass": "IPC",
                "DeviceType": device_type,
                "SerialNo": "6C01E93PAG69A7D",
                "Vendor": "Private",
                "Version": "2.800.0000000.13.R",
                "IPv4Address": {"IPAddress": "192.168.124.17"},
            }
        },
    }


def dhip_lone_surrogate_reply() -> bytes:
    """A DHIP packet whose body says ``"DeviceType": "IPC-\\ud800"`` (escape, so the bytes are ASCII)."""
    body = json.dumps(dhip_device_info("IPC-\ud800"), separators=(",", ":"))  # ensure_ascii: \ud800 escape
    assert "\\ud800" in body
    return dhip.encode(body.encode("ascii") + b"\n")


def title_flood_body(size: int = TITLE_FLOOD_BYTES) -> bytes:
    """``<title>`` repeated to ``size`` bytes: many openers and no closer."""
    return b"<title>" * (size // len(b"<title>"))


def title_flood_response(size: int = TITLE_FLOOD_BYTES) -> bytes:
    """A whole HTTP response carrying :func:`title_flood_body`, as a capture would hold it."""
    body = title_flood_body(size)
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("ascii") + body


def folded_auth_lines(lines: int = FOLDED_LINES, line_bytes: int = FOLDED_LINE_BYTES) -> list[bytes]:
    """Continuation lines of one ``WWW-Authenticate`` header (each starts with a space, no CRLF)."""
    # One-letter words: each reads as one more challenge scheme, the costliest shape for the parser.
    unit = b"a "
    line = (unit * (line_bytes // len(unit) + 1))[: line_bytes - 1]
    return [b" " + line for _ in range(lines)]


def folded_auth_response(lines: int = FOLDED_LINES, line_bytes: int = FOLDED_LINE_BYTES) -> bytes:
    """An HTTP 401 whose ``WWW-Authenticate`` is folded over ``lines`` continuation lines."""
    head = [b"HTTP/1.1 401 Unauthorized", b'WWW-Authenticate: Digest realm="Login to 6C01E93PAG69A7D", nonce="n"']
    head += folded_auth_lines(lines, line_bytes)
    head += [b"Content-Length: 0"]
    return b"\r\n".join(head) + b"\r\n\r\n"


def folded_auth_header_value(lines: int = FOLDED_LINES, line_bytes: int = FOLDED_LINE_BYTES) -> str:
    """The same header as http.client hands it to the probe: one value, lines joined."""
    text = [b'Digest realm="Login to 6C01E93PAG69A7D", nonce="n"', *folded_auth_lines(lines, line_bytes)]
    return b"\r\n".join(text).decode("ascii")


def many_short_folds(total_bytes: int = 4 * 1024 * 1024) -> bytes:
    """A header block of one-character continuation lines up to ``total_bytes`` (a capture's cap)."""
    head = b"HTTP/1.1 200 OK\r\nWWW-Authenticate: Basic realm=\"r\"\r\n"
    fold = b" a\r\n"
    return head + fold * ((total_bytes - len(head)) // len(fold)) + b"\r\n"


def long_cn_certificate(length: int = 10_000) -> bytes:
    """A self-signed DER certificate whose subject and issuer CN is ``length`` characters long.

    RFC 5280 bounds a CN at 64 characters; cryptography parses a longer one but warns (a
    UserWarning, once for the subject and once for the issuer), which a scan must not print.
    """
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    import warnings

    key = ec.generate_private_key(ec.SECP256R1())
    with warnings.catch_warnings():  # building it draws the same warning: not what the tests are about
        warnings.simplefilter("ignore")
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "A" * length, _validate=False)])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)
