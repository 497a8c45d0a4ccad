"""The short-form reader calls every codec with the signatures it expects; real replies in,
problem-free observations out."""

from __future__ import annotations

import json
from pathlib import Path

from camsweep.models import ArtefactKind
from camsweep.shortform import short_form

REPLIES = Path(__file__).parent / "fixtures" / "replies"


def _read(name: str) -> str:
    return (REPLIES / name).read_bytes().decode("utf-8")  # keep CRLF as recorded


def test_short_form_through_all_codecs() -> None:
    mdns_record = json.loads(_read("mdns_cgi_ds-2cd2722fwd-izs.json"))
    hik_status, *_ = _read("http_hikvision_nvr_isapi_status_401.txt").split("\r\n\r\n")
    headers = [tuple(line.split(": ", 1)) for line in hik_status.split("\r\n")[1:]]
    doc = {
        "ip": "198.18.0.10",
        "mac": "58:50:ed:1f:e3:85",
        "http": [{"port": 80, "path": "/ISAPI/System/status", "status": 401, "headers": headers, "body": ""}],
        "rtsp": _read("rtsp_hikvision_describe_401.txt"),
        "tls_subject": "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN",
        "onvif_probematch": _read("wsd_probematches_ds-2cd3955fwd-iws.xml"),
        "onvif_device_info": {"Manufacturer": "HIKVISION", "Model": "DS-2CD3T45P1-I"},
        "sadp": _read("sadp_probematch_ds-2cd2385g1-i.xml"),
        "dhip": json.loads(_read("dhip_notifydevinfo_ipc-hdw1431t1-s4.json")),
        "ssdp": _read("ssdp_msearch_reply_pms.txt"),
        "upnp": _read("upnp_description_belkin_netcam.xml"),
        "mdns": [{"type": "_CGI._tcp.local.", "name": mdns_record["fqdn"], "server": "x.local.", "port": 80,
                  "txt": {"path": "/"}}],
        "dhcp": {"hostname": "h", "vendor_class": "v", "param_list": [1, 3, 6]},
    }
    observations = list(short_form(doc))
    problems = [(o.kind.value, o.problem) for o in observations if o.problem]
    assert problems == []
    kinds = {o.kind for o in observations}
    for kind in (
        ArtefactKind.HTTP_RESPONSE, ArtefactKind.RTSP_BANNER, ArtefactKind.TLS_CERTIFICATE,
        ArtefactKind.ONVIF_SCOPES, ArtefactKind.ONVIF_DEVICE_INFO, ArtefactKind.SADP_REPLY,
        ArtefactKind.DHIP_REPLY, ArtefactKind.SSDP_REPLY, ArtefactKind.UPNP_DESCRIPTION,
        ArtefactKind.MDNS_RECORD, ArtefactKind.DHCP_OPTIONS,
    ):
        assert kind in kinds, kind
    http_obs = next(o for o in observations if o.kind is ArtefactKind.HTTP_RESPONSE)
    assert http_obs.fields["http.header.server"] == "DNVRS-Webs"
    # The caller's MAC is kept even where the reply names another one.
    assert all(o.mac == "58:50:ed:1f:e3:85" for o in observations)


def test_short_form_with_bad_artefact_still_yields_observation() -> None:
    doc = {"ip": "198.18.0.11", "sadp": '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'}
    observations = list(short_form(doc))
    sadp_obs = next(o for o in observations if o.kind is ArtefactKind.SADP_REPLY)
    assert sadp_obs.problem == "xml-forbidden: DTD not allowed"
