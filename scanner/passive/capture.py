"""Read packet captures (pcap and pcapng) as a stream of frames, with memory that does not grow.

Both formats are read by small struct-based readers. For classic pcap that is the hot path (dpkt's
reader converts every timestamp through ``Decimal`` and cannot tell a truncated file from a
finished one). For pcapng, dpkt's reader gives every packet the first interface's link type and
timestamp resolution, and reads whatever length a block claims into memory; here each Enhanced
Packet Block uses its own interface's, and no read is longer than ``MAX_FRAME`` plus a block header.
A truncated or corrupt tail stops the stream and is reported through ``Capture.problem``: what was
read before it is kept. Frames on an interface whose link type camsweep cannot read are skipped and
counted (``Capture.notes()``); a file with no readable interface at all is refused.
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from ..errors import InputFileError

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
SUPPORTED_LINKTYPES = {LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW: "raw IP",
                       LINKTYPE_LINUX_SLL: "Linux cooked", LINKTYPE_IPV4: "raw IPv4"}

MAX_FRAME = 262_144
"""No real frame is longer; a larger record length means the file is corrupt."""

_PCAP_MAGICS = {  # byte order, timestamp ticks per second
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_PCAPNG_BOM = {b"\x4d\x3c\x2b\x1a": "<", b"\x1a\x2b\x3c\x4d": ">"}
_SHB, _IDB, _PB, _SPB, _EPB = 0x0A0D0D0A, 1, 2, 3, 6
_OPT_END, _OPT_TSRESOL, _OPT_TSOFFSET = 0, 9, 14

_DECIMAL_TICKS = {10**n for n in range(10)}  # resolutions libpcap turns into nanoseconds exactly
MAX_HEADER_BLOCK = 65_536
"""Bytes of an interface description's options read (the ones camsweep uses come first in
practice)."""
_WHOLE_BLOCK = MAX_FRAME + MAX_HEADER_BLOCK
"""Blocks up to this long are read whole; of a longer one (a frame with megabytes of comments, or
a block type camsweep does not read) only the start, the rest is skipped with a seek."""
MAX_INTERFACES = 4096
"""Interfaces declared in one section. Each costs a little memory; a file declaring millions is
hostile. Packets on interfaces past this are skipped, counted with those on undeclared ones."""


@dataclass
class _Interface:
    linktype: int
    snaplen: int
    divisor: int = 1_000_000  # ticks per second (if_tsresol; default microseconds); int / int rounds exactly
    offset: int = 0  # seconds added to every timestamp (if_tsoffset)


@dataclass
class Capture:
    """An open capture: iterate ``frames()`` for ``(timestamp, linktype, frame bytes)``."""

    path: str
    fh: BinaryIO
    kind: str
    frames_read: int = 0
    problem: str | None = None
    linktypes: set[int] = field(default_factory=set)
    skipped: Counter[int] = field(default_factory=Counter)
    """Packets skipped, by their interface's link type (-1: an interface the file never declared)."""
    libpcap_times: bool = True
    """False once a pcapng interface declares a timestamp resolution finer than nanoseconds or not
    a power of ten, or an offset: libpcap (``bpf``'s tcpdump) would round those times otherwise."""

    def frames(self) -> Iterator[tuple[float, int, bytes]]:
        return self._pcap() if self.kind == "pcap" else self._pcapng()

    def _pcap(self) -> Iterator[tuple[float, int, bytes]]:
        header = self.fh.read(24)
        order, divisor = _PCAP_MAGICS[header[:4]]
        linktype = struct.unpack(order + "I", header[20:24])[0] & 0x0FFFFFFF
        self._check_linktype(linktype)
        record = struct.Struct(order + "IIII")
        read = self.fh.read
        while True:
            head = read(16)
            if len(head) < 16:
                if head:
                    self.problem = f"truncated record header after {self.frames_read} packets"
                return
            sec, frac, caplen, _ = record.unpack(head)
            if caplen > MAX_FRAME:
                self.problem = f"corrupt record (length {caplen}) after {self.frames_read} packets"
                return
            data = read(caplen)
            if len(data) < caplen:
                self.problem = f"truncated packet after {self.frames_read} packets"
                return
            self.frames_read += 1
            # one rounding, as pcapng's ticks / divisor: the same instant read from a pcapng or
            # from tcpdump's pcap copy of it (``bpf``) gives the same float
            yield (sec * divisor + frac) / divisor, linktype, data

    def _pcapng(self) -> Iterator[tuple[float, int, bytes]]:
        fh, read = self.fh, self.fh.read
        size = os.fstat(fh.fileno()).st_size
        order = "<"
        interfaces: list[_Interface] = []
        declared: set[int] = set()  # every link type any section declared
        ts, pos = 0.0, 0  # pos: where the current block starts
        while True:
            head = read(8)
            if len(head) < 8:
                if head:
                    self.problem = f"truncated block header after {self.frames_read} packets"
                break
            if head[:4] == _PCAPNG_MAGIC:  # a section header: its byte-order mark sets the order
                bom = read(4)
                if bom not in _PCAPNG_BOM:
                    self._pcapng_corrupt(pos, "section header with no byte-order mark")
                    break
                order = _PCAPNG_BOM[bom]
                interfaces = []  # interface numbers restart in every section
                fh.seek(pos + 8)
            block_type, length = struct.unpack(order + "II", head)
            if length < 12 or length % 4 or pos + length > size:
                self._pcapng_corrupt(pos, "truncated block" if pos + length > size else f"block of length {length}")
                break
            if length - 8 <= _WHOLE_BLOCK:  # nearly every block: one read, trailing length included
                body = read(length - 8)
                tail = body[-4:]
            else:  # its start is read; the rest (options, or a block camsweep skips) is not
                body = read(_WHOLE_BLOCK)
                fh.seek(pos + length - 4)
                tail = read(4)
            if len(tail) < 4 or struct.unpack(order + "I", tail)[0] != length:
                self._pcapng_corrupt(pos, "block lengths disagree")
                break
            pos += length
            body_length = length - 12
            frame = None
            if block_type == _EPB or block_type == _PB:
                if body_length < 20:
                    self._pcapng_corrupt(pos - length, "short packet block")
                    break
                if block_type == _EPB:
                    iface, high, low, caplen = struct.unpack_from(order + "IIII", body)
                else:
                    iface, _, high, low, caplen = struct.unpack_from(order + "HHIII", body)
                if caplen > MAX_FRAME or caplen > body_length - 20:
                    self._pcapng_corrupt(pos - length, f"packet length {caplen}")
                    break
                frame = self._pcapng_frame(interfaces, iface, body[20 : 20 + caplen])
                if frame is not None:
                    where = interfaces[iface]
                    ts = where.offset + ((high << 32) | low) / where.divisor
            elif block_type == _SPB:
                if body_length < 4:
                    self._pcapng_corrupt(pos - length, "short packet block")
                    break
                caplen = min(struct.unpack_from(order + "I", body)[0], body_length - 4)
                if interfaces and interfaces[0].snaplen:
                    caplen = min(caplen, interfaces[0].snaplen)
                if caplen > MAX_FRAME:
                    self._pcapng_corrupt(pos - length, f"packet length {caplen}")
                    break
                # no timestamp in a simple packet block: dated as the packet before
                frame = self._pcapng_frame(interfaces, 0, body[4 : 4 + caplen])
            elif block_type == _SHB:
                if body_length < 12 or struct.unpack_from(order + "H", body, 4)[0] != 1:
                    self._pcapng_corrupt(pos - length, "section header of an unknown pcapng version")
                    break
            elif block_type == _IDB:
                if body_length < 8:
                    self._pcapng_corrupt(pos - length, "short interface description")
                    break
                interface = _interface(order, body[: min(body_length, MAX_HEADER_BLOCK)])
                if interface.offset or interface.divisor not in _DECIMAL_TICKS:
                    self.libpcap_times = False
                declared.add(interface.linktype)
                if interface.linktype in SUPPORTED_LINKTYPES:
                    self.linktypes.add(interface.linktype)
                if len(interfaces) < MAX_INTERFACES:
                    interfaces.append(interface)
            if frame is not None:
                self.frames_read += 1
                yield ts, frame[0], frame[1]
        if not self.linktypes:
            if not declared:
                raise InputFileError(f"{self.path}: not a readable pcapng file (no interface description)"
                                     + (f"; {self.problem}" if self.problem else ""))
            self._refuse_linktypes(sorted(declared))

    def _pcapng_frame(self, interfaces: list[_Interface], iface: int, data: bytes) -> tuple[int, bytes] | None:
        """``(linktype, data)`` for a packet on interface ``iface``, or None when it is skipped (counted)."""
        if iface >= len(interfaces):
            self.skipped[-1] += 1
            return None
        linktype = interfaces[iface].linktype
        if linktype not in SUPPORTED_LINKTYPES:
            self.skipped[linktype] += 1
            return None
        return linktype, data

    def _pcapng_corrupt(self, offset: int, what: str) -> None:
        self.problem = f"corrupt or truncated block at byte {offset} after {self.frames_read} packets ({what})"

    def notes(self) -> list[str]:
        """What was skipped, one line each, for the result's notes."""
        out = []
        unsupported = {lt: n for lt, n in self.skipped.items() if lt >= 0}
        if unsupported:
            kinds = ", ".join(f"{lt} ({n} packets)" for lt, n in sorted(unsupported.items()))
            out.append(f"{sum(unsupported.values())} packets skipped on interfaces with unsupported link types: {kinds}")
        if self.skipped[-1]:
            out.append(f"{self.skipped[-1]} packets skipped on interfaces the file does not declare")
        return out

    def _check_linktype(self, linktype: int) -> None:
        if linktype not in SUPPORTED_LINKTYPES:
            self._refuse_linktypes([linktype])
        self.linktypes.add(linktype)

    @property
    def size(self) -> int:
        """The file's size in bytes (what reading it all means, for progress)."""
        return os.fstat(self.fh.fileno()).st_size

    def _refuse_linktypes(self, linktypes: list[int]) -> None:
        names = ", ".join(f"{n} ({v})" for v, n in SUPPORTED_LINKTYPES.items())
        which = f"link type {linktypes[0]}" if len(linktypes) == 1 else "link types " + ", ".join(map(str, linktypes))
        raise InputFileError(f"{self.path}: unsupported {which} (supported: {names})")

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _interface(order: str, body: bytes) -> _Interface:
    """An interface description block's link type, snap length and timestamp options."""
    linktype, _, snaplen = struct.unpack_from(order + "HHI", body, 0)
    interface = _Interface(linktype, snaplen)
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack_from(order + "HH", body, pos)
        value = body[pos + 4 : pos + 4 + size]
        if code == _OPT_END or len(value) < size:
            break
        if code == _OPT_TSRESOL and size >= 1:
            # MSB clear: ticks are 10^-n s; set: 2^-n s (n at most 127).
            n = value[0] & 0x7F
            interface.divisor = 2**n if value[0] & 0x80 else 10**n
        elif code == _OPT_TSOFFSET and size >= 8:
            interface.offset = struct.unpack(order + "q", value[:8])[0]
        pos += 4 + size + (-size % 4)
    return interface


def open_capture(path: str) -> Capture:
    """Open a pcap/pcapng file; a file that is neither is refused with one clear line."""
    try:
        fh = open(path, "rb", buffering=1 << 20)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    magic = fh.read(4)
    fh.seek(0)
    if magic in _PCAP_MAGICS:
        if len(fh.read(24)) < 24:
            fh.close()
            raise InputFileError(f"{path}: truncated pcap file header")
        fh.seek(0)
        return Capture(path, fh, "pcap")
    if magic == _PCAPNG_MAGIC:
        return Capture(path, fh, "pcapng")
    fh.close()
    raise InputFileError(f"{path}: not a packet capture (pcap or pcapng); first bytes {magic.hex() or 'empty'}")
