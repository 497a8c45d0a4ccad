"""Device-supplied URLs (SSDP LOCATION, ONVIF XAddrs) can only ever lead to the checked host.

urllib.parse and urllib3 read some URLs differently: ``http://evil.example\\@10.0.0.5/`` is host
10.0.0.5 to ``urlsplit`` (which the scope check uses) but evil.example to requests. The probes must
hand requests a URL whose host is the address they checked, whatever the device wrote.
"""

from __future__ import annotations

import pytest
import requests
import urllib3

from camsweep.config import ScanConfig
from camsweep.engine import ScanHost
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


def _host_requests_would_contact(url: str) -> str | None:
    prepared = requests.Request("GET", url).prepare()
    assert prepared.url is not None
    return urllib3.util.parse_url(prepared.url).host


@pytest.mark.parametrize("location", TRICKS)
def test_ssdp_location_leads_only_to_the_checked_address(location: str) -> None:
    target = location_target(location, lambda ip: ip == "127.0.0.5")
    if target is None:
        return  # refused outright: nothing is fetched
    url, ip = target
    assert ip == "127.0.0.5"
    assert _host_requests_would_contact(url) == "127.0.0.5"


def test_ssdp_backslash_trick_is_rewritten_not_passed_on() -> None:
    target = location_target("http://evil.example\\@127.0.0.5:49152/desc.xml", lambda ip: ip == "127.0.0.5")
    assert target == ("http://127.0.0.5:49152/desc.xml", "127.0.0.5")


@pytest.mark.parametrize("xaddr", TRICKS)
def test_onvif_xaddr_leads_only_to_the_host(xaddr: str) -> None:
    host = ScanHost(ip="127.0.0.5", xaddrs=[xaddr.replace("desc.xml", "onvif/device_service")])
    url = OnvifProbe(ScanConfig()).device_service_url(host)
    assert url is None or _host_requests_would_contact(url) == "127.0.0.5"


def test_onvif_backslash_xaddr_keeps_port_and_path() -> None:
    host = ScanHost(ip="127.0.0.5", xaddrs=["http://evil.example\\@127.0.0.5:8899/onvif/device_service"])
    assert OnvifProbe(ScanConfig()).device_service_url(host) == "http://127.0.0.5:8899/onvif/device_service"


def test_onvif_xaddr_with_bad_port_is_skipped_not_raised() -> None:
    host = ScanHost(ip="127.0.0.5", xaddrs=["http://127.0.0.5:99999/onvif/device_service"], open_ports={80})
    assert OnvifProbe(ScanConfig()).device_service_url(host) == "http://127.0.0.5:80/onvif/device_service"
