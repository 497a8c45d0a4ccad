"""``camsweep check FILE...``: judge an asset register or purchase list, no network."""

from __future__ import annotations

from typing import Any

import click

from .. import assets
from ..config import Outputs
from ..jsonio import read_stdin
from ..verdicts import identify_result
from ._finish import check_outputs, finish_and_exit, output_options
from ._settings import given


@click.command("check")
@click.argument("files", nargs=-1, required=True)
@output_options
@click.pass_context
def command(ctx: click.Context, files: tuple[str, ...], **params: Any) -> None:
    """Check each row of an asset register or purchase list in FILES (``-`` reads stdin).

    FILES are CSV (a header row naming make/manufacturer/vendor/brand, model/part number/SKU,
    MAC, serial, IP, description, location, site; any case), XLSX (the first sheet, same header), JSON
    Lines with those keys, or plain text with one model per line. Every row is reported with its
    maker, brand, device type, confidence, the rules that matched and the findings under the
    policy; a row that cannot be decided is listed as unknown, a row that cannot be read is a note
    naming its line. Results are stored like a scan (mode ``check``); `camsweep diff` between a
    check and a scan lists the devices the register misses (rows matched by MAC, serial, or model
    and IP).
    """
    outputs = Outputs(**given(Outputs, ctx, params))
    check_outputs(outputs)
    stdin_text = read_stdin() if "-" in files else None
    register = assets.load(files, stdin_text=stdin_text)
    result = identify_result(register.observations, targets=files, mode="check", notes=register.notes)
    finish_and_exit(result, outputs)
