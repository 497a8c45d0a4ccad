"""camsweep's fingerprint database: rules that map observed fields to makers, brands and types.

``load()`` returns the packaged, validated data (cached); ``load(path)`` reads another directory.
The data format is described in ``fingerprints/README.md`` and in ``_db.py``.
"""

from __future__ import annotations

from ._db import (
    DATA_DIR,
    EXTRACTABLE,
    Brand,
    Example,
    FingerprintDB,
    Maker,
    OuiEntry,
    OuiTable,
    Rule,
    iter_examples,
    load,
    load_directory,
    normalise_name,
)
from ._verify import verify

__all__ = [
    "DATA_DIR",
    "EXTRACTABLE",
    "Brand",
    "Example",
    "FingerprintDB",
    "Maker",
    "OuiEntry",
    "OuiTable",
    "Rule",
    "iter_examples",
    "load",
    "load_directory",
    "normalise_name",
    "verify",
]
