"""camsweep's fingerprint database: rules that map observed fields to makers, brands and types.

``load()`` returns the packaged, validated data (cached); ``load(path)`` reads another directory.
The data format is described in ``fingerprints/README.md`` and in ``_db.py``.
"""

from __future__ import annotations

from ._db import (
    BRAND_ALONE_CHECK,
    DATA_DIR,
    EXTRACTABLE,
    RELATION_WORDS,
    WITH_EVIDENCE_CHECK,
    Brand,
    BrandRelation,
    Example,
    FingerprintDB,
    Maker,
    MakersData,
    OuiEntry,
    OuiTable,
    Rule,
    Source,
    is_wiki,
    iter_examples,
    load,
    load_directory,
    load_makers,
    normalise_name,
)
from ._verify import verify

__all__ = [
    "BRAND_ALONE_CHECK",
    "DATA_DIR",
    "EXTRACTABLE",
    "RELATION_WORDS",
    "WITH_EVIDENCE_CHECK",
    "Brand",
    "BrandRelation",
    "Example",
    "FingerprintDB",
    "Maker",
    "MakersData",
    "OuiEntry",
    "OuiTable",
    "Rule",
    "Source",
    "is_wiki",
    "iter_examples",
    "load",
    "load_directory",
    "load_makers",
    "normalise_name",
    "verify",
]
