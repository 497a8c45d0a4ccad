"""The ONVIF probe's zeep client parses device replies strictly (no DTD, entities, external refs)."""

from __future__ import annotations

import pytest
from onvif import ONVIFService
from zeep.exceptions import DTDForbidden, EntitiesForbidden
from zeep.loader import parse_xml

from camsweep.config import ScanConfig
from camsweep.probes.onvif import _BINDING, _transport, _wsdl_path, harden


@pytest.fixture
def settings() -> object:
    # Built exactly as the probe builds it (offline: the constructor reads the local WSDL only).
    service = ONVIFService("http://127.0.0.5:80/onvif/device_service", "user", "secret", _wsdl_path(),
                           no_cache=True, transport=_transport(ScanConfig()), binding_name=_BINDING)
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
