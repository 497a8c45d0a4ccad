"""Make device-supplied text safe for a terminal."""

from __future__ import annotations

import logging
import re

from camsweep.types import RESTRICTED_MAKER_NAMES

MADE_BY = "/".join(RESTRICTED_MAKER_NAMES.values()) + "-made"
"""How the reports name devices made by a restricted maker: "Hikvision/Dahua-made"."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""C0/C1 controls (ESC, CSI 0x9b, CR, BS...), bidi marks/overrides/isolates, lone surrogates."""
_SPACE = re.compile(r"[\t\n\u2028\u2029]")
"""Line and column breaks: one space, so a value stays on its row."""


def clean(value: object, limit: int = 80) -> str:
    """Strip control characters (ANSI escapes, bidi overrides) and cut long values."""
    text = _SPACE.sub(" ", _CONTROL.sub("?", str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]|\r(?!\n)"
)


def for_terminal(text: str) -> str:
    """Rendered output made safe to print as a whole: what ``clean`` removes from values, except
    the line breaks, tabs and CRLF line ends (CSV) that the output's own layout uses.

    The renderers clean every device value; this is the net under them for any value a renderer
    forgets (a saved scan can put device text in any field), so nothing on stdout can drive the
    terminal, reorder its text or fail to encode.
    """
    return _TERMINAL_UNSAFE.sub("?", text)


class Styled(str):
    """Text whose every character went through ``for_terminal``, except the SGR colour sequences
    ``reports.terminal.to_text`` added around it: safe to print as it is (``camsweep.cli.echo``)."""


_LOG_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def escape_controls(text: str) -> str:
    """Control characters shown as visible escapes (``\\x1b``, ``\\n``): for log lines.

    Log messages quote device text (URLs, parser errors); a newline there would forge a log
    line and an escape sequence would drive the terminal or the mail reader of a cron job.
    """
    return _LOG_UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text)


class SafeLogFormatter(logging.Formatter):
    """A logging formatter whose message part has no raw control characters (tracebacks are kept)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


OUTSIDE_MARK = " [outside targets]"
"""Beside the address of a device outside the targets in the tables (the full wording,
``OUTSIDE_TARGETS``, is in the line under the table and in the device's notes)."""


def place(ip: str | None, mac: str | None, hostnames: tuple[str, ...] | list[str], outside: bool = False,
          switch_ports: tuple[str, ...] = ()) -> str:
    """The IP column: the IP, or for what has neither IP nor MAC (a register row of ``camsweep
    check``) its name, so every row of a table says which line it came from. A device outside
    the targets is marked (one answering from 0.0.0.0 has no IP: it is known by its MAC); one
    known only from a switch's forwarding table (``--snmp``) shows the port it was seen on."""
    if outside:
        return (ip or "0.0.0.0") + OUTSIDE_MARK
    if ip or mac:
        return ip or (f"via {switch_ports[0]}" if switch_ports else "")
    return hostnames[0] if hostnames else ""
