"""HTTP codec: real Hikvision and Dahua responses, challenges, titles, hostile input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from camsweep.models import RAW_LIMIT, ArtefactKind
from camsweep.protocols import http

REPLIES = Path(__file__).parent / "fixtures" / "replies"
HIK_401 = (REPLIES / "http_hikvision_nvr_isapi_status_401.txt").read_bytes()
DAHUA_200 = (REPLIES / "http_dahua_nvr_configmanager_200.txt").read_bytes()


def test_hikvision_nvr_401() -> None:
    status, headers, body = http.split_response(HIK_401)
    obs = http.parse_response(status, headers, body, path="/ISAPI/System/status", port=80, probe="http", ip="198.18.0.10")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.HTTP_RESPONSE
    assert obs.port == 80
    f = obs.fields
    assert f["http.status"] == "401"
    assert f["http.path"] == "/ISAPI/System/status"
    assert f["http.port"] == "80"
    assert f["http.scheme"] == "http"
    assert f["http.header.server"] == "DNVRS-Webs"
    assert f["http.header.keep-alive"] == "timeout=60, max=99"
    assert f["http.auth.scheme"] == "Digest"
    assert f["http.auth.realm"] == "fe12f37bdXXXXXbccbbd35f1"
    assert f["http.header_names"].split("\n") == [
        "Date", "Server", "Cache-Control", "Content-Length", "Content-Type", "Connection", "Keep-Alive",
        "WWW-Authenticate",
    ]
    assert "<statusValue>401</statusValue>" in f["http.body"]
    assert "http.title" not in f


def test_dahua_nvr_upper_case_headers_and_no_server() -> None:
    obs = http.parse_raw_response(DAHUA_200, path="/cgi-bin/configManager.cgi?action=getConfig&name=General", port=80, probe="http")
    assert obs.problem is None
    f = obs.fields
    assert f["http.status"] == "200"
    assert "http.header.server" not in f
    names = f["http.header_names"].split("\n")
    assert "CONNECTION" in names and "CONTENT-LENGTH" in names  # original case kept
    assert f["http.header.connection"] == "close"  # value keyed by lower-case name
    assert f["http.header.content-length"] == "192"
    assert f["http.header.set-cookie"] == "secure; HttpOnly"  # "Set-Cookie:secure" has no space
    assert f["http.body"].startswith("table.General.MachineName=NVR")
    assert "http.auth.scheme" not in f


def test_repeated_headers_joined_in_order() -> None:
    obs = http.parse_response(
        200, [("Set-Cookie", "a=1"), ("X", "y"), ("set-cookie", "b=2")], "", path="/", port=80, probe="http"
    )
    assert obs.fields["http.header.set-cookie"] == "a=1, b=2"
    assert obs.fields["http.header_names"] == "Set-Cookie\nX\nset-cookie"


def test_title_unescaped_and_collapsed() -> None:
    # Title markers of Dahua ("WEB SERVICE") and Hikvision's 401 page, per shared/research/fingerprints.md.
    assert http.title_of("<html><head><title>WEB SERVICE</title></head>") == "WEB SERVICE"
    assert http.title_of(b"<TITLE>\n  Document Error:\n Unauthorized </TITLE>") == "Document Error: Unauthorized"
    assert http.title_of("<title lang='en'>A &amp; B&nbsp;&#67;</title>") == "A & B C"
    assert http.title_of("<title>   </title>") is None
    assert http.title_of(None) is None
    obs = http.parse_response(200, [], b"<title>WEB SERVICE</title>", path="/", port=80, probe="http")
    assert obs.fields["http.title"] == "WEB SERVICE"


def test_body_kept_bounded_and_decoded_with_replacement() -> None:
    obs = http.parse_response(200, [], b"\xff\xfe" + b"a" * 40000, path="/", port=80, probe="http")
    assert obs.problem is None
    assert len(obs.fields["http.body"]) <= 4 * 1024  # the model's per-field bound
    assert obs.fields["http.body"].startswith("\ufffd\ufffd")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # hikvision_next#50 NVR challenge
        (
            'Digest realm="fe12f37bdXXXXXbccbbd35f1", domain="::", qop="auth", nonce="300b:1685", opaque="", algorithm="MD5", stale="FALSE"',
            [("Digest", {"realm": "fe12f37bdXXXXXbccbbd35f1", "domain": "::", "qop": "auth", "nonce": "300b:1685", "opaque": "", "algorithm": "MD5", "stale": "FALSE"})],
        ),
        ('Basic realm="Device_CGI"', [("Basic", {"realm": "Device_CGI"})]),
        # two challenges in one header line
        (
            'Digest realm="IP Camera(C1214)", nonce="0191", stale="FALSE", Basic realm="IP Camera(C1214)"',
            [("Digest", {"realm": "IP Camera(C1214)", "nonce": "0191", "stale": "FALSE"}), ("Basic", {"realm": "IP Camera(C1214)"})],
        ),
        ('Digest realm="a \\"quoted\\" b"', [("Digest", {"realm": 'a "quoted" b'})]),
        ("Negotiate YIIB3gYGKwYBBQUC==", [("Negotiate", {"token68": "YIIB3gYGKwYBBQUC=="})]),
        ('Digest realm="unterminated', [("Digest", {"realm": "unterminated"})]),
        ("", []),
        ("=== ,,, \x00", []),
    ],
)
def test_parse_challenges(value: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    assert http.parse_challenges(value) == expected


def test_parse_challenge_first_only() -> None:
    assert http.parse_challenge('Basic realm="x", Digest realm="y"') == ("Basic", {"realm": "x"})
    assert http.parse_challenge("") == ("", {})


def test_invalid_utf8_header_block_is_a_problem() -> None:
    obs = http.parse_raw_response(b"HTTP/1.1 200 OK\r\nServer: \xff\xfe\r\n\r\nbody", path="/", port=80, probe="http", ip="198.18.0.10")
    assert obs.problem is not None and obs.problem.startswith("invalid-utf8:")
    assert obs.fields == {}
    assert obs.port == 80


@pytest.mark.parametrize("raw", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"SSH-2.0-OpenSSH_9.6\r\n", b""])
def test_garbage_is_a_problem(raw: bytes) -> None:
    obs = http.parse_raw_response(raw, path="/", port=80, probe="http")
    assert obs.problem is not None
    assert obs.fields == {}
    assert obs.raw is None or len(obs.raw) <= RAW_LIMIT


def test_bad_status_is_a_problem_not_an_exception() -> None:
    obs = http.parse_response(99999, [], "", path="/", port=80, probe="http")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
    obs = http.parse_response("x", [], "", path="/", port=80, probe="http")  # type: ignore[arg-type]
    assert obs.problem is not None and obs.problem.startswith("parser-error:")


# Digest answers: RFC 2617 section 3.5 and RFC 7616 section 3.9.1 test vectors.
RFC7616 = {"realm": "http-auth@example.org", "qop": "auth, auth-int",
           "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"}
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize("challenge, password, cnonce, response", [
    ({"realm": "testrealm@host.com", "qop": "auth,auth-int", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      "opaque": "5ccc069c403ebaf9f0171e9517f40e41"}, "Circle Of Life", "0a4f113b", "6629fae49393a05397450978507c4ef1"),
    ({**RFC7616, "algorithm": "MD5"}, "Circle of Life", RFC7616_CNONCE, "8ca523f5e9506fed4657c9700eebdbec"),
    ({**RFC7616, "algorithm": "SHA-256"}, "Circle of Life", RFC7616_CNONCE,
     "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
], ids=["rfc2617-md5", "rfc7616-md5", "rfc7616-sha256"])
def test_digest_authorization_matches_the_rfc_vectors(challenge: dict[str, str], password: str, cnonce: str,
                                                      response: str) -> None:
    value = http.digest_authorization(challenge, "Mufasa", password, "GET", "/dir/index.html", cnonce=cnonce)
    assert value is not None and value.startswith("Digest ")
    (_, params), = http.parse_challenges(value)  # the answer reads back with the challenge parser
    assert params["response"] == response
    assert params["uri"] == "/dir/index.html" and params["qop"] == "auth" and params["nc"] == "00000001"
    assert params["opaque"] == challenge["opaque"] and params["cnonce"] == cnonce


def test_digest_without_qop_is_rfc2069_and_quotes_are_escaped() -> None:
    value = http.digest_authorization({"realm": 'a "b"', "nonce": "n"}, 'us"er', "pw", "GET", "/x")
    assert value is not None
    (_, params), = http.parse_challenges(value)
    assert params["username"] == 'us"er' and params["realm"] == 'a "b"' and "qop" not in params
    ha1 = hashlib.md5(b'us"er:a "b":pw').hexdigest()
    ha2 = hashlib.md5(b"GET:/x").hexdigest()
    assert params["response"] == hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()


@pytest.mark.parametrize("challenge", [
    {"realm": "r", "nonce": "n", "qop": "auth-int"},  # would hash the body
    {"realm": "r", "nonce": "n", "algorithm": "SHA-1-unknown"},
    {"realm": "r"},  # no nonce
    {"nonce": "n"},  # no realm
])
def test_digest_declines_what_it_cannot_answer(challenge: dict[str, str]) -> None:
    assert http.digest_authorization(challenge, "u", "p", "GET", "/") is None
