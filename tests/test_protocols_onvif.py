"""ONVIF device-service codec: real Hikvision GetDeviceInformationResponse, network interfaces."""

from __future__ import annotations

from pathlib import Path

from defusedxml.ElementTree import fromstring

from camsweep.models import ArtefactKind
from camsweep.protocols import onvif

REPLIES = Path(__file__).parent / "fixtures" / "replies"
DEVICE_INFO = (REPLIES / "onvif_getdeviceinformation_ds-2cd3t45p1-i.xml").read_bytes()

EXPECTED = {
    "onvif.manufacturer": "HIKVISION",
    "onvif.model": "DS-2CD3T45P1-I",
    "onvif.firmware": "V5.5.31 build 180903",
    "onvif.serial": "DS-2CD3T45P1-I20210803AACH248538890",
    "onvif.hardware_id": "88",
}


def test_real_device_information_xml() -> None:
    obs = onvif.parse_device_information(DEVICE_INFO, probe="onvif", ip="10.1.1.200")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.ONVIF_DEVICE_INFO
    for key, value in EXPECTED.items():
        assert obs.fields[key] == value
    # The Hikvision-only namespaces are declared on this envelope too.
    assert "http://www.hikvision.com/2011/event/topics" in obs.fields["onvif.namespaces"].split(" ")


def test_mapping_form_matches_xml_form() -> None:
    mapping = {
        "Manufacturer": "HIKVISION", "Model": "DS-2CD3T45P1-I", "FirmwareVersion": "V5.5.31 build 180903",
        "SerialNumber": "DS-2CD3T45P1-I20210803AACH248538890", "HardwareId": "88",
    }
    obs = onvif.parse_device_information(mapping, probe="input")
    assert obs.problem is None
    assert dict(obs.fields) == EXPECTED


def test_soap_fault_is_a_problem() -> None:
    # Shape of a SOAP 1.2 fault (ONVIF Core "NotAuthorized"); synthetic, not a device capture.
    fault = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error">'
        "<s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value>"
        "</s:Subcode></s:Code><s:Reason><s:Text xml:lang=\"en\">Sender not Authorized</s:Text></s:Reason>"
        "</s:Fault></s:Body></s:Envelope>"
    )
    obs = onvif.parse_device_information(fault, probe="onvif")
    assert obs.problem == "soap-fault: s:Sender / ter:NotAuthorized / Sender not Authorized"
    assert obs.fields == {}


def test_empty_mapping_is_a_problem() -> None:
    obs = onvif.parse_device_information({"Other": "x"}, probe="input")
    assert obs.problem is not None and obs.problem.startswith("garbage:")


def test_network_interfaces_xml_sets_mac() -> None:
    # Element layout of the ONVIF schema (tds:GetNetworkInterfacesResponse/tt:Info/tt:HwAddress);
    # synthetic values - no real device reply was found in a quotable form.
    doc = (
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema">'
        "<env:Body><tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"eth0\">"
        "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>eth0</tt:Name><tt:HwAddress>58-50-ED-00-00-01</tt:HwAddress>"
        "<tt:MTU>1500</tt:MTU></tt:Info></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse></env:Body></env:Envelope>"
    )
    obs = onvif.parse_network_interfaces(doc, probe="onvif", ip="198.18.0.10", mac="02:00:00:00:00:09")
    assert obs.problem is None
    assert obs.mac == "58:50:ed:00:00:01"  # the device's own statement
    assert obs.fields["onvif.hw_address"] == "58:50:ed:00:00:01"
    assert obs.fields["onvif.interface"] == "eth0"


def test_network_interfaces_mapping_forms() -> None:
    nested = {"NetworkInterfaces": [{"Info": {"Name": "eth0", "HwAddress": "58:50:ed:00:00:01"}}, {"Info": {"HwAddress": "58:50:ed:00:00:02"}}]}
    obs = onvif.parse_network_interfaces(nested, probe="onvif")
    assert obs.mac == "58:50:ed:00:00:01"
    assert obs.fields["onvif.hw_address"] == "58:50:ed:00:00:01\n58:50:ed:00:00:02"
    flat = onvif.parse_network_interfaces({"HwAddress": "5850ed000003"}, probe="onvif")
    assert flat.mac == "58:50:ed:00:00:03"
    none = onvif.parse_network_interfaces({"Name": "eth0"}, probe="onvif")
    assert none.problem is not None and none.fields == {}


def test_request_builders_are_well_formed() -> None:
    for build, operation in (
        (onvif.build_get_system_date_and_time, "GetSystemDateAndTime"),
        (onvif.build_get_device_information, "GetDeviceInformation"),
    ):
        root = fromstring(build(), forbid_dtd=True)
        body = root.find("{http://www.w3.org/2003/05/soap-envelope}Body")
        assert body is not None
        assert [child.tag for child in body] == [f"{{http://www.onvif.org/ver10/device/wsdl}}{operation}"]
