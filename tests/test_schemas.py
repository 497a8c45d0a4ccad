"""The JSON Schemas camsweep ships (camsweep/schemas/) are valid, match the code's vocabularies,
reject what camsweep never writes, and are documented in the README."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from camsweep import schemas
from camsweep.findings import Status
from camsweep.models import ArtefactKind, DeviceType, Manufacturer, Tier
from camsweep.restrictions import KevState

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", schemas.NAMES)
def test_each_schema_is_a_valid_draft_2020_12_schema(name):
    schema = schemas.load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"urn:camsweep:schema:{name}:1"
    assert (ROOT / "scanner" / "schemas" / f"{name}.schema.json").is_file()


def test_enumerations_are_the_codes_own():
    scan, report = schemas.load("scan-result")["$defs"], schemas.load("report")["$defs"]
    values = lambda e: [m.value for m in e]
    assert scan["observation"]["properties"]["kind"]["enum"] == values(ArtefactKind)
    assert scan["rule_hit"]["properties"]["tier"]["enum"] == values(Tier)
    assert scan["verdict"]["properties"]["manufacturer"]["enum"] == values(Manufacturer)
    assert scan["verdict"]["properties"]["device_type"]["enum"] == values(DeviceType)
    fields = report["finding_fields"]["properties"]
    assert fields["status"]["enum"] == values(Status)
    assert report["kev_match"]["properties"]["state"]["enum"] == values(KevState)


def test_what_camsweep_never_writes_is_refused():
    from tests.test_findings import sample_result

    good = json.loads(json.dumps(sample_result().to_dict()))
    schemas.validate(good, "scan-result")
    for broken in ({**good, "extra": 1}, {**good, "schema_version": 2}, {**good, "scan_id": "not-a-uuid"},
                   {k: v for k, v in good.items() if k != "devices"}):
        with pytest.raises(jsonschema.ValidationError):
            schemas.validate(broken, "scan-result")


def test_unknown_schema_name():
    with pytest.raises(KeyError, match="no camsweep schema 'nope'"):
        schemas.load("nope")


def test_readme_documents_every_schema():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in schemas.NAMES:
        assert f"{name}.schema.json" in readme, name
