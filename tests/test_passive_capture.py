"""Capture reading: pcap and pcapng, and every kind of bad file."""

import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapNgWriter, wrpcap

from camsweep.errors import InputFileError
from camsweep.passive.capture import open_capture
from camsweep.passive.decode import decode, mac_text

FRAMES = [
    Ether(src="58:50:ed:00:00:01", dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc="58:50:ed:00:00:01", psrc="198.18.0.20", pdst="198.18.0.2"),
    Ether(src="58:50:ed:00:00:01", dst="01:00:5e:7f:ff:fa") / IP(src="198.18.0.20", dst="239.255.255.250") / UDP(sport=37020, dport=37020) / b"<ProbeMatch/>",
]


def _pcap(tmp_path, frames=FRAMES):
    path = tmp_path / "c.pcap"
    wrpcap(str(path), frames)
    return path


def test_reads_pcap_and_decodes(tmp_path):
    with open_capture(str(_pcap(tmp_path))) as cap:
        packets = [decode(lt, f) for _, lt, f in cap.frames()]
        assert cap.problem is None and cap.frames_read == 2
    arp, udp = packets
    assert (arp.src_ip, mac_text(arp.src_mac), arp.proto) == ("198.18.0.20", "58:50:ed:00:00:01", 0)
    assert (udp.dst_ip, udp.sport, udp.payload, udp.link_local) == ("239.255.255.250", 37020, b"<ProbeMatch/>", True)


def test_reads_pcapng(tmp_path):
    path = tmp_path / "c.pcapng"
    writer = PcapNgWriter(str(path))
    for frame in FRAMES:
        writer.write(frame)
    writer.close()
    with open_capture(str(path)) as cap:
        assert [decode(lt, f).src_ip for _, lt, f in cap.frames()] == ["198.18.0.20", "198.18.0.20"]


def test_truncated_capture_keeps_what_was_read(tmp_path):
    path = _pcap(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with open_capture(str(path)) as cap:
        frames = list(cap.frames())
    assert len(frames) == 1 and "truncated packet after 1 packets" in cap.problem


def test_corrupt_record_length_stops_cleanly(tmp_path):
    path = _pcap(tmp_path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 24 + 8, 50_000_000)  # first record claims a 50 MB packet
    path.write_bytes(bytes(data))
    with open_capture(str(path)) as cap:
        assert list(cap.frames()) == [] and "corrupt record" in cap.problem


def test_not_a_capture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, I am not a pcap")
    with pytest.raises(InputFileError, match="not a packet capture"):
        open_capture(str(path))


def test_unsupported_link_type(tmp_path):
    path = _pcap(tmp_path)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 20, 147)  # LINKTYPE_USER0
    path.write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="unsupported link type 147"):
        with open_capture(str(path)) as cap:
            list(cap.frames())
