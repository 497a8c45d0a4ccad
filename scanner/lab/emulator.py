"""The device emulator: ONE process serving every emulated device from one asyncio loop.

A socket belongs to the network namespace it was created in, so for each device the emulator
steps into the device's namespace (``setns``), opens that device's sockets (and its zeroconf
instance, attached to this loop), and steps back out. Between devices and after start-up the
process sits in the switch namespace (``cs-sw``), which has no addresses: nothing it does can
reach the root namespace.

mDNS: each device with ``[[mdns]]`` gets an ``AsyncZeroconf(interfaces=[its ip])`` built while the
thread is in the device's namespace and attached to this same loop -- no thread per device, and
every device can announce (measured: 31 zeroconf instances in a 250-device lab).

Run by ``camsweep.lab.Lab``: ``python3 -m camsweep.lab.emulator STATE_FILE``; prints ``READY`` on
stdout once every socket is open, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
import socket
import ssl
import struct
import sys
from typing import Any

from . import chatter
from .certs import certificate_files
from .netns import NETNS_DIR, STRAY_NETWORK, in_netns, setns
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
from .services.http import HttpServer, Request, build_response
from .services.onvif import PATH as ONVIF_PATH
from .services.onvif import OnvifService
from .services.rtsp import RtspServer, accept_only
from ..probes.arp import arp_request
from .templates import device_variables

log = logging.getLogger("camsweep.lab")


def _same(protocol: asyncio.DatagramProtocol) -> asyncio.DatagramProtocol:
    return protocol


def _tcp_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def _udp_socket(port: int, group: str | None, ip: str, broadcast: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if broadcast:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind(("0.0.0.0", port))
    if group:
        membership = struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton(ip))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
    sock.setblocking(False)
    return sock


GRATUITOUS_ARP_PERIOD = 1.0
"""Seconds between a stray's gratuitous ARPs ("I am 192.168.1.64"), as units send after boot or
an address change: what a scanner on the wire hears from a unit outside its subnet."""


def _gratuitous_arp(mac: str, ip: str) -> tuple[socket.socket, bytes]:
    """A packet socket on the device's eth0 and its gratuitous ARP frame (sender = target = ip)."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind(("eth0", 0x0806))
    sock.setblocking(False)
    return sock, arp_request(bytes.fromhex(mac.replace(":", "")), ip, ip)


async def _repeat(sock: socket.socket, frame: bytes) -> None:
    while True:
        try:
            sock.send(frame)
        except OSError as error:
            log.debug("lab: gratuitous ARP not sent: %s", error)
        await asyncio.sleep(GRATUITOUS_ARP_PERIOD)


class DeviceSockets:
    """Everything one device listens on, opened inside its namespace."""

    def __init__(self, device: dict[str, Any], plan: dict[str, Any]) -> None:
        profile = device["profile"]
        self.name = profile["name"]
        self.profile = profile
        self.ip = device["ip"]
        segment = profile["segment"]
        self.stray = segment == "S"
        network = {"A": plan["segment_a"], "B": plan["segment_b"]}.get(segment, str(STRAY_NETWORK))
        gateway = {"A": plan["router_a"], "B": plan["router_b"]}.get(segment, "")  # a stray has none
        self.variables = device_variables(profile["name"], profile["hostname"], profile["mac"], self.ip,
                                          network, gateway)
        self.tcp: list[tuple[socket.socket, Any, ssl.SSLContext | None]] = []
        self.udp: list[tuple[socket.socket, Any]] = []
        self.zeroconf: Any = None
        self.hello: tuple[socket.socket, bytes] | None = None
        self.mdns_infos: list[Any] = []
        self.dhcp: socket.socket | None = None
        self.arp: tuple[socket.socket, bytes] | None = None
        self.arp_task: asyncio.Future[None] | None = None

    def open(self, chatty: bool = False) -> None:
        """Create the sockets (call with the thread inside the device's namespace; no awaits)."""
        p, v = self.profile, self.variables
        if chatty and p.get("hostname"):
            self.dhcp = _udp_socket(68, None, self.ip, broadcast=True)
        http_servers: dict[int, HttpServer] = {}
        for config in p["http"]:
            context = None
            if config.get("tls"):
                cert, key = certificate_files(config.get("cert_subject") or f"CN={self.ip}", config.get("cert_issuer"))
                context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
                context.load_cert_chain(cert, key)
            server = HttpServer(config, v, p.get("base_dir", "."))
            http_servers[config["port"]] = server
            self.tcp.append((_tcp_socket(config["port"]), server.handle, context))

        def http_on(port: int) -> HttpServer:
            if port not in http_servers:  # a bare server just for ONVIF/UPnP
                http_servers[port] = HttpServer({"port": port}, v, p.get("base_dir", "."))
                self.tcp.append((_tcp_socket(port), http_servers[port].handle, None))
            return http_servers[port]

        if p.get("onvif"):
            plain = [c["port"] for c in p["http"] if not c.get("tls")]
            port = p["onvif"].get("port") or (plain[0] if plain else 80)
            http_on(port).extra[ONVIF_PATH] = OnvifService(p["onvif"], v, port).handle
        if p.get("ssdp"):
            plain = [c["port"] for c in p["http"] if not c.get("tls")]
            port = p["ssdp"].get("port") or (plain[0] if plain else 49152)
            responder = SsdpResponder(p["ssdp"], v, port)
            description = responder.description()

            async def serve_description(request: Request, body: bytes = description) -> bytes:
                return build_response(200, [("Content-Type", 'text/xml; charset="utf-8"')], body)

            http_on(port).extra["/description.xml"] = serve_description
            self.udp.append((_udp_socket(SSDP_PORT, SSDP_GROUP, self.ip), responder))
        if p.get("rtsp"):
            rtsp = RtspServer(p["rtsp"], v)
            self.tcp.append((_tcp_socket(p["rtsp"].get("port", 554)), rtsp.handle, None))
        bound = {sock.getsockname()[1] for sock, _, _ in self.tcp}
        for port in p.get("tcp_ports", []):
            if port not in bound:  # already open for ONVIF/UPnP: listed for completeness
                self.tcp.append((_tcp_socket(port), accept_only, None))
        if p.get("wsd"):
            wsd = WsdResponder(p["wsd"], v)
            sock = _udp_socket(WSD_PORT, WSD_GROUP, self.ip)
            self.udp.append((sock, wsd))
            hello = wsd.hello()
            if hello:
                self.hello = (sock, hello)
        if self.stray and self.ip != "0.0.0.0":
            self.arp = _gratuitous_arp(p["mac"], self.ip)
        if p.get("sadp"):
            sadp = SadpResponder(p["sadp"], v)
            sadp.answer_to = (SADP_GROUP, SADP_PORT) if self.stray else None
            self.udp.append((_udp_socket(SADP_PORT, SADP_GROUP, self.ip), sadp))
        if p.get("dhip"):
            dhip = DhipResponder(p["dhip"], v)
            dhip.answer_to = (DHIP_GROUP, DHIP_PORT) if self.stray else None
            self.udp.append((_udp_socket(DHIP_PORT, DHIP_GROUP, self.ip, broadcast=True), dhip))
        if p.get("mdns"):
            from zeroconf import IPVersion
            from zeroconf.asyncio import AsyncZeroconf
            # Attached to the running loop: its sockets are made here, in the device's namespace.
            self.zeroconf = AsyncZeroconf(interfaces=[self.ip], ip_version=IPVersion.V4Only)

    async def start(self, loop: asyncio.AbstractEventLoop) -> list[Any]:
        """Serve the opened sockets (namespace no longer matters: the sockets carry it)."""
        servers: list[Any] = []
        for sock, handler, context in self.tcp:
            servers.append(await asyncio.start_server(handler, sock=sock, ssl=context))
        for sock, responder in self.udp:
            await loop.create_datagram_endpoint(functools.partial(_same, responder), sock=sock)
        if self.arp:
            self.arp_task = asyncio.ensure_future(_repeat(*self.arp))
        if self.hello:
            sock, message = self.hello
            try:
                sock.sendto(message, (WSD_GROUP, WSD_PORT))
            except OSError as error:
                log.warning("lab: %s: WSD hello not sent: %s", self.name, error)
        return servers

    async def register_mdns(self) -> None:
        if self.zeroconf is None:
            return
        from zeroconf.asyncio import AsyncServiceInfo
        for service in self.profile["mdns"]:
            type_ = service["type"] if service["type"].endswith(".") else service["type"] + "."
            server = service.get("server") or f"{self.profile['hostname']}.local."
            instance = service["name"]
            if self.profile.get("clone_of"):
                # Real units differ in serial, so in instance and host name; clones of one profile
                # would all claim the same names. Number them as mDNS conflict renaming does.
                number = int(self.name.rsplit("-", 1)[-1]) + 1
                server = server.replace(".local.", f"-{number}.local.")
                instance = f"{instance} ({number})"
            info = AsyncServiceInfo(type_, f"{instance}.{type_}", addresses=[socket.inet_aton(self.ip)],
                                    port=service["port"], properties=service.get("txt", {}), server=server)
            task = await self.zeroconf.async_register_service(info, allow_name_change=True)
            await task
            self.mdns_infos.append(info)

    async def announce(self) -> None:
        """Chatty mode: one round of this device's announcements (scanner.lab.chatter)."""
        for responder, payload, destination in chatter.announcements([r for _, r in self.udp]):
            if responder.transport is not None:
                responder.transport.sendto(payload, destination)
        if self.dhcp is not None:
            try:
                self.dhcp.sendto(chatter.dhcp_request(self.profile["mac"], self.ip, self.profile["hostname"]),
                                 ("255.255.255.255", 67))
            except OSError as error:
                log.debug("lab: %s: DHCP request not sent: %s", self.name, error)
        for info in self.mdns_infos:
            await self.zeroconf.async_update_service(info)  # returns once queued; rebroadcasts go on in the loop


async def serve(state: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    devices: list[DeviceSockets] = []
    servers: list[Any] = []
    chatty = state.get("chatter")
    for entry in state["devices"]:
        device = DeviceSockets(entry, state["plan"])
        with in_netns(entry["namespace"]):
            device.open(chatty=bool(chatty))
        devices.append(device)
        servers += await device.start(loop)
    mdns = [d for d in devices if d.zeroconf is not None]
    results = await asyncio.gather(*(d.register_mdns() for d in mdns), return_exceptions=True)
    for device, result in zip(mdns, results):
        if isinstance(result, BaseException):
            log.warning("lab: %s: mDNS registration failed: %s", device.name, result)
    tasks = _start_chatter(chatty, state, devices, stop) if chatty else []
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    sys.stdout.close()
    log.info("lab: emulating %d devices", len(devices))
    await stop.wait()
    for task in tasks:  # a client visit may be mid-request: do not wait for its timeouts
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        server.close()
    for device in devices:
        if device.arp_task is not None:
            device.arp_task.cancel()
    for device in devices:
        if device.dhcp is not None:
            device.dhcp.close()
    await asyncio.gather(*(d.zeroconf.async_close() for d in mdns), return_exceptions=True)


def _start_chatter(config: dict[str, Any], state: dict[str, Any], devices: list[DeviceSockets],
                   stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """Chatty mode: per device, announcements and the client's visit, staggered over the period."""
    period = float(config["period"])
    client = chatter.Client(config["client_namespace"])
    tasks = []
    for index, (device, entry) in enumerate(zip(devices, state["devices"])):
        offset = period * index / max(1, len(devices))
        tasks.append(asyncio.create_task(chatter.every(period, offset, device.announce, stop)))
        visit = functools.partial(client.visit, device.ip, entry["profile"])
        tasks.append(asyncio.create_task(chatter.every(period, offset + period / 2, visit, stop)))
    log.info("lab: chatter every %g s from %d devices, client %s", period, len(devices), config["client_ip"])
    return tasks


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    with open(argv[1], encoding="utf-8") as handle:
        state = json.load(handle)
    # Park in the switch namespace (no addresses) before anything makes a socket.
    setns(f"{NETNS_DIR}/{state['switch_namespace']}")
    asyncio.run(serve(state))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
