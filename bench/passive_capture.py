#!/usr/bin/env python3
"""Benchmark: offline capture analysis speed and memory (issues 6 and 14). Not a test.

Writes a synthetic site capture of N packets (default 1,000,000): mostly bulk traffic -- RTP
video over UDP, RTSP-interleaved video over TCP, HTTP downloads, ARP chatter -- with the signals a
camera network carries mixed in (SADP/DHIP/WS-Discovery/SSDP/mDNS announcements, HTTP and RTSP
replies, DHCP). Then it times ``camsweep.passive.analyse_capture`` on it in fresh processes,
without the BPF prefilter ("before": every frame read in Python) and with it ("after": tcpdump
drops what cannot carry a signal), and times tcpdump alone reading the file with no filter and
with the same filter. It prints packets/second of the read phase (the capture read and analysed;
identification and imports are a fixed cost apart, ``identify_seconds``), the whole call's
seconds and peak RSS (camsweep's, and its tcpdump children's), and whether both give the same
devices and verdicts. Run it twice with different sizes to see that memory does not grow with
the capture's length:

    python3 bench/passive_capture.py --packets 1000000
    python3 bench/passive_capture.py --packets 3000000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def _frames(host: int = 20) -> tuple[list[bytes], list[bytes]]:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import ARP, Ether

    cam, scanner_mac = f"58:50:ed:00:00:{host:02x}", "02:00:00:00:00:02"
    ip = f"198.18.0.{host}"

    def tcp(src, dst, sport, dport, payload, flags="PA"):
        return bytes(Ether(src=cam, dst=scanner_mac) / IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / payload)

    sadp = (b'<?xml version="1.0" encoding="UTF-8"?><ProbeMatch><Uuid>0</Uuid><Types>inquiry</Types>'
            b"<DeviceType>141945</DeviceType><DeviceDescription>DS-2CD2043G2-I</DeviceDescription>"
            b"<DeviceSN>DS-2CD2043G2-I20200414AAWRE33842150</DeviceSN><MAC>" + cam.replace(":", "-").encode() + b"</MAC>"
            b"<IPv4Address>" + ip.encode() + b"</IPv4Address><SoftwareVersion>V5.6.2build 190701</SoftwareVersion></ProbeMatch>")
    http_reply = (b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: text/html\r\nContent-Length: 60\r\n\r\n"
                  b"<html><head><title>login</title></head><body></body></html>")
    rtsp_reply = (b'RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Digest realm="IP Camera(C1234)", '
                  b'nonce="a"\r\n\r\n')
    signals = [
        bytes(Ether(src=cam, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=cam, psrc=ip, pdst="198.18.0.2")),
        bytes(Ether(src=cam, dst="01:00:5e:7f:ff:fa") / IP(src=ip, dst="239.255.255.250") / UDP(sport=37020, dport=37020) / sadp),
        tcp(ip, "198.18.0.2", 80, 40000, b"", flags="SA"),
        tcp(ip, "198.18.0.2", 80, 40000, http_reply),
        tcp(ip, "198.18.0.2", 554, 40001, rtsp_reply),
    ]
    bulk = [
        bytes(Ether(src=cam, dst=scanner_mac) / IP(src="198.18.0.20", dst="198.18.0.2") / UDP(sport=50000, dport=50001) / (b"\x80\x60" + os.urandom(1200))),
        tcp("198.18.0.20", "198.18.0.2", 554, 40002, b"$\x00\x04\xb0" + os.urandom(1200)),
        tcp("198.18.0.30", "198.18.0.2", 80, 40003, os.urandom(1400)),
        bytes(Ether(src="02:00:00:00:00:07", dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc="02:00:00:00:00:07", psrc="198.18.0.7", pdst="198.18.0.1")),
    ]
    return signals, bulk


def write_capture(path: str, packets: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    signals = [frame for host in range(10, 210) for frame in _frames(host)[0]]  # 200 cameras
    bulk = _frames()[1]
    record = struct.Struct("<IIII")
    with open(path, "wb", buffering=1 << 20) as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1_764_000_000
        for n in range(packets):
            if rng.random() < 0.02:  # 2% of the packets carry a signal
                frame = signals[rng.randrange(len(signals))]
            else:
                frame = bulk[rng.randrange(len(bulk))]
            fh.write(record.pack(t + n // 10_000, n % 10_000 * 100, len(frame), len(frame)))
            fh.write(frame)


def measure(path: str, prefilter: bool) -> dict[str, float]:
    """Run the analysis in this (fresh) process and report speed and peak memory."""
    from camsweep.passive import analyse_capture

    marks: dict[str, float] = {}

    def on_event(kind: str, data: dict[str, object]) -> None:
        if kind == "phase":
            marks[str(data["name"])] = time.perf_counter()

    start = time.perf_counter()
    result = analyse_capture(path, prefilter=prefilter, on_event=on_event)
    elapsed = time.perf_counter() - start
    packets = int(result.notes[0].split(": ")[1].split(" ")[0])
    read = marks["identify"] - marks["read"]
    verdicts = sorted((item.device.ip or "", item.verdict.manufacturer.value, item.verdict.model or "")
                      for item in result.devices)
    return {
        "packets": packets,
        "read_seconds": round(read, 2),
        "read_packets_per_second": round(packets / read),
        "identify_seconds": round(elapsed - read, 2),
        "seconds": round(elapsed, 2),
        "packets_per_second": round(packets / elapsed),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "devices": len(result.devices),
        "verdicts": verdicts,
        "notes": list(result.notes),
    }


def time_tcpdump(path: str, expression: str | None) -> float:
    """Seconds tcpdump takes to read the file (and write what the filter passes to /dev/null)."""
    start = time.perf_counter()
    subprocess.run(["tcpdump", "-r", path, "-w", "/dev/null", *([expression] if expression else [])],
                   capture_output=True, check=True)
    return round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, not args.no_prefilter)))
        return
    from camsweep.passive import bpf

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "site.pcap")
        t0 = time.perf_counter()
        write_capture(path, args.packets)
        written = time.perf_counter() - t0
        runs = {}
        for name, extra in (("before", ["--no-prefilter"]), ("after", [])):
            out = subprocess.run([sys.executable, __file__, "--measure", path, *extra],
                                 capture_output=True, text=True, check=True)
            runs[name] = json.loads(out.stdout)
        flows = bpf._reply_flows(path)
        figures = {
            "packets": args.packets,
            "capture_mib": round(os.path.getsize(path) / 2**20, 1),
            "generate_seconds": round(written, 1),
            "before": runs["before"],
            "after": runs["after"],
            "same_result": runs["before"]["verdicts"] == runs["after"]["verdicts"]
            and runs["before"]["notes"] == runs["after"]["notes"],
            "tcpdump_seconds": {
                "no_filter": time_tcpdump(path, None),
                "first_pass": time_tcpdump(path, bpf.reply_starts()),
                "filter": time_tcpdump(path, bpf.expression(flows=flows)),
            },
            "target_read_packets_per_second": 1_000_000,
        }
        for run in runs.values():
            del run["verdicts"], run["notes"]
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
