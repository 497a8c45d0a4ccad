"""Read packet captures (pcap and pcapng) as a stream of frames, with memory that does not grow.

Classic pcap is read by a small struct-based reader on the hot path (dpkt's reader converts every
timestamp through ``Decimal`` and cannot tell a truncated file from a finished one); pcapng goes
through dpkt. A truncated or corrupt tail stops the stream and is reported through
``Capture.problem``: what was read before it is kept.
"""

from __future__ import annotations

import os
import struct
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

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@dataclass
class Capture:
    """An open capture: iterate ``frames()`` for ``(timestamp, linktype, frame bytes)``."""

    path: str
    fh: BinaryIO
    kind: str
    frames_read: int = 0
    problem: str | None = None
    linktypes: set[int] = field(default_factory=set)

    def frames(self) -> Iterator[tuple[float, int, bytes]]:
        reader = self._pcap if self.kind == "pcap" else self._pcapng
        yield from reader()

    def _pcap(self) -> Iterator[tuple[float, int, bytes]]:
        header = self.fh.read(24)
        order, scale = _PCAP_MAGICS[header[:4]]
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
            yield sec + frac * scale, linktype, data

    def _pcapng(self) -> Iterator[tuple[float, int, bytes]]:
        import dpkt

        try:
            reader = dpkt.pcapng.Reader(self.fh)
        except (ValueError, dpkt.dpkt.UnpackError, dpkt.NeedData) as exc:
            raise InputFileError(f"{self.path}: not a readable pcapng file ({exc})") from None
        linktype = reader.datalink()
        self._check_linktype(linktype)
        iterator = iter(reader)
        while True:
            try:
                ts, data = next(iterator)
            except StopIteration:
                return
            except (ValueError, struct.error, dpkt.dpkt.UnpackError, dpkt.NeedData) as exc:
                self.problem = f"corrupt or truncated block after {self.frames_read} packets ({exc})"
                return
            self.frames_read += 1
            yield float(ts), linktype, data

    def _check_linktype(self, linktype: int) -> None:
        if linktype not in SUPPORTED_LINKTYPES:
            names = ", ".join(f"{n} ({v})" for v, n in SUPPORTED_LINKTYPES.items())
            raise InputFileError(f"{self.path}: unsupported link type {linktype} (supported: {names})")
        self.linktypes.add(linktype)

    @property
    def size(self) -> int:
        """The file's size in bytes (what reading it all means, for progress)."""
        return os.fstat(self.fh.fileno()).st_size

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
