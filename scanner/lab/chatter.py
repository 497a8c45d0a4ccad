"""Chatty mode (``Lab(chatter=True)``, ``camsweep lab up --chatter``): the lab talks on its own.

Without it the lab only answers; passive discovery (``camsweep listen``, ``scan --pcap``) needs a
network where devices announce themselves and clients talk to them. Every ``period`` seconds:

* each device multicasts what it would announce on a real network -- see ``announcements()``
  for what real devices do and where the lab takes a shortcut;
* each device with a host name sends a DHCPREQUEST (rebinding: broadcast, from its own address,
  with option 12 host name and a parameter list) -- nobody answers, the lab has no DHCP server;
* a client host (namespace ``<prefix>client``, 198.18.0.3 on segment A, standing for an NVR/VMS)
  fetches each device's web pages, runs a TLS 1.2 handshake on each HTTPS port and sends RTSP
  OPTIONS + DESCRIBE, for devices on both segments (segment B through the router).

Devices are staggered over the period so a large lab does not burst. Everything runs on the
emulator's one event loop; client sockets are made inside the client namespace, so nothing can
leave the lab. In chatty mode segment A's bridge learns no addresses and floods every frame to
every port: the scanner's port behaves like a switch mirror (SPAN) port, which is where a passive
sensor sits on a real network.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import socket
import ssl
import struct
import uuid
from typing import Any

from .netns import in_netns
from .services.discovery import (
    DHIP_GROUP,
    DHIP_PORT,
    SADP_GROUP,
    SADP_PORT,
    SSDP_GROUP,
    SSDP_PORT,
    WSD_GROUP,
    WSD_PORT,
    DhipResponder,
    SadpResponder,
    SsdpResponder,
    WsdResponder,
)
from .templates import fill, new_message_id

log = logging.getLogger("camsweep.lab")

DEFAULT_PERIOD = 5.0
CLIENT_TIMEOUT = 5.0
CLIENT_READ_LIMIT = 256 * 1024
CLIENT_CONCURRENCY = 16
MAX_PATHS_PER_PORT = 4
USER_AGENT = "camsweep-lab-client/1 (emulated NVR)"

_WSD_ACTION = "http://schemas.xmlsoap.org/ws/2005/04/discovery/"
_WSD_TO_GROUP = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"


def hello_from_probe_match(probe_match: str) -> str:
    """A WS-Discovery Hello carrying a ProbeMatch's content (for profiles without a captured Hello).

    A Hello is the ProbeMatch element renamed, outside any ProbeMatches wrapper, with the Hello
    action, addressed to the discovery group and relating to no request.
    """
    text = probe_match.replace(_WSD_ACTION + "ProbeMatches", _WSD_ACTION + "Hello")
    text = text.replace("http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous", _WSD_TO_GROUP)
    text = re.sub(r"<([\w-]+:)?RelatesTo\b[^>]*>.*?</\1?RelatesTo>", "", text, flags=re.DOTALL)
    text = re.sub(r"<(/?)([\w-]+:)?ProbeMatches\b[^>]*>", "", text)
    return re.sub(r"<(/?)([\w-]+:)?ProbeMatch\b", lambda m: f"<{m.group(1)}{m.group(2) or ''}Hello", text)


def ssdp_notify(responder: SsdpResponder) -> bytes:
    """``NOTIFY * ssdp:alive`` for the device's root device, as UPnP devices multicast it."""
    variables, config = responder.variables, responder.config
    nt = config["st"]
    usn = fill(config.get("usn", "uuid:{device_uuid}::" + nt), variables)
    lines = ["NOTIFY * HTTP/1.1", f"HOST: {SSDP_GROUP}:{SSDP_PORT}", "CACHE-CONTROL: max-age=1800",
             f"LOCATION: http://{variables['ip']}:{variables['port']}/description.xml", f"NT: {nt}",
             "NTS: ssdp:alive", f"SERVER: {fill(config['server'], variables)}", f"USN: {usn}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def announcements(responders: list[Any]) -> list[tuple[Any, bytes, tuple[str, int]]]:
    """(responder, payload, destination) for every announcement the device makes each period.

    What real devices do, and what the lab sends:

    * WS-Discovery (ONVIF): devices multicast a ``Hello`` when they join the network. The lab sends
      the profile's captured ``hello``, or one built from its ProbeMatch, every period.
    * SADP (Hikvision) and DHIP (Dahua): devices *answer* inquiries (``<Probe>`` /
      ``DHDiscover.search``), often to the multicast group, so every listener on the segment
      hears them whenever any tool searches. The lab stands in for "some tool searched" by
      sending the device's reply, unsolicited, to the group (SADP with a fresh ``Uuid``).
    * SSDP: UPnP devices multicast ``NOTIFY ssdp:alive`` periodically; the lab does the same.
    * mDNS: re-announced through zeroconf (``DeviceSockets.announce_mdns``), not listed here.
    """
    out: list[tuple[Any, bytes, tuple[str, int]]] = []
    for responder in responders:
        if isinstance(responder, WsdResponder):
            message = responder.hello() or _fresh_hello(responder)
            out.append((responder, message, (WSD_GROUP, WSD_PORT)))
        elif isinstance(responder, SadpResponder):
            values = {**responder.variables, "uuid": str(uuid.uuid4()).upper()}
            out.append((responder, fill(responder.config["reply"], values).encode("utf-8"), (SADP_GROUP, SADP_PORT)))
        elif isinstance(responder, DhipResponder):
            out.append((responder, responder.answer, (DHIP_GROUP, DHIP_PORT)))
        elif isinstance(responder, SsdpResponder):
            out.append((responder, ssdp_notify(responder), (SSDP_GROUP, SSDP_PORT)))
    return out


def _fresh_hello(responder: WsdResponder) -> bytes:
    values = {**responder.variables, "message_id": new_message_id(), "relates_to": "",
              "uuid": responder.variables["device_uuid"]}
    return fill(hello_from_probe_match(responder.config["probe_match"]), values).encode("utf-8")


def dhcp_request(mac: str, ip: str, hostname: str) -> bytes:
    """A DHCPREQUEST in REBINDING state (RFC 2131 4.3.2: ciaddr set, broadcast) naming the host."""
    chaddr = bytes.fromhex(mac.replace(":", ""))
    xid = int.from_bytes(chaddr[-4:], "big")
    header = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0, socket.inet_aton(ip),
                         bytes(4), bytes(4), bytes(4), chaddr, b"", b"")
    name = hostname.encode("ascii", "replace")[:63]
    options = (b"\x63\x82\x53\x63" + b"\x35\x01\x03" + b"\x3d\x07\x01" + chaddr
               + b"\x0c" + bytes([len(name)]) + name + b"\x37\x06\x01\x03\x06\x0c\x0f\x1c" + b"\xff")
    return header + options


class Client:
    """The lab's NVR/VMS: talks to every device from its own namespace, on the emulator's loop."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.limit = asyncio.Semaphore(CLIENT_CONCURRENCY)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.tls.check_hostname = False
        self.tls.verify_mode = ssl.CERT_NONE
        # TLS 1.2 as many NVRs speak to cameras; with 1.3 the certificate is encrypted on the wire.
        self.tls.maximum_version = ssl.TLSVersion.TLSv1_2

    async def _connect(self, ip: str, port: int, tls: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        with in_netns(self.namespace):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (ip, port))
            return await asyncio.open_connection(sock=sock, ssl=self.tls if tls else None,
                                                 server_hostname="" if tls else None)
        except BaseException:
            sock.close()
            raise

    async def http_get(self, ip: str, port: int, path: str, tls: bool = False) -> bytes:
        reader, writer = await self._connect(ip, port, tls)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {ip}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
                         "Connection: close\r\n\r\n".encode("latin-1"))
            await writer.drain()
            return await reader.read(CLIENT_READ_LIMIT)
        finally:
            writer.close()

    async def tls_handshake(self, ip: str, port: int) -> None:
        _, writer = await self._connect(ip, port, True)
        writer.close()

    async def rtsp(self, ip: str, port: int) -> None:
        reader, writer = await self._connect(ip, port, False)
        try:
            url = f"rtsp://{ip}:{port}/"
            for cseq, request in ((1, f"OPTIONS {url} RTSP/1.0\r\n"),
                                  (2, f"DESCRIBE {url} RTSP/1.0\r\nAccept: application/sdp\r\n")):
                writer.write(f"{request}CSeq: {cseq}\r\nUser-Agent: {USER_AGENT}\r\n\r\n".encode("latin-1"))
                await writer.drain()
                await reader.readuntil(b"\r\n\r\n")
        finally:
            writer.close()

    async def visit(self, ip: str, profile: dict[str, Any]) -> None:
        """One round of talking to one device; failures are logged, never raised."""
        jobs: list[tuple[str, Any]] = []  # (what, coroutine function): made only when run
        for config in profile.get("http", []):
            if config.get("behaviour"):  # hostile (drip/huge): a client would give up on it
                continue
            if config.get("tls"):
                jobs.append((f"tls {config['port']}", functools.partial(self.tls_handshake, ip, config["port"])))
                continue
            paths = ["/"] + [r["path"] for r in config.get("routes", []) if r.get("method", "GET").upper() == "GET"]
            for path in list(dict.fromkeys(paths))[:MAX_PATHS_PER_PORT]:
                jobs.append((f"http {config['port']}{path}", functools.partial(self.http_get, ip, config["port"], path)))
        if profile.get("rtsp"):
            jobs.append(("rtsp", functools.partial(self.rtsp, ip, profile["rtsp"].get("port", 554))))
        for what, job in jobs:
            async with self.limit:
                try:
                    await asyncio.wait_for(job(), CLIENT_TIMEOUT)
                except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ssl.SSLError, ValueError) as error:
                    log.debug("lab client: %s %s: %s", ip, what, error)


async def every(period: float, offset: float, action: Any, stop: asyncio.Event) -> None:
    """Run ``await action()`` every ``period`` seconds (first after ``offset``) until ``stop``."""
    delay = offset
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return
        except TimeoutError:
            pass
        try:
            await action()
        except Exception:  # one bad round must not end the chatter
            log.warning("lab chatter: round failed", exc_info=True)
        delay = period
