"""``python3 -m camsweep.protocols --markdown``: print the field-key table of fingerprints/README.md."""

from __future__ import annotations

import argparse

from . import field_table

parser = argparse.ArgumentParser(prog="python3 -m camsweep.protocols", description=__doc__.splitlines()[0])
parser.add_argument("--markdown", action="store_true", required=True, help="the field table as Markdown")
parser.parse_args()
print(field_table(), end="")
