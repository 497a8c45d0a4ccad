"""TLS certificate probe: a handshake without verification, the peer certificate recorded as is.

Old camera firmware speaks TLS 1.0 with weak ciphers, so every protocol version and security
level is allowed: we only read the certificate, nothing is sent over the connection.
"""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Iterable

from ..models import ArtefactKind, Observation
from ..protocols import tls as tls_codec
from . import HostInfo, Probe, ProbeContext, register
from ._tcp import Watchdog, connect
from .http import TLS_PORTS

log = logging.getLogger("camsweep")


def _context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pass
    return context


def peer_certificate(ip: str, port: int, *, connect_timeout: float, read_timeout: float,
                     total: float) -> tuple[bytes | None, str | None]:
    """(DER certificate, None) or (None, problem detail). Never raises for what the peer does."""
    sock = connect(ip, port, connect_timeout)
    if sock is None:
        return None, None
    with Watchdog(total) as dog:
        dog.watch(sock)
        sock.settimeout(min(read_timeout, total))
        try:
            with _context().wrap_socket(sock, server_hostname=None) as tls:
                der = tls.getpeercert(binary_form=True)
        except (TimeoutError, ssl.SSLError, OSError, ValueError) as exc:
            sock.close()
            if dog.fired or isinstance(exc, socket.timeout):
                return None, "timeout: no complete TLS handshake in time"
            return None, f"handshake failed: {exc}"
    sock.close()
    return (der, None) if der else (None, "no certificate presented")


@register
class TlsProbe(Probe):
    spec = tls_codec.SPEC
    description = "TLS handshake (no verification) on open TLS ports; records the certificate"

    def probe_host(self, ctx: ProbeContext, host: HostInfo) -> None:
        cfg = self.config
        for port in sorted(p for p in host.open_ports if p in TLS_PORTS):
            if ctx.cancelled.is_set():
                return
            der, detail = peer_certificate(host.ip, port, connect_timeout=cfg.connect_timeout,
                                           read_timeout=cfg.read_timeout, total=cfg.request_timeout)
            if der is None:
                if detail:
                    problem = "tls-timeout" if detail.startswith("timeout") else "tls-error"
                    ctx.emit(Observation.make(self.name, ArtefactKind.TLS_CERTIFICATE, ip=host.ip, mac=host.mac,
                                              port=port, raw=detail, problem=problem))
                continue
            made: Observation | list[Observation]
            try:
                made = tls_codec.from_der(der, port=port, ip=host.ip, mac=host.mac, probe=self.name)
            except Exception as exc:  # a codec bug must not end the scan
                log.debug("tls: codec failed on %s:%d: %s", host.ip, port, exc)
                made = [Observation.make(self.name, ArtefactKind.TLS_CERTIFICATE, ip=host.ip, port=port,
                                         raw=der.hex(), problem="tls-unparsed")]
            for observation in _as_list(made):
                ctx.emit(observation)


def _as_list(made: Observation | Iterable[Observation] | None) -> list[Observation]:
    if made is None:
        return []
    return [made] if isinstance(made, Observation) else list(made)
