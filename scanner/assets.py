"""Read an asset register or purchase list for ``camsweep check``: one observation per row.

Accepted: CSV (a header row, names matched case-insensitively with common synonyms), XLSX (the
first sheet, the same header rules; openpyxl), JSON Lines (one object per row, the same names as
keys) and plain text (one model per line). Each row becomes an ``asset_record`` observation
(``scanner/protocols/asset.py``) placed by its MAC when it has one, else by ``file:line``, so the
normal verdict and findings path judges it and no row is dropped. A row that cannot be read (a
bad MAC, a JSON line that is not an object) is a note naming its line; the rest is still read.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from . import jsonio
from .errors import InputFileError
from .jsonio import MAX_INPUT_BYTES, read_text
from .models import Observation, normalize_ip, normalize_mac, normalize_oui
from .protocols.arp import mac_fields
from .protocols.asset import record

__all__ = ["Register", "load", "column_of"]

SYNONYMS: dict[str, tuple[str, ...]] = {
    "make": ("make", "manufacturer", "vendor", "brand", "maker", "mfr"),
    "model": ("model", "part number", "part no", "part", "sku", "model number", "product", "item"),
    "serial": ("serial", "serial number", "serial no", "sn", "s/n"),
    "mac": ("mac", "mac address", "macaddress", "hardware address"),
    "description": ("description", "desc", "name"),
    "location": ("location", "room", "place"),
    "site": ("site", "building", "campus"),
    "ip": ("ip", "ip address", "ipv4", "ipv4 address", "ip addr"),
}
"""Header names (compared lower-cased, spaces/underscores/dashes/dots collapsed) per column."""

MAX_ROWS = 100_000
"""Rows read per file: a register is bounded input like any other (a bigger one is cut, noted)."""


def column_of(header: str) -> str | None:
    """The register column a header names (``Part Number`` -> ``model``), or None."""
    name = re.sub(r"[\s_\-.#]+", " ", header.strip().lower()).strip()
    for column, names in SYNONYMS.items():
        if name in names:
            return column
    return None


@dataclass
class Register:
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def load(paths: Iterable[str], stdin_text: str | None = None) -> Register:
    """Every row of every file (``-`` = stdin), in order; unreadable rows become notes."""
    out = Register()
    for path in paths:
        rows = _xlsx_rows(path) if path.lower().endswith((".xlsx", ".xlsm")) else _text_rows(path, stdin_text)
        for count, (line, values) in enumerate(rows, 1):
            if count > MAX_ROWS:
                out.notes.append(f"{path}: only the first {MAX_ROWS} rows were read")
                break
            where = f"{os.path.basename(path)}:{line}"
            if isinstance(values, str):
                out.notes.append(f"{where}: row skipped: {values}")
                continue
            _row(where, values, out)
    return out


def _row(where: str, values: dict[str, str], out: Register) -> None:
    given = values.get("mac", "")
    mac = normalize_mac(given)
    oui = None if mac else normalize_oui(given)
    if given and not (mac or oui):
        out.notes.append(f"{where}: MAC {jsonio.quote(given)} is not a MAC address or prefix; row read without it")
    if values.get("ip") and not normalize_ip(values["ip"]):
        out.notes.append(f"{where}: IP {jsonio.quote(values['ip'])} is not an IP address; row read without it")
        values = {k: v for k, v in values.items() if k != "ip"}
    if not any(values.get(k) for k in ("make", "model", "serial", "mac", "description")):
        out.notes.append(f"{where}: row skipped: no make, model, serial, MAC or description")
        return
    extra = mac_fields(mac) if mac else {"mac.oui": oui} if oui else {}
    out.observations.append(record(where, values, mac=mac, extra=extra))


Rows = Iterator[tuple[int, "dict[str, str] | str"]]


def _text_rows(path: str, stdin_text: str | None) -> Rows:
    text = read_text(path, stdin_text)
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not lines:
        raise InputFileError(f"{path}: empty input")
    first = lines[0][1].lstrip("\ufeff").strip()
    if first.startswith("{"):
        return _jsonl_rows(lines)
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    header = [column_of(c) for c in next(csv.reader([first], dialect))]
    if _names_a_key_column(header):
        return _csv_rows(text.lstrip("\ufeff"), header, dialect)
    return ((n, {"model": line.strip()}) for n, line in lines)  # plain text: one model per line


def _names_a_key_column(header: list[str | None]) -> bool:
    """A header row names at least one column that can identify a unit (else: not a header)."""
    return any(c in ("make", "model", "serial", "mac") for c in header)


def _csv_rows(text: str, header: list[str | None], dialect: type[csv.Dialect]) -> Rows:
    reader = csv.reader(io.StringIO(text), dialect)
    next(reader)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader goes on with the next line: one bad row, not the file
            yield reader.line_num, f"not CSV: {exc}"
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield reader.line_num, f"{len(cells)} cells, the header has {len(header)}"
            continue
        yield reader.line_num, _values(header, cells)


def _values(header: list[str | None], cells: Iterable[object]) -> dict[str, str]:
    values: dict[str, str] = {}
    for column, cell in zip(header, cells):
        text = "" if cell is None else str(cell).strip()
        if column and text and column not in values:
            values[column] = text
    return values


def _jsonl_rows(lines: list[tuple[int, str]]) -> Rows:
    for n, line in lines:
        try:
            doc = jsonio.loads(line)
        except ValueError as exc:
            yield n, f"not valid JSON ({exc})"
            continue
        if not isinstance(doc, dict):
            yield n, f"expected a JSON object, got {jsonio.type_name(doc)}"
            continue
        header = [column_of(str(k)) for k in doc]
        yield n, _values(header, (v if isinstance(v, (str, int)) else None for v in doc.values()))


def _xlsx_rows(path: str) -> Rows:
    import zipfile

    from openpyxl import load_workbook  # reads the XML through defusedxml (a dependency): no entities

    try:
        with zipfile.ZipFile(path) as archive:  # a workbook is a zip: bound what it unpacks to, too
            unpacked = sum(member.file_size for member in archive.infolist())
        if os.path.getsize(path) > MAX_INPUT_BYTES or unpacked > MAX_INPUT_BYTES:
            raise InputFileError(f"{path}: larger than {MAX_INPUT_BYTES} bytes (packed or unpacked)")
        book = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputFileError(f"{path}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [column_of(str(c)) if c is not None else None for c in next(rows, ())]
        if not _names_a_key_column(header):
            raise InputFileError(f"{path}: the first row names no make, model, serial or MAC column")
        for n, cells in enumerate(rows, 2):
            if any(c is not None and str(c).strip() for c in cells):
                yield n, _values(header, cells)
    except InputFileError:
        raise
    except Exception as exc:  # openpyxl raises many types on a hostile sheet; any is one bad file
        raise InputFileError(f"{path}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    finally:
        book.close()
