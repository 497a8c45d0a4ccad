"""mDNS codec: real Hikvision _CGI._tcp record (128keaton/hikvision-mdns), TXT handling."""

from __future__ import annotations

import json
from pathlib import Path

from camsweep.models import ArtefactKind
from camsweep.protocols import mdns

REPLIES = Path(__file__).parent / "fixtures" / "replies"
RECORD = json.loads((REPLIES / "mdns_cgi_ds-2cd2722fwd-izs.json").read_text())


def _rdata(kind: str) -> object:
    return next(a["rdata"] for a in RECORD["additionals"] if a["type"] == kind)


def test_real_hikvision_cgi_service() -> None:
    srv = _rdata("SRV")
    obs = mdns.from_service(
        "_CGI._tcp.local.", RECORD["fqdn"], server=srv["target"] + ".", service_port=srv["port"],
        txt=_rdata("TXT"), probe="mdns", ip=RECORD["address"],
    )
    assert obs.problem is None
    assert obs.kind is ArtefactKind.MDNS_RECORD
    assert obs.ip == "10.0.1.164"
    assert obs.port == 80
    assert obs.fields["mdns.service_type"] == "_CGI._tcp.local"
    assert obs.fields["mdns.instance"] == "HIKVISION DS-2CD2722FWD-IZS - 733050075"
    assert obs.fields["mdns.server"] == "DS-2CD2722FWD-IZS20170321BBWR733050075.local"
    assert obs.fields["mdns.port"] == "80"
    assert obs.fields["mdns.txt"] == "path=/"


def test_txt_forms_and_bounds() -> None:
    assert mdns.txt_lines({b"path": b"/", "flag": None, b"bad": b"\xff"}) == "path=/\nflag\nbad=\ufffd"
    assert mdns.txt_lines("path=/\nmodel=x") == "path=/\nmodel=x"  # already joined (the mdns probe's form)
    assert mdns.txt_lines([b"a=1", "b=2"]) == "a=1\nb=2"
    assert mdns.txt_lines({"k": "line\nbreak"}) == "k=linebreak"
    many = {f"k{i}": "v" * 100 for i in range(500)}
    assert len(mdns.txt_lines(many)) <= mdns.TXT_MAX_CHARS
    assert mdns.txt_lines(None) == ""


def test_instance_label_kept_when_already_short() -> None:
    obs = mdns.from_service("_CGI._tcp.local.", "HIKVISION DS-2CD2955FWD-IS - 236286152", server=None,
                            service_port=None, txt={}, probe="mdns")
    assert obs.fields["mdns.instance"] == "HIKVISION DS-2CD2955FWD-IS - 236286152"
    assert "mdns.server" not in obs.fields and "mdns.port" not in obs.fields


def test_empty_record_is_a_problem() -> None:
    obs = mdns.from_service("", "", server=None, service_port=None, txt={}, probe="mdns")
    assert obs.problem is not None and obs.fields == {}
