"""Device-supplied URLs (SSDP LOCATION, ONVIF XAddrs) can only ever lead to the checked host.

URL parsers disagree: ``http://evil.example\\@10.0.0.5/`` is host 10.0.0.5 to ``urlsplit`` but
evil.example to requests. The probes hand the HTTP client a URL rebuilt from the address they
checked, and the client connects to the host its own parser (``target_of``) reads -- the same one.
"""

from __future__ import annotations

import pytest

from camsweep.config import ScanConfig
from camsweep.engine import live_hosts
from camsweep.models import ArtefactKind, Observation
from camsweep.probes import HostInfo
from camsweep.probes._http_client import target_of
from camsweep.probes.onvif import OnvifProbe
from camsweep.probes.ssdp import location_target

TRICKS = [
    "http://evil.example\\@127.0.0.5/desc.xml",
    "http://evil.example\\@127.0.0.5:49152/desc.xml",
    "http://evil.example%5C@127.0.0.5/desc.xml",
    "http://user:pw@127.0.0.5/desc.xml",
    "http://127.0.0.5/\\\\evil.example/desc.xml",
    "http://127.0.0.5:80\\@evil.example/",
    " http://127.0.0.5/desc.xml?x=\\@evil.example#frag\\@evil ",
]


def _host(xaddr: str, open_ports: frozenset[int] = frozenset()) -> HostInfo:
    """The host as the engine hands it to the ONVIF probe after WS-Discovery reported ``xaddr``."""
    heard = Observation.make("wsd", ArtefactKind.ONVIF_SCOPES, ip="127.0.0.5", fields={"onvif.xaddrs": xaddr})
    host = live_hosts([heard], OnvifProbe.host_fields)["127.0.0.5"]
    host.open_ports |= open_ports
    return host


def _address_contacted(url: str) -> str | None:
    """The address the HTTP client connects to for ``url``, and the same with the URL read again."""
    target = target_of(url)
    assert target_of(target.url) == target  # the rebuilt URL reads back as itself
    return target.ip


@pytest.mark.parametrize("location", TRICKS)
def test_ssdp_location_leads_only_to_the_checked_address(location: str) -> None:
    target = location_target(location, lambda ip: ip == "127.0.0.5")
    if target is None:
        return  # refused outright: nothing is fetched
    url, ip = target
    assert ip == "127.0.0.5"
    assert _address_contacted(url) == "127.0.0.5"


def test_ssdp_backslash_trick_is_rewritten_not_passed_on() -> None:
    target = location_target("http://evil.example\\@127.0.0.5:49152/desc.xml", lambda ip: ip == "127.0.0.5")
    assert target == ("http://127.0.0.5:49152/desc.xml", "127.0.0.5")


@pytest.mark.parametrize("xaddr", TRICKS)
def test_onvif_xaddr_leads_only_to_the_host(xaddr: str) -> None:
    host = _host(xaddr.replace("desc.xml", "onvif/device_service"))
    url = OnvifProbe(ScanConfig()).device_service_url(host)
    assert url is None or _address_contacted(url) == "127.0.0.5"


def test_onvif_backslash_xaddr_keeps_port_and_path() -> None:
    host = _host("http://evil.example\\@127.0.0.5:8899/onvif/device_service")
    assert OnvifProbe(ScanConfig()).device_service_url(host) == "http://127.0.0.5:8899/onvif/device_service"


@pytest.mark.parametrize("url", ["http://camera.local/", "ftp://127.0.0.5/", "http://127.0.0.5:99999/", "http:///x"])
def test_the_client_refuses_names_other_schemes_and_bad_ports(url: str) -> None:
    with pytest.raises(ValueError):
        target_of(url)


def test_onvif_xaddr_with_bad_port_is_skipped_not_raised() -> None:
    host = _host("http://127.0.0.5:99999/onvif/device_service", {80})
    assert OnvifProbe(ScanConfig()).device_service_url(host) == "http://127.0.0.5:80/onvif/device_service"
