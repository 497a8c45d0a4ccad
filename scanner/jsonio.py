"""camsweep's JSON, out and in: one writer every JSON/SQLite writer uses, and typed reading of saved files.

Writing: device text reaches every writer (a saved scan, a report, the inventory, the terminal)
and may hold anything a Python ``str`` can: a lone surrogate from a ``"\\ud800"`` escape in a
device's JSON cannot be encoded as UTF-8 at all, and C1 controls or bidi overrides drive a
terminal. :func:`dumps` writes those few code points as JSON ``\\uXXXX`` escapes, which is lossless
(``json.loads`` gives back the same string) and leaves the text valid UTF-8 and inert on a
terminal; every other character is written as UTF-8 (``ensure_ascii`` would make emoji six times
bigger in the inventory).

Reading: a saved scan is an untrusted file. :class:`Reader` reads one JSON object field by field,
checks each value's type and range, and raises :class:`~scanner.errors.InputFileError` naming the
place (``devices[2].device.observations[0].port``), so a malformed file is one line and exit 2.
"""

from __future__ import annotations

import enum
import json
import math
import re
import sys
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, TypeVar

from .errors import InputFileError

_ESCAPED = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""DEL, C1 controls, bidi marks/overrides/isolates, line/paragraph separators, lone surrogates.
json.dumps already escapes C0 controls; outside strings its output is ASCII, so every match is
inside a string literal and may be replaced by its escape."""


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


_BLOCK = 4096
"""Encoder chunks joined at a time. With ``indent`` the encoder yields a few characters per chunk:
a report of 1,000 devices is millions of them, and holding them all in one list (as
``json.dumps`` does) cost several times the text itself at the scan's peak memory."""


def dumps(data: Any, *, indent: int | None = None, sort_keys: bool = False, end: str = "") -> str:
    """JSON text of ``data`` (then ``end``) that always encodes as UTF-8 and is safe to print (see
    module doc); the same text as ``json.dumps(..., ensure_ascii=False)`` with the escapes."""
    encoder = json.JSONEncoder(ensure_ascii=False, indent=indent, sort_keys=sort_keys)
    chunks = encoder.iterencode(data, _one_shot=True) if indent is not None else _streamed(encoder, data)
    text = ""
    pending: list[str] = []
    for chunk in chunks:
        pending.append(chunk)
        if len(pending) >= _BLOCK:
            # One text grown as it goes (CPython extends a string nothing else holds in place),
            # not blocks joined at the end, which held the text twice at the scan's memory peak.
            text += _ESCAPED.sub(_escape, "".join(pending))  # escapes are single characters
            pending.clear()
    text += _ESCAPED.sub(_escape, "".join(pending)) + end
    return text


_STREAM_DEPTH = 4
"""Container levels :func:`_streamed` walks itself (a report, its scan, the device list, one
device's entry); each value below is encoded whole by json's C encoder, which builds the chunks
of everything it is given in one list before returning: given a 1,000-device report, that list
was a second copy of the report's 36 MB of text at the scan's peak."""


def _streamed(encoder: json.JSONEncoder, value: Any, depth: int = 0) -> Iterator[str]:
    """``encoder.iterencode(value)`` (no indent) as a generator over the top container levels:
    the same text as ``json.dumps(value, ensure_ascii=False, sort_keys=...)``."""
    if depth < _STREAM_DEPTH and isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        items = sorted(value.items()) if encoder.sort_keys else value.items()
        yield "{"
        for index, (key, item) in enumerate(items):
            yield (", " if index else "") + encoder.encode(key) + ": "
            yield from _streamed(encoder, item, depth + 1)
        yield "}"
    elif depth < _STREAM_DEPTH and isinstance(value, (list, tuple)) and value:
        yield "["
        for index, item in enumerate(value):
            if index:
                yield ", "
            yield from _streamed(encoder, item, depth + 1)
        yield "]"
    else:
        yield encoder.encode(value)


def loads(text: str) -> Any:
    """``json.loads`` whose every failure is a ValueError with a message for the user: bad syntax,
    a whole number too long to be anything camsweep reads, nesting too deep for the parser."""
    try:
        return json.loads(text, parse_int=_whole_number)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _whole_number(digits: str) -> int:
    if len(digits) > 40:  # int() would refuse past 4300 digits with advice meant for programmers
        raise ValueError(f"a whole number of {len(digits)} digits")
    return int(digits)


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def quote(value: object, limit: int = 40) -> str:
    """A short printable quotation of a bad value (it is file content: never echoed raw)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Largest input file read (saved scans, short-form observations)."""


def read_stdin() -> str:
    """Standard input as text, with the same size bound and errors as a file (``-``)."""
    return _decoded("-", sys.stdin.buffer.read(MAX_INPUT_BYTES + 1))


def read_text(path: str, stdin_text: str | None = None) -> str:
    """Read an input file (``-``: ``stdin_text``) with a size bound and a clear error."""
    if path == "-":
        if stdin_text is None:
            raise InputFileError("-: no input on stdin")
        return stdin_text
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _decoded(path, data)


def _decoded(path: str, data: bytes) -> str:
    if len(data) > MAX_INPUT_BYTES:
        raise InputFileError(f"{path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None


_MISSING = object()
E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


class Reader:
    """One JSON object of an untrusted file, read with each field's type checked.

    A missing or ``null`` optional field gives its default; a missing or ``null`` list or object
    is empty; anything else of the wrong type or out of range raises InputFileError naming where.
    """

    def __init__(self, data: object, where: str = "") -> None:
        if not isinstance(data, Mapping):
            raise InputFileError(f"{where or 'top level'}: expected an object, got {type_name(data)}")
        self.data: Mapping[str, Any] = data
        self.where = where

    def at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.where}[{key}]"
        return f"{self.where}.{key}" if self.where else key

    def bad(self, key: str | int, problem: str) -> InputFileError:
        return InputFileError(f"{self.at(key)}: {problem}")

    def _value(self, key: str, default: Any) -> Any:
        value = self.data.get(key)
        if value is None:
            if default is _MISSING:
                raise self.bad(key, "missing" if key not in self.data else "must not be null")
            return default
        return value

    # -- scalars

    def text(self, key: str, default: Any = _MISSING) -> str:
        value = self._value(key, default)
        if not isinstance(value, str):
            raise self.bad(key, f"expected a string, got {type_name(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key, None) if self.data.get(key) is not None else None

    def converted(self, key: str, convert: Callable[[str], T | None], what: str) -> T | None:
        """An optional string field passed through ``convert`` (e.g. ``normalize_ip``), which
        returns None for a value that is not ``what``."""
        value = self.opt_text(key)
        if value is None:
            return None
        result = convert(value)
        if result is None:
            raise self.bad(key, f"{quote(value)} is not {what}")
        return result

    def integer(self, key: str, low: int, high: int, default: Any = _MISSING) -> int:
        value = self._value(key, default)
        return _integer(value, low, high, self.at(key))

    def opt_integer(self, key: str, low: int, high: int) -> int | None:
        return self.integer(key, low, high) if self.data.get(key) is not None else None

    def number(self, key: str, low: float, high: float, default: Any = _MISSING) -> float:
        value = self._value(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.bad(key, f"expected a number, got {type_name(value)}")
        if not (math.isfinite(value) and low <= value <= high):  # 1e999 is read as inf
            raise self.bad(key, f"{quote(value)} is not a number from {low} to {high}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self._value(key, default)
        if not isinstance(value, bool):
            raise self.bad(key, f"expected true or false, got {type_name(value)}")
        return value

    def choice(self, key: str, cls: type[E], default: Any = _MISSING) -> E:
        value = self._value(key, default)
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(str(m.value) for m in cls)  # type: ignore[attr-defined]
            raise self.bad(key, f"{quote(value)} is not one of {allowed}") from None

    def moment(self, key: str) -> datetime:
        """An ISO 8601 time; one without a UTC offset is taken as UTC (camsweep writes offsets)."""
        value = self.text(key)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.bad(key, f"{quote(value)} is not an ISO 8601 time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    # -- collections

    def _list(self, key: str) -> list[Any]:
        value = self._value(key, [])
        if not isinstance(value, (list, tuple)):  # tuples: documents built in Python
            raise self.bad(key, f"expected a list, got {type_name(value)}")
        return value

    def texts(self, key: str, convert: Callable[[str], str | None] | None = None, what: str = "") -> tuple[str, ...]:
        out = []
        for index, value in enumerate(self._list(key)):
            where = f"{self.at(key)}[{index}]"
            if not isinstance(value, str):
                raise InputFileError(f"{where}: expected a string, got {type_name(value)}")
            if convert is not None:
                converted = convert(value)
                if converted is None:
                    raise InputFileError(f"{where}: {quote(value)} is not {what}")
                value = converted
            out.append(value)
        return tuple(out)

    def integers(self, key: str, low: int, high: int) -> tuple[int, ...]:
        return tuple(_integer(v, low, high, f"{self.at(key)}[{i}]") for i, v in enumerate(self._list(key)))

    def text_or_object(self, key: str) -> str | Mapping[str, Any] | None:
        """A field given either as text or as an object (a reply raw or already decoded); None if missing."""
        value = self.data.get(key)
        if value is None or isinstance(value, (str, Mapping)):
            return value
        raise self.bad(key, f"expected an object or a string, got {type_name(value)}")

    def text_map(self, key: str) -> dict[str, str]:
        value = self._value(key, {})
        if not isinstance(value, Mapping):
            raise self.bad(key, f"expected an object, got {type_name(value)}")
        for name, item in value.items():
            if not isinstance(item, str):
                raise InputFileError(f"{self.at(key)}[{quote(name)}]: expected a string, got {type_name(item)}")
        return dict(value)

    def child(self, key: str) -> "Reader":
        return Reader(self._value(key, _MISSING), self.at(key))

    def children(self, key: str) -> Iterator["Reader"]:
        for index, value in enumerate(self._list(key)):
            yield Reader(value, f"{self.at(key)}[{index}]")


def _integer(value: object, low: int, high: int, where: str) -> int:
    if isinstance(value, float):  # 80.0 and 1e999 (read as inf) are refused
        raise InputFileError(f"{where}: {quote(value)} is not a whole number")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputFileError(f"{where}: expected a whole number, got {type_name(value)}")
    if not low <= value <= high:
        raise InputFileError(f"{where}: {quote(value)} is not from {low} to {high}")
    return value
