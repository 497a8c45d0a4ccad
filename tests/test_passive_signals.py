"""Passive analysis of a capture built from real recorded replies (tests/fixtures/replies, cited there)."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

from camsweep.models import ArtefactKind, Manufacturer
from camsweep.passive import analyse_capture

REPLIES = Path(__file__).parent / "fixtures" / "replies"
SCANNER = ("02:00:00:00:00:02", "198.18.0.2")
HIK = ("58:50:ed:00:00:01", "198.18.0.20")
DAHUA = ("4c:11:bf:c2:0b:9d", "198.18.0.30")
NVR = ("44:19:b6:00:00:03", "198.18.0.40")
TLSBOX = ("c0:56:e3:00:00:04", "198.18.0.50")


def crlf(name):
    return (REPLIES / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _hikvision_dvr_cert_der() -> bytes:
    """A certificate with the subject recog records for old Hikvision DVR/NVRs (x509_subjects.xml)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"), x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "ZheJiang"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "HangZhou"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DVRNVR"), x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com"),
    ])
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def _tls12_server_flight(der: bytes) -> bytes:
    """ServerHello + Certificate handshake messages in TLS records, as a TLS 1.2 server sends them."""
    server_hello = b"\x03\x03" + b"\x00" * 32 + b"\x00" + b"\xc0\x2f" + b"\x00"
    certs = len(der).to_bytes(3, "big") + der
    certificate = len(certs).to_bytes(3, "big") + certs
    handshake = (b"\x02" + len(server_hello).to_bytes(3, "big") + server_hello
                 + b"\x0b" + len(certificate).to_bytes(3, "big") + certificate)
    return b"\x16\x03\x03" + len(handshake).to_bytes(2, "big") + handshake


def _frames():
    def eth(src, dst=SCANNER[0]):
        return Ether(src=src, dst=dst)

    tls = _tls12_server_flight(_hikvision_dvr_cert_der())
    return [
        eth(HIK[0], "ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=HIK[0], psrc=HIK[1], pdst=SCANNER[1]),
        eth(HIK[0], "01:00:5e:7f:ff:fa") / IP(src=HIK[1], dst="239.255.255.250") / UDP(sport=37020, dport=37020)
        / (REPLIES / "sadp_probematch_ds-2cd2385g1-i.xml").read_bytes(),
        eth(DAHUA[0], "01:00:5e:7f:ff:fb") / IP(src=DAHUA[1], dst="239.255.255.251") / UDP(sport=37810, dport=37810)
        / _dhip_packet(),
        # an HTTP exchange with the NVR: SYN-ACK, request, the recorded 401 reply
        eth(NVR[0]) / IP(src=NVR[1], dst=SCANNER[1]) / TCP(sport=80, dport=40000, flags="SA"),
        Ether(src=SCANNER[0], dst=NVR[0]) / IP(src=SCANNER[1], dst=NVR[1]) / TCP(sport=40000, dport=80, flags="PA")
        / b"GET /ISAPI/System/status HTTP/1.1\r\nHost: x\r\n\r\n",
        eth(NVR[0]) / IP(src=NVR[1], dst=SCANNER[1]) / TCP(sport=80, dport=40000, flags="PA")
        / crlf("http_hikvision_nvr_isapi_status_401.txt"),
        # the server flight split over two segments, as TCP may deliver it
        eth(TLSBOX[0]) / IP(src=TLSBOX[1], dst=SCANNER[1]) / TCP(sport=443, dport=40001, flags="PA") / tls[:200],
        eth(TLSBOX[0]) / IP(src=TLSBOX[1], dst=SCANNER[1]) / TCP(sport=443, dport=40001, flags="PA") / tls[200:],
        # bulk video that carries no signal
        *[eth(HIK[0]) / IP(src=HIK[1], dst=SCANNER[1]) / UDP(sport=50000, dport=50001) / (b"\x80\x60" + bytes(1000))
          for _ in range(50)],
    ]


def _dhip_packet() -> bytes:
    from camsweep.protocols.dhip import encode_reply
    import json

    return encode_reply(json.loads((REPLIES / "dhip_notifydevinfo_ipc-hdw5421s.json").read_text()))


def test_capture_of_real_replies_identifies_the_devices(tmp_path):
    path = tmp_path / "site.pcap"
    wrpcap(str(path), _frames())
    result = analyse_capture(str(path))
    assert not result.partial and result.mode == "pcap"
    by_ip = {item.device.ip: item for item in result.devices}

    hik = by_ip[HIK[1]]
    assert hik.device.mac == HIK[0]  # from ARP and the multicast frame
    assert hik.verdict.manufacturer is Manufacturer.HIKVISION
    assert {o.kind for o in hik.device.observations} >= {ArtefactKind.SADP_REPLY, ArtefactKind.MAC_ADDRESS}

    assert by_ip[DAHUA[1]].verdict.manufacturer is Manufacturer.DAHUA

    nvr = by_ip[NVR[1]]
    http_obs = [o for o in nvr.device.observations if o.kind is ArtefactKind.HTTP_RESPONSE]
    assert http_obs[0].fields["http.path"] == "/ISAPI/System/status"
    assert http_obs[0].fields["http.header.server"] == "DNVRS-Webs"
    assert nvr.device.open_ports == (80,)
    assert nvr.verdict.manufacturer is Manufacturer.HIKVISION

    tls_obs = [o for o in by_ip[TLSBOX[1]].device.observations if o.kind is ArtefactKind.TLS_CERTIFICATE]
    assert "O=HIKVISION" in tls_obs[0].fields["tls.subject"]


def test_repeated_announcements_do_not_grow_the_result(tmp_path):
    frames = _frames()
    announcement = frames[1]
    path = tmp_path / "long.pcap"
    wrpcap(str(path), frames + [announcement] * 500)
    result = analyse_capture(str(path))
    hik = next(i for i in result.devices if i.device.ip == HIK[1])
    assert sum(o.kind is ArtefactKind.SADP_REPLY for o in hik.device.observations) == 1


def test_truncated_capture_gives_partial_result_from_readable_part(tmp_path):
    path = tmp_path / "cut.pcap"
    wrpcap(str(path), _frames())
    path.write_bytes(path.read_bytes()[:-300])
    result = analyse_capture(str(path))
    assert result.partial
    assert any("truncated" in n for n in result.notes)
    assert any(i.device.ip == HIK[1] for i in result.devices)
