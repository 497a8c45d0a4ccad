"""The ONVIF probe: its zeep client parses device replies strictly (no DTD, entities, external refs),
and its transport sends through the one bounded HTTP client and screens replies before zeep sees them."""

from __future__ import annotations

import socket
import time

import pytest
from camsweep.probes._http_client import HttpClient, Limits
from camsweep.probes.onvif import (
    _BINDING,
    TransportProblem,
    _wsdl_path,
    classify,
    harden,
    transport,
)
from onvif import ONVIFService
from zeep.exceptions import DTDForbidden, EntitiesForbidden
from zeep.loader import parse_xml

from tests.test_engine import Server, http_reply


@pytest.fixture
def settings() -> object:
    # Built exactly as the probe builds it (offline: the constructor reads the local WSDL only).
    service = ONVIFService("http://127.0.0.5:80/onvif/device_service", "user", "secret", _wsdl_path(),
                           no_cache=True, transport=transport(HttpClient(Limits()), 0.0), binding_name=_BINDING)
    assert service.zeep_client.settings.xml_huge_tree is True  # what onvif-zeep sets, and why we harden
    harden(service.zeep_client.settings)
    return service.zeep_client.settings


def test_hardened_settings(settings: object) -> None:
    assert getattr(settings, "forbid_dtd") is True
    assert getattr(settings, "forbid_entities") is True
    assert getattr(settings, "forbid_external") is True
    assert getattr(settings, "xml_huge_tree") is False


@pytest.mark.parametrize(
    "reply",
    [
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><e>&b;</e>',
        b'<?xml version="1.0"?><!DOCTYPE e SYSTEM "http://198.18.0.99/x.dtd"><e/>',
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><e>&x;</e>',
    ],
)
def test_device_reply_with_a_doctype_is_refused(settings: object, reply: bytes) -> None:
    with pytest.raises((DTDForbidden, EntitiesForbidden)):
        parse_xml(reply, None, settings=settings)


@pytest.mark.parametrize("body, problem", [
    (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaa">]><e>&a;</e>', "onvif-error"),  # refused before zeep
    (b"<e>" + b"x" * 20_000 + b"</e>", "onvif-oversize"),  # over the client's body cap
])
def test_transport_sends_through_the_client_and_screens_the_reply(body: bytes, problem: str) -> None:
    def answer(server: Server, sock: socket.socket) -> None:
        server.read_request(sock)
        sock.sendall(http_reply("200 OK", [("Content-Type", "application/soap+xml")], body))

    server = Server(answer)
    try:
        zeep_transport = transport(HttpClient(Limits(max_body=10_000)), time.monotonic() + 10)
        with pytest.raises(TransportProblem) as info:
            zeep_transport.post(f"http://127.0.0.1:{server.port}/onvif/device_service", b"<x/>",
                                {"Content-Type": "application/soap+xml"})
    finally:
        server.close()
    assert info.value.problem == problem and classify(info.value) == problem
    assert server.requests[0].startswith(b"POST /onvif/device_service HTTP/1.1\r\n")


def test_transport_hands_zeep_a_response_built_from_public_attributes() -> None:
    envelope = b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'

    def answer(server: Server, sock: socket.socket) -> None:
        server.read_request(sock)
        sock.sendall(http_reply("200 OK", [("Content-Type", "application/soap+xml; charset=utf-8")], envelope))

    server = Server(answer)
    try:
        response = transport(HttpClient(Limits()), time.monotonic() + 10).post(
            f"http://127.0.0.1:{server.port}/onvif/device_service", "<x/>", {})
    finally:
        server.close()
    assert (response.status_code, response.content, response.encoding) == (200, envelope, "utf-8")
    assert response.headers["content-type"].startswith("application/soap+xml")
