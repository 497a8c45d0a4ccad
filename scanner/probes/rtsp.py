"""RTSP banner probe: OPTIONS then DESCRIBE on port 554, over a raw socket, every read bounded.

No credentials are sent: the 401 to DESCRIBE is the point (its realm shape names the maker).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable

from ..models import ArtefactKind, Observation
from ..protocols import rtsp as rtsp_codec
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import Watchdog, connect, read_message

log = logging.getLogger("camsweep")

RTSP_PORTS = (554, 8554)
MAX_REPLY = 64 * 1024
_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,9})[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
"""At most nine digits: int() refuses over 4300 (ValueError), and a reply is cut at MAX_REPLY anyway."""


def reply_complete(data: bytes) -> bool:
    """True once the header block and any announced body have arrived."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    match = _LENGTH.search(data[:end])
    return len(data) - (end + 4) >= (int(match.group(1)) if match else 0)


@register
class RtspProbe(Probe):
    spec = rtsp_codec.SPEC
    description = "RTSP OPTIONS and DESCRIBE on port 554 (server, methods, auth realm)"

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        for port in RTSP_PORTS:
            if port in host.open_ports and not ctx.cancelled.is_set():
                self._probe(ctx, host, port)

    def _probe(self, ctx: ProbeContext, host: HostInfo, port: int) -> None:
        cfg = self.config
        total = cfg.request_timeout
        sock = connect(host.ip, port, cfg.connect_timeout)
        if sock is None:
            return
        url = f"rtsp://{host.ip}:{port}/"
        with sock, Watchdog(2 * total) as dog:
            dog.watch(sock)
            for cseq, method in enumerate(("OPTIONS", "DESCRIBE"), start=1):
                if ctx.cancelled.is_set():
                    return
                extra = [("Accept", "application/sdp")] if method == "DESCRIBE" else []
                request = rtsp_codec.build_request(method, url, cseq, extra + [("User-Agent", "camsweep")])
                try:
                    sock.sendall(request.encode() if isinstance(request, str) else request)
                except OSError as exc:
                    self._problem(ctx, host, port, "rtsp-error", f"{method}: send failed ({exc.strerror or exc})")
                    return
                reply = read_message(sock, time.monotonic() + total, MAX_REPLY, reply_complete)
                if reply.data:
                    made: Observation | list[Observation]
                    try:
                        made = rtsp_codec.parse_reply(reply.data, port=port, ip=host.ip, mac=host.mac, probe=self.name)
                    except Exception as exc:  # a codec bug must not end the scan
                        log.debug("rtsp: codec failed on %s: %s", host.ip, exc)
                        made = [Observation.make(self.name, ArtefactKind.RTSP_BANNER, ip=host.ip, port=port,
                                                 raw=reply.data, problem="rtsp-unparsed")]
                    for observation in _as_list(made):
                        ctx.emit(observation)
                if reply.oversize:
                    self._problem(ctx, host, port, "rtsp-oversize", f"{method}: reply over {MAX_REPLY} bytes; cut")
                    return
                if reply.timed_out or dog.fired:
                    self._problem(ctx, host, port, "rtsp-timeout", f"{method}: no complete reply within {total:g} s")
                    return
                if not reply.data or reply.closed or reply.error:
                    if not reply.data:
                        self._problem(ctx, host, port, "rtsp-no-reply", f"{method}: connection closed without a reply")
                    return

    def _problem(self, ctx: ProbeContext, host: HostInfo, port: int, problem: str, detail: str) -> None:
        ctx.emit(Observation.make(self.name, ArtefactKind.RTSP_BANNER, ip=host.ip, mac=host.mac, port=port,
                                  raw=detail, problem=problem))


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    return [made] if isinstance(made, Observation) else list(made)
