"""The BPF prefilter: let libpcap or the kernel drop the frames that cannot carry a signal.

Python reads a few hundred thousand frames a second; libpcap filters tens of millions. So both
passive readers hand Python only what the analysis can use, chosen by ONE filter expression
(``expression``) computed from the protocol declarations, like everything else that lists
protocols: the UDP ports a passive decoder reads (from and to), every UDP fragment (the
reassembler needs them all), ARP, SYN-ACKs (the ports hosts serve on), and TCP segments whose
payload starts like a reply or request a decoder reads (``Passive.tcp`` and ``Passive.requests``,
compared on their first 1, 2 or 4 bytes, so the filter passes a superset of them).

A reply's later segments do not start like a reply, and a stateless filter cannot tell them from
a video stream. What the analyser reads of a TCP direction depends only on the segments that
start a reply or a request and on the directions those start in (``signals.Analyser._tcp``), so:

* reading a capture file (``Prefiltered``) takes two passes through ``tcpdump -r``: the first
  finds the directions in which a reply starts, the second passes those directions whole (by
  their port pairs) besides the filter above; a third child counts every packet (for the
  result's note) while the first runs. The analysis is the same as reading every frame
  (``tests/test_passive_bpf.py`` compares them byte for byte on the repository's captures). With
  more than ``MAX_PORT_PAIRS`` such port pairs the second pass passes every TCP segment that
  carries data. A pcapng whose first interface's timestamps libpcap would round (resolution
  finer than nanoseconds or not decimal, an offset) is read by camsweep's own reader. One
  difference is left: libpcap dates a pcapng's simple packet blocks (which carry no time, and
  which dumpcap does not write) at 0, camsweep's reader as the packet before;
* ``listen`` attaches the filter, with every TCP segment that carries data, to its packet socket
  (``attach``, ``SO_ATTACH_FILTER``; the program is compiled by libpcap through ctypes, no
  interface is opened for it).

Without tcpdump (capture files) or libpcap (``listen``) every frame is read in Python, as before,
and the result's notes say so. A file tcpdump does not read to its end (truncated, corrupt, a
pcapng whose interfaces differ in link type) is read by camsweep's own reader, which says what
it could not read.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import socket
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from ..errors import InputFileError
from .capture import (
    LINKTYPE_ETHERNET,
    LINKTYPE_LINUX_SLL,
    LINKTYPE_RAW,
    MAX_FRAME,
    open_capture,
)
from .decode import TCP, decode
from .signals import FROM_PORT, REPLIES, REQUESTS, TO_PORT

Ports = tuple[int, int]
"""A TCP direction's source and destination ports."""

MAX_PORT_PAIRS = 256
"""Reply directions' port pairs the second pass names (one 32-bit comparison each, in libpcap's
optimised program: 256 cost tcpdump about 0.2 s a million packets on a loaded machine). A capture
with more passes every TCP segment that carries data instead."""
CHILD_WAIT = 60.0
"""Seconds a tcpdump child may take to exit once its output has been read to the end."""
SO_ATTACH_FILTER = 26  # <asm-generic/socket.h>
_DLT = {LINKTYPE_RAW: 12}
"""libpcap's own number (DLT_RAW on Linux) where a file's link type differs from it."""

_DATA = "tcp[((tcp[12:1] & 0xf0) >> 2):{size}]"
"""The first ``size`` bytes of a TCP segment's payload."""
_HAS_DATA = "(ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12:1] & 0xf0) >> 2)) != 0"
"""A TCP segment that carries data. (An IP total length of 0, as captures of segmentation offload
show, wraps round to a large number: passed, and decode reads such a frame to its end.)"""


class Unavailable(Exception):
    """The prefilter cannot run here (no tcpdump, no libpcap); the message is the result's note."""


def _starts(prefixes: Iterable[bytes]) -> list[str]:
    """Payload comparisons for ``prefixes``, shortest load first.

    A BPF load past the end of the frame ends the program and drops the frame, whatever the
    other alternatives would have said. So payload loads come last in every expression here, the
    1- and 2-byte ones before the 4-byte ones (a 2-byte TLS record start must not be dropped by
    the 4-byte comparison for "HTTP"), and a longer prefix is compared on its first 4 bytes only
    (a superset: the analyser compares the whole prefix)."""
    sizes = {}
    for prefix in prefixes:
        size = 4 if len(prefix) >= 4 else 2 if len(prefix) >= 2 else 1
        sizes[f"{_DATA.format(size=size)} = 0x{int.from_bytes(prefix[:size], 'big'):x}"] = size
    return sorted(sizes, key=lambda test: (sizes[test], test))


def reply_starts() -> str:
    """TCP segments whose payload starts like a reply a decoder reads (the first pass)."""
    return "tcp and (" + " or ".join(_starts(start for start, _ in REPLIES)) + ")"


def _ports(direction: str, ports: Iterable[int]) -> str:
    return " or ".join(f"{direction} port {port}" for port in sorted(ports))


def expression(linktype: int = LINKTYPE_ETHERNET, flows: Iterable[Ports] | None = None) -> str:
    """The filter, in libpcap's language, for frames of ``linktype``.

    ``flows`` are the port pairs of the TCP directions passed whole (the reply directions of a
    capture file; directions between other hosts with the same ports pass too); None passes every
    TCP segment that carries data (``listen``, which cannot know them ahead)."""
    parts = []
    if linktype in (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL):
        parts.append("arp")
    if linktype == LINKTYPE_ETHERNET:  # VLAN-tagged frames are passed whole (decode walks the tags)
        parts.append("ether[12:2] = 0x8100 or ether[12:2] = 0x88a8")
    parts.append(f"(ip and udp and ({_ports('src', FROM_PORT)} or {_ports('dst', TO_PORT)}))")
    parts.append("(ip and udp and ip[6:2] & 0x3fff != 0)")  # a fragment: the ports may be in another one
    tcp = ["tcp[13] & 0x12 = 0x12"]  # SYN-ACK: the port is served
    if flows is None:
        tcp.append(_HAS_DATA)
    else:
        tcp += [f"tcp[0:4] = 0x{(sport << 16) | dport:x}" for sport, dport in sorted(flows)]
    tcp += _starts({start for start, _ in REPLIES} | set(REQUESTS))  # last: they load payload bytes
    parts.append("(ip and tcp and (" + " or ".join(tcp) + "))")
    return " or ".join(parts)


# -- listen: the kernel filters --------------------------------------------------------------

class _Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]


class _Program(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_Insn))]


def _libpcap() -> ctypes.CDLL:
    name = ctypes.util.find_library("pcap")
    if name is None:
        raise Unavailable("libpcap not found: no BPF prefilter, every frame was read in Python (install libpcap0.8)")
    lib = ctypes.CDLL(name)
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = (ctypes.c_int, ctypes.c_int)
    lib.pcap_compile.argtypes = (ctypes.c_void_p, ctypes.POINTER(_Program), ctypes.c_char_p, ctypes.c_int, ctypes.c_uint32)
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = (ctypes.c_void_p,)
    lib.pcap_freecode.argtypes = (ctypes.POINTER(_Program),)
    lib.pcap_close.argtypes = (ctypes.c_void_p,)
    return lib


def compile_filter(expr: str, linktype: int = LINKTYPE_ETHERNET) -> list[tuple[int, int, int, int]]:
    """The classic BPF program for ``expr`` as ``(code, jt, jf, k)`` instructions, compiled by
    libpcap for ``linktype`` without opening any interface (``pcap_open_dead``)."""
    lib = _libpcap()
    handle = lib.pcap_open_dead(_DLT.get(linktype, linktype), 262_144)
    if not handle:
        raise Unavailable("libpcap could not compile the BPF prefilter: every frame was read in Python")
    program = _Program()
    try:
        if lib.pcap_compile(handle, ctypes.byref(program), expr.encode(), 1, 0xFFFFFFFF) != 0:
            raise ValueError(f"BPF filter does not compile: {lib.pcap_geterr(handle).decode(errors='replace')}")
        try:
            return [(i.code, i.jt, i.jf, i.k) for i in program.bf_insns[: program.bf_len]]
        finally:
            lib.pcap_freecode(ctypes.byref(program))
    finally:
        lib.pcap_close(handle)


def attach(sock: socket.socket, program: list[tuple[int, int, int, int]]) -> None:
    """Attach a classic BPF program to a packet socket (``SO_ATTACH_FILTER``); the kernel copies it."""
    code = b"".join(struct.pack("HBBI", *insn) for insn in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, struct.pack("HL", len(program), ctypes.addressof(buffer)))


# -- capture files: libpcap (through tcpdump) filters -----------------------------------------

class Failed(Exception):
    """tcpdump did not read the file to its end; camsweep's own reader will."""


def _tcpdump() -> str:
    program = shutil.which("tcpdump")
    if program is None:
        raise Unavailable("tcpdump not found: no BPF prefilter, every frame was read in Python (slower; install tcpdump)")
    return program


def _start(path: str, args: list[str]) -> tuple[subprocess.Popen[bytes], BinaryIO, BinaryIO]:
    """tcpdump reading ``path`` on its standard input (so only the file camsweep opened is read,
    whatever its name), with its own file offset, which tells how far it has read."""
    source = open(path, "rb")
    errors = tempfile.TemporaryFile()  # a file, not a pipe: nothing can block on it
    try:
        proc = subprocess.Popen([_tcpdump(), "-n", "--time-stamp-precision=nano", "-r", "-", *args],
                                stdin=source, stdout=subprocess.PIPE, stderr=errors, bufsize=1 << 20,
                                start_new_session=True)  # Ctrl-C reaches camsweep, which ends them
    except BaseException:
        source.close()
        errors.close()
        raise
    return proc, source, errors


def _stop(proc: subprocess.Popen[bytes], source: BinaryIO, errors: BinaryIO) -> None:
    """End a child whatever it was doing (its output is no longer wanted) and close its files."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for fh in (proc.stdout, source, errors):
        if fh is not None:
            fh.close()


def _finish(proc: subprocess.Popen[bytes], source: BinaryIO, errors: BinaryIO) -> None:
    """Reap a child whose output was read to its end; Failed unless it read the whole file and
    said nothing but its banner."""
    try:
        code = proc.wait(CHILD_WAIT)
    except subprocess.TimeoutExpired:
        code = None
    errors.seek(0)
    said = errors.read(4096).decode(errors="replace").splitlines()
    _stop(proc, source, errors)
    if code != 0 or any(not line.startswith("reading from file") for line in said):
        raise Failed("; ".join(said) or f"tcpdump exited with {code}")


_NANO_PCAP = {b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}
"""Magic numbers of a pcap with nanosecond times (what tcpdump writes, asked for them)."""


def _frames(proc: subprocess.Popen[bytes]) -> Iterator[tuple[float, int, bytes]]:
    """tcpdump's output, read in large pieces (a stream of mostly small frames: two reads a frame
    cost more than the rest of the work on them); Failed if it is not whole."""
    assert proc.stdout is not None
    read = proc.stdout.read1
    header = proc.stdout.read(24)
    if len(header) < 24 or header[:4] not in _NANO_PCAP:
        raise Failed("tcpdump wrote no pcap header")
    order = _NANO_PCAP[header[:4]]
    linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
    record = struct.Struct(order + "IIII").unpack_from
    data, pos = b"", 0
    while chunk := read(1 << 20):
        data = data[pos:] + chunk
        pos, end = 0, len(data)
        while end - pos >= 16:
            sec, frac, caplen, _ = record(data, pos)
            if caplen > MAX_FRAME:
                raise Failed(f"tcpdump wrote a record of {caplen} bytes")
            stop = pos + 16 + caplen
            if stop > end:
                break
            # one rounding, as camsweep's readers compute times: the same float as from the file
            yield (sec * 1_000_000_000 + frac) / 1_000_000_000, linktype, data[pos + 16 : stop]
            pos = stop
    if pos < len(data):
        raise Failed("tcpdump's output ends in a partial record")


_REPLY_STARTS = tuple(start for start, _ in REPLIES)


def _reply_flows(path: str) -> set[Ports] | None:
    """The port pairs of the TCP directions in which a reply starts (first pass), or None past
    MAX_PORT_PAIRS (the second pass then reads, and checks, the whole file)."""
    child = _start(path, ["-w", "-", reply_starts()])
    flows: set[Ports] = set()
    try:
        for _, linktype, frame in _frames(child[0]):
            pkt = decode(linktype, frame)
            if pkt is not None and pkt.proto == TCP and pkt.payload[:8].startswith(_REPLY_STARTS):
                flows.add((pkt.sport, pkt.dport))
                if len(flows) > MAX_PORT_PAIRS:
                    _stop(*child)
                    return None
    except BaseException:
        _stop(*child)
        raise
    _finish(*child)
    return flows


class Prefiltered:
    """The frames of a capture file that the filter passes (``frames()``), and what reading the whole
    file saw: ``frames_read`` (every packet, counted by a tcpdump child) and ``position()`` (bytes
    of the file read so far, for progress)."""

    def __init__(self, path: str, linktype: int) -> None:
        self.path = path
        self.linktype = linktype
        self.frames_read = 0
        self._source: BinaryIO | None = None

    def position(self) -> int:
        return os.lseek(self._source.fileno(), 0, os.SEEK_CUR) if self._source else 0

    def frames(self) -> Iterator[tuple[float, int, bytes]]:
        """Raises Failed (after the frames it could read) when tcpdump did not read the file whole."""
        count = _start(self.path, ["--count"])
        try:
            flows = _reply_flows(self.path)
            child = _start(self.path, ["-w", "-", expression(self.linktype, flows)])
            self._source = child[1]
            try:
                yield from _frames(child[0])
            except BaseException:
                _stop(*child)
                raise
            _finish(*child)
            self._source = None
            assert count[0].stdout is not None
            counted = count[0].stdout.read(4096)
        except BaseException:
            _stop(*count)
            raise
        _finish(*count)
        words = counted.split()
        if len(words) != 2 or words[1] not in (b"packet", b"packets") or not words[0].isdigit():
            raise Failed(f"tcpdump --count said {counted[:80]!r}")
        self.frames_read = int(words[0])


def linktype_of(path: str) -> int | None:
    """The link type tcpdump will read ``path`` with (a pcap's, or the one link type of a pcapng's
    interfaces declared before its first packet); None when that is not one camsweep reads, or
    when libpcap would date the packets otherwise (``Capture.libpcap_times``)."""
    try:
        with open_capture(path) as capture:
            next(iter(capture.frames()), None)
            if len(capture.linktypes) != 1 or not capture.libpcap_times:
                return None
            return next(iter(capture.linktypes))
    except InputFileError:  # the caller's own reader reports it
        return None
