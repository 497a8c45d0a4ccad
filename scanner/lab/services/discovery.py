"""UDP discovery responders: WS-Discovery, Hikvision SADP, Dahua DHIP, SSDP.

Each answers unicast to the sender, whether the request came by multicast, broadcast or unicast;
a stray device (segment S, outside segment A's subnet) answers SADP and DHIP to the group.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import struct
import uuid
from collections.abc import Mapping
from typing import Any

from ..templates import fill, new_message_id

log = logging.getLogger("camsweep.lab")

WSD_GROUP, WSD_PORT = "239.255.255.250", 3702
SADP_GROUP, SADP_PORT = "239.255.255.250", 37020
DHIP_GROUP, DHIP_PORT = "239.255.255.251", 37810
SSDP_GROUP, SSDP_PORT = "239.255.255.250", 1900

_MESSAGE_ID = re.compile(rb"<(?:[\w-]+:)?MessageID[^>]*>\s*([^<\s]+)\s*<", re.DOTALL)
_SADP_UUID = re.compile(rb"<Uuid>\s*([^<\s]*)\s*</Uuid>", re.DOTALL)
_SSDP_ST = re.compile(rb"^ST:[ \t]*(.*?)\r?$", re.MULTILINE | re.IGNORECASE)


def dhip_frame(payload: bytes) -> bytes:
    """The 32-byte DHIP header (eight little-endian uint32, ``DHIP`` magic) + payload."""
    return struct.pack("<I4sIIIIII", 0x20, b"DHIP", 0, 0, len(payload), 0, len(payload), 0) + payload


class _Responder(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.answer_to: tuple[str, int] | None = None
        """Where answers go instead of the sender: a stray answers to its maker's group (SADP,
        DHIP), as a unit on another subnet does (the EZVIZ capture in issue 15)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def reply_to(self, data: bytes) -> bytes | None:
        raise NotImplementedError

    def answers_to(self, data: bytes) -> list[bytes]:
        """Every datagram to send back (one, unless a hostile profile floods)."""
        answer = self.reply_to(data)
        return [] if answer is None else [answer]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            answers = self.answers_to(data)
        except Exception:  # a malformed probe must never stop the emulator
            log.debug("discovery: cannot answer %r", data[:80], exc_info=True)
            return
        self._send(answers, self.answer_to or addr)

    def _send(self, answers: list[bytes], addr: tuple[str, int]) -> None:
        """Send a few answers now and the rest on later turns of the loop: one device's flood must
        not hold up every other emulated device (they share this loop)."""
        for answer in answers[:SEND_CHUNK]:
            if self.transport is not None:
                self.transport.sendto(answer, addr)
        if len(answers) > SEND_CHUNK:
            asyncio.get_running_loop().call_soon(self._send, answers[SEND_CHUNK:], addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("discovery: %s", exc)


SEND_CHUNK = 100
"""Datagrams a responder sends per turn of the emulator's loop."""


class WsdResponder(_Responder):
    def __init__(self, config: Mapping[str, str], variables: Mapping[str, str]) -> None:
        super().__init__()
        self.config, self.variables = config, variables
        # A flood's ProbeMatches, filled once but for the ids each Probe gives them: the first
        # keeps the device's endpoint UUID, the others get fresh ones.
        count = int(config.get("matches", 1))
        self._flood = [fill(config["probe_match"], {
            **variables, "uuid": variables["device_uuid"] if index == 0 else str(uuid.uuid4()),
        }) for index in range(count)] if count > 1 else []

    def answers_to(self, data: bytes) -> list[bytes]:
        """The ProbeMatch, or ``matches`` of them, all but the first with a fresh endpoint UUID (a
        hostile flood)."""
        if b"Probe" not in data or b"ProbeMatches" in data or b"Hello" in data:
            return []
        match = _MESSAGE_ID.search(data)
        relates_to = match.group(1).decode("utf-8", "replace") if match else ""
        if self._flood:
            return [fill(text, {"relates_to": relates_to, "message_id": new_message_id()}).encode("utf-8")
                    for text in self._flood]
        values = {**self.variables, "message_id": new_message_id(), "relates_to": relates_to,
                  "uuid": self.variables["device_uuid"]}
        return [fill(self.config["probe_match"], values).encode("utf-8")]

    def hello(self) -> bytes | None:
        if "hello" not in self.config:
            return None
        values = {**self.variables, "message_id": new_message_id(), "relates_to": "",
                  "uuid": self.variables["device_uuid"]}
        return fill(self.config["hello"], values).encode("utf-8")


class SadpResponder(_Responder):
    def __init__(self, config: Mapping[str, str], variables: Mapping[str, str]) -> None:
        super().__init__()
        self.config, self.variables = config, variables

    def reply_to(self, data: bytes) -> bytes | None:
        if b"<Probe>" not in data or b"inquiry" not in data:
            return None
        match = _SADP_UUID.search(data)
        probe_uuid = match.group(1).decode("utf-8", "replace") if match else ""
        return fill(self.config["reply"], {**self.variables, "uuid": probe_uuid}).encode("utf-8")


def _fill_json(value: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, variables)
    if isinstance(value, dict):
        return {k: _fill_json(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_json(v, variables) for v in value]
    return value


class DhipResponder(_Responder):
    def __init__(self, config: Mapping[str, Any], variables: Mapping[str, str]) -> None:
        super().__init__()
        if "raw_reply_hex" in config:
            self.answer = bytes.fromhex(config["raw_reply_hex"])
        else:
            reply = config["reply"]
            text = fill(reply, variables) if isinstance(reply, str) else json.dumps(
                _fill_json(reply, variables), separators=(",", ":"))
            self.answer = dhip_frame(text.encode("utf-8") + b"\n")

    def reply_to(self, data: bytes) -> bytes | None:
        if len(data) < 32 or data[4:8] != b"DHIP" or b"DHDiscover.search" not in data:
            return None
        return self.answer


class SsdpResponder(_Responder):
    def __init__(self, config: Mapping[str, Any], variables: Mapping[str, str], http_port: int) -> None:
        super().__init__()
        self.config = config
        self.variables = {**variables, "port": str(http_port)}

    def reply_to(self, data: bytes) -> bytes | None:
        if not data.startswith(b"M-SEARCH"):
            return None
        match = _SSDP_ST.search(data)
        wanted = match.group(1).decode("utf-8", "replace").strip() if match else ""
        st = self.config["st"]
        if wanted not in ("ssdp:all", "upnp:rootdevice", st):
            return None
        answer_st = st if wanted == "ssdp:all" else wanted
        usn = fill(self.config.get("usn", "uuid:{device_uuid}::" + answer_st), self.variables)
        lines = ["HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=1800", "EXT:",
                 f"LOCATION: http://{self.variables['ip']}:{self.variables['port']}/description.xml",
                 f"SERVER: {fill(self.config['server'], self.variables)}", f"ST: {answer_st}", f"USN: {usn}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def description(self) -> bytes:
        return fill(self.config["description"], self.variables).encode("utf-8")
