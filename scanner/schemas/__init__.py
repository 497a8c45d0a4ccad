"""JSON Schemas (draft 2020-12) of the JSON documents camsweep writes, shipped with the package.

* ``scan-result``   a saved scan: ``identify --format json``, last-scan.json, the inventory's copy,
                    and the ``scan`` member of a report;
* ``report``        ``--format json`` of ``scan``, ``listen`` and ``report`` (findings + the scan);
* ``device-record`` one line of ``--format jsonl``.

The files are ``<name>.schema.json`` beside this module; their ``$id`` is
``urn:camsweep:schema:<name>:<version>``, and ``report`` and ``device-record`` refer to the others
by that id. ``validate(document, name)`` checks a decoded document (raises
``jsonschema.ValidationError``); tests run every JSON document they write through it.

``check_data_file`` checks a data file camsweep reads (fingerprints, makers, restrictions, KEV)
against its own schema and turns the first error into a ``DataFileError`` naming the entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import DataFileError

NAMES = ("scan-result", "report", "device-record")


@cache
def load(name: str) -> dict[str, Any]:
    """The schema ``name`` (one of ``NAMES``) as a dict."""
    if name not in NAMES:
        raise KeyError(f"no camsweep schema {name!r} (known: {', '.join(NAMES)})")
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def validator(name: str) -> Any:
    """A jsonschema validator for ``name`` that resolves the other schemas by their ``$id``."""
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (load(other)["$id"], Resource.from_contents(load(other))) for other in NAMES
    )
    return jsonschema.Draft202012Validator(
        load(name), registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def validate(document: Any, name: str) -> None:
    """Raise ``jsonschema.ValidationError`` when ``document`` does not follow schema ``name``."""
    validator(name).validate(document)


def check_data_file(path: Path | str, data: Mapping[str, Any], schema: Mapping[str, Any],
                    list_keys: Sequence[str] = ()) -> None:
    """Raise ``DataFileError`` for the first way ``data`` (a decoded data file) breaks ``schema``.

    The error names the entry: an item of one of the arrays ``list_keys`` by its ``id`` or
    ``name`` (else ``<key> #<n>``), a member of a top-level table as ``<table>.<member>``; the
    problem gives the path inside it."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(data),
                    key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return
    error = errors[0]
    where = list(error.absolute_path)
    entry: str | None = None
    if len(where) >= 2 and where[0] in list_keys and isinstance(where[1], int):
        item = data[where[0]][where[1]]
        named = (item.get("id") or item.get("name")) if isinstance(item, Mapping) else None
        entry = str(named or f"{where[0]} #{where[1] + 1}")
        where = where[2:]
    elif len(where) >= 2 and isinstance(data.get(str(where[0])), Mapping):
        entry = f"{where[0]}.{where[1]}"
        where = where[2:]
    location = ".".join(str(p) for p in where)
    message = ("unknown key: " if error.validator == "additionalProperties" else "") + error.message
    raise DataFileError(str(path), f"{location + ': ' if location else ''}{message}", entry=entry)
