"""RTSP responder: each method's reply is a template from the profile, ``{cseq}`` substituted."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import Any

from ..templates import fill

log = logging.getLogger("camsweep.lab")

_CSEQ = re.compile(rb"^CSeq:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)
_LENGTH = re.compile(rb"^Content-Length:[ \t]*(\d+)", re.MULTILINE | re.IGNORECASE)
_NOT_IMPLEMENTED = "RTSP/1.0 501 Not Implemented\r\nCSeq: {cseq}\r\n\r\n"


class RtspServer:
    def __init__(self, config: Mapping[str, Any], variables: Mapping[str, str]) -> None:
        self.config, self.variables = config, variables

    def reply_to(self, head: bytes) -> bytes:
        method = head.split(b" ", 1)[0].decode("latin-1").lower()
        match = _CSEQ.search(head)
        cseq = match.group(1).decode("latin-1") if match else "0"
        template = self.config.get(method) if method != "port" else None
        template = template or self.config.get("default", _NOT_IMPLEMENTED)
        return fill(template, {**self.variables, "cseq": cseq}).encode("utf-8")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30.0)
                length = _LENGTH.search(head)
                if length:
                    await reader.readexactly(min(int(length.group(1)), 65536))
                writer.write(self.reply_to(head))
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def accept_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A plain TCP port: accept, never answer, close when the peer does (or after 60 s)."""
    try:
        while await asyncio.wait_for(reader.read(4096), 60.0):
            pass
    except (TimeoutError, ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()
