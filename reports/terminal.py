"""Laying text out for a terminal: tables that fit a width, per-device blocks, colour.

A ``View`` says how the text will be read: ``width`` None means no limit (output piped to a file
or another program: one row per device, every value whole, greppable); a width means a terminal
of that many columns, where a table is used when it fits without cutting a value that matters
(model, firmware, instrument ids are never wrapped; longer texts wrap between words), else a
narrower set of columns, else one block per device. ``colour`` adds SGR colours to what needs
attention (restricted, overdue, manual check) and nothing else.

Every character of the output except the colours' own escape sequences goes through
``for_terminal`` on the way out (``to_text``), so device text can never reach the terminal raw,
whatever a renderer forgot; ``Styled`` marks text made that way for ``camsweep.cli.echo``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from .text import Styled, clean, for_terminal

GAP = 2
"""Spaces between two columns."""

RESTRICTED_STYLE = "red"
OVERDUE_STYLE = "bold red"
MANUAL_STYLE = "yellow"


@dataclass(frozen=True)
class View:
    """How a terminal report will be read (see the module docstring)."""

    width: int | None = None
    colour: bool = False
    notes: bool = True
    """Notes in the text; False when the caller prints them on stderr instead."""
    devices: bool = False
    """The device table first (``scan``, ``listen``, ``demo``), not only the remediation list."""
    all_hosts: bool = False
    """The device table lists every host, not only those with maker evidence."""


WORD = 32
"""Characters of one word of a device value shown at most on a terminal: a real model, firmware
or serial word is shorter, so only a hostile value (one 4 KB "word") is ever cut, and it cannot
force every table on the screen into blocks."""


def device_value(value: str | None, view: View, limit: int = 200) -> str:
    """A device-supplied value made safe (``clean``) and bounded for ``view``: ``limit``
    characters in all, and on a terminal no word longer than ``WORD``."""
    text = clean(value or "", limit)
    if view.width is None:
        return text
    return re.sub(r"\S{%d,}" % (WORD + 1), lambda m: m.group()[: WORD - 1] + "…", text)


@dataclass(frozen=True)
class Col:
    header: str
    wrap: bool = False
    """True: the value may wrap between words (a sentence); False: never cut (ids, model, firmware)."""


Cell = str | Text


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in re.findall(r"\S+", text)), default=0)


def fit(columns: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int | None) -> list[int] | None:
    """Column widths that fit ``width`` with no unwrappable value cut, or None when none do.

    Every column first gets its minimum (its widest value, or for a wrapping column its longest
    word); what is left goes to the wrapping columns in proportion to what they still want."""
    full = [max([cell_len(c.header)] + [cell_len(_plain(r[i])) for r in rows]) for i, c in enumerate(columns)]
    if width is None:
        return full
    least = [max([cell_len(c.header)] + [_longest_word(_plain(r[i])) for r in rows]) if c.wrap else full[i]
             for i, c in enumerate(columns)]
    room = width - GAP * (len(columns) - 1)
    if sum(full) <= room:
        return full
    if sum(least) > room:
        return None
    widths = list(least)
    spare = room - sum(least)
    wants = [f - m for f, m in zip(full, least)]
    total = sum(wants)
    for i, want in enumerate(wants):
        widths[i] += spare * want // total
    leftover = room - sum(widths)
    for i in sorted(range(len(wants)), key=lambda i: -wants[i]):
        if leftover <= 0:
            break
        if widths[i] < full[i]:
            widths[i] += 1
            leftover -= 1
    return widths


def table(columns: Sequence[Col], rows: Sequence[Sequence[Cell]], widths: Sequence[int],
          styles: Sequence[str | None] | None = None) -> Table:
    """A table with a dashed rule under the header, columns ``widths`` wide and ``GAP`` apart."""
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, GAP, 0, 0), show_header=True, header_style="")
    for column, w in zip(columns, widths):
        grid.add_column(Text(column.header), width=w, no_wrap=not column.wrap, overflow="fold")
    grid.add_row(*(Text("-" * w) for w in widths))
    for n, row in enumerate(rows):
        grid.add_row(*(c if isinstance(c, Text) else Text(c) for c in row), style=styles[n] if styles else None)
    return grid


def _lines(text: str, width: int) -> int:
    """Lines ``text`` takes wrapped between words at ``width`` (a longer word folds)."""
    lines, used = 1, 0
    for word in text.split():
        size = cell_len(word)
        if used and used + 1 + size <= width:
            used += 1 + size
            continue
        if used:
            lines += 1
        lines += (size - 1) // max(width, 1)
        used = (size - 1) % max(width, 1) + 1
    return lines


LABEL = 12
"""Width of a block's labels."""
INDENT = 3


Block = tuple[Cell, Sequence[tuple[str, Cell]]]
"""One device in block form: its head line and its ``(label, value)`` lines."""


def block(head: Cell, fields: Sequence[tuple[str, Cell]], width: int, style: str | None = None) -> Table:
    """One device as a head line and ``label  value`` lines, values wrapping between words."""
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(width=INDENT, no_wrap=True)
    grid.add_column(width=LABEL, no_wrap=True)
    grid.add_column(width=_value_width(width), overflow="fold")
    outer = Table.grid()
    outer.add_column(width=width, overflow="fold")
    outer.add_row(head if isinstance(head, Text) else Text(head), style=style)
    for label, value in fields:
        if _plain(value):
            grid.add_row("", Text(label), value if isinstance(value, Text) else Text(value))
    outer.add_row(grid)
    return outer


def _value_width(width: int) -> int:
    return max(8, width - INDENT - LABEL - 2)


def arrange(columns: Sequence[Col], rows: Sequence[Sequence[Cell]], view: View,
            choices: Iterable[Sequence[int]], blocks: Sequence[Block],
            styles: Sequence[str | None] | None = None) -> list[RenderableType]:
    """The rows as a table of one of ``choices`` of columns (indexes into ``columns``, widest
    first), or as ``blocks``, whichever fits ``view.width`` in the fewest lines (a tie goes to
    the wider table). Without a width: the first choice, one line per row."""
    best: tuple[int, list[RenderableType]] | None = None
    for chosen in choices:
        cols = [columns[i] for i in chosen]
        picked = [[row[i] for i in chosen] for row in rows]
        widths = fit(cols, picked, view.width)
        if widths is None:
            continue
        if view.width is None:
            return [table(cols, picked, widths, styles)]
        lines = 2 + sum(max(_lines(_plain(cell), w) if col.wrap else 1 for cell, col, w in zip(row, cols, widths))
                        for row in picked)
        if best is None or lines < best[0]:
            best = (lines, [table(cols, picked, widths, styles)])
    assert view.width is not None, "without a width every table fits"
    value_width = _value_width(view.width)
    lines = sum(_lines(_plain(head), view.width) + sum(_lines(_plain(v), value_width) for _, v in fields if _plain(v))
                for head, fields in blocks)
    if best is None or lines < best[0]:
        return [block(head, fields, view.width, styles[n] if styles else None) for n, (head, fields) in enumerate(blocks)]
    return best[1]


def to_text(parts: Iterable[RenderableType | str], view: View) -> str:
    """Render ``parts`` one after another (a str is one paragraph, wrapped at the view's width).

    Returns ``Styled`` text when the view has colour (SGR sequences around styled spans), plain
    text otherwise. Lines carry no trailing spaces."""
    console = Console(file=io.StringIO(), width=view.width or 1_000_000, color_system="standard" if view.colour else None,
                      force_terminal=view.colour, no_color=not view.colour, highlight=False, markup=False,
                      emoji=False, legacy_windows=False)
    out: list[str] = []
    for part in parts:
        renderable = Text(part) if isinstance(part, str) else part
        for line in console.render_lines(renderable, console.options, pad=False):
            segments = [(for_terminal(s.text), s.style) for s in line if not s.control]
            keep = len("".join(text for text, _ in segments).rstrip(" "))  # no trailing spaces
            pieces = []
            for text, style in segments:
                text, keep = text[:keep], keep - min(keep, len(text))
                if view.colour and style and text.strip():
                    text = style.render(text, color_system=ColorSystem.STANDARD)
                pieces.append(text)
            out.append("".join(pieces))
    text = "\n".join(out) + "\n"
    return Styled(text) if view.colour else text
