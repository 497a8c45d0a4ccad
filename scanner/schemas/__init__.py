"""JSON Schemas (draft 2020-12) of the JSON documents camsweep writes, shipped with the package.

* ``scan-result``   a saved scan: ``identify --format json``, last-scan.json, the inventory's copy,
                    and the ``scan`` member of a report;
* ``report``        ``--format json`` of ``scan``, ``listen`` and ``report`` (findings + the scan);
* ``device-record`` one line of ``--format jsonl``.

The files are ``<name>.schema.json`` beside this module; their ``$id`` is
``urn:camsweep:schema:<name>:<version>``, and ``report`` and ``device-record`` refer to the others
by that id. ``validate(document, name)`` checks a decoded document (raises
``jsonschema.ValidationError``); tests run every JSON document they write through it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

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
