"""CycloneDX 1.6 JSON: a hardware bill of materials of the devices found (cyclonedx-python-lib).

One component of type ``device`` per device, named by its model (else its type and address), with
the maker as the component's ``manufacturer`` where the verdict names one, and everything else as
``camsweep:*`` properties: manufacturer, brand, model, firmware, serial, each MAC and IP, status,
type, confidence, and when it was first and last seen. The BOM's serial number is the scan's UUID
(``urn:uuid:<scan_id>``), its timestamp the scan's start, and its metadata names camsweep (the
version that generated the BOM), the site, the operator, the policy, the data versions and the
audit manifest: scanner host, interface and addresses, capture file, the camsweep that ran the
scan, when the BOM was generated and the SHA-256 of the scan's evidence.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from camsweep import __version__
from camsweep.findings import Assessment, Finding
from camsweep.types import RESTRICTED_MAKER_NAMES

from .records import scan_facts

PREFIX = "camsweep:"


def _pairs(assessment: Assessment, finding: Finding) -> Iterator[tuple[str, str]]:
    first, last = assessment.seen_span(finding)
    yield "manufacturer", RESTRICTED_MAKER_NAMES.get(finding.maker, finding.maker)
    yield "brand", finding.brand or ""
    yield "model", finding.model or ""
    yield "firmware", finding.firmware or ""
    yield "serial", finding.serial or ""
    for mac in finding.location.macs:
        yield "mac", mac
    for ip in finding.location.ips:
        yield "ip", ip
    for name in finding.location.hostnames:
        yield "hostname", name
    yield "scope", finding.location.scope_text
    for port in finding.location.switch_ports:
        yield "switch_port", port
    yield "status", finding.status.value
    yield "device_type", finding.device_type
    yield "confidence_level", finding.confidence_level
    yield "confidence", f"{finding.confidence:.2f}"
    yield "first_seen", first.isoformat()
    yield "last_seen", last.isoformat()


def render(assessment: Assessment) -> str:
    # Imported here: the library is only needed by this format, and `camsweep scan` starts faster.
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.contact import OrganizationalEntity
    from cyclonedx.output.json import JsonV1Dot6

    result = assessment.result
    bom = Bom(serial_number=uuid.UUID(result.scan_id))
    bom.metadata.timestamp = result.started
    bom.metadata.tools.components.add(Component(type=ComponentType.APPLICATION, name="camsweep", version=__version__))
    facts = scan_facts(assessment)
    scan_properties = [
        ("scan_id", result.scan_id), ("site", result.site), ("operator", facts["operator"]),
        ("mode", result.mode), ("policy", assessment.policy_label),
        ("partial", "true" if result.partial else "false"),
        ("scanner_host", facts["scanner_host"]), ("interface", facts["interface"]),
        *(("interface_address", address) for address in facts["interface_addresses"]),
        ("capture", facts["capture"]), ("tool_version", facts["tool_version"]),
        ("scan_finished", facts["scan_finished"]), ("report_generated", facts["report_generated"]),
        ("evidence_sha256", facts["evidence_sha256"]),
        *sorted(assessment.data_versions.items()),
    ]
    bom.metadata.properties = [Property(name=PREFIX + k, value=v) for k, v in scan_properties if v]
    for finding in assessment.findings:
        loc = finding.location
        name = finding.model or f"{finding.device_type} at {loc.ip or loc.mac or finding.key}"
        maker = RESTRICTED_MAKER_NAMES.get(finding.maker)
        bom.components.add(
            Component(
                type=ComponentType.DEVICE,
                name=name,
                bom_ref=f"device:{finding.key}",
                manufacturer=OrganizationalEntity(name=maker) if maker else None,
                version=finding.firmware or None,
                properties=[Property(name=PREFIX + k, value=v) for k, v in _pairs(assessment, finding) if v],
            )
        )
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"
