"""Findings judged on a real scan of the emulated lab (replies copied from real captures).

The same six kinds of unit as tests/test_findings.py -- a Hikvision camera, a Dahua NVR, OEM units
(Lorex, LTS) and sub-brand units (EZVIZ, Imou) -- as camsweep identifies them in the lab, judged
under every policy against the expectations written there from the instruments' texts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from camsweep import policy, restrictions
from camsweep.findings import Status, assess
from camsweep.models import ScanResult

from tests.test_findings import ALL_UNITS, DAY, EXPECTED, duties

LAB_UNITS = {
    "hik-camera": "198.18.0.21",  # hik-ds-2cd2385g1-i
    "dahua-nvr": "198.18.0.51",  # dahua-nvr2108-4ks3
    "lorex": "198.18.1.60",  # lorex-w461asc
    "lts": "198.18.1.40",  # lts-cmip3c42w-28m
    "ezviz": "198.18.0.42",  # ezviz-cs-h6c
    "imou": "198.18.0.62",  # imou-ranger2
}


@pytest.fixture(scope="module")
def scanned(lab_scan: dict[str, Any]) -> ScanResult:
    return ScanResult.from_dict(lab_scan["result"])


MANUAL = {"ezviz"}
"""The lab's EZVIZ CS-H6c shows only its local ports and a Hikvision OUI: an OUI alone is a manual
check (NIC vendors and OEMs share OUIs), and what the policy requires is said as what would follow."""


def test_the_lab_units_are_identified_as_their_makers(scanned: ScanResult) -> None:
    by_ip = {ip: item for item in scanned.devices for ip in item.device.ips}
    makers = {unit: by_ip[ip].verdict.manufacturer.value for unit, ip in LAB_UNITS.items()}
    assert makers == {"hik-camera": "hikvision", "dahua-nvr": "dahua", "lorex": "dahua", "lts": "hikvision",
                      "ezviz": "hikvision", "imou": "dahua"}


@pytest.mark.parametrize("spec", sorted(EXPECTED))
def test_each_policy_on_the_lab_units(scanned: ScanResult, spec: str) -> None:
    data = restrictions.load()
    assessment = assess(scanned, data, policy.select(data, spec), today=DAY)
    by_ip = {ip: f for f in assessment.findings for ip in f.location.ips}
    for unit in ALL_UNITS:
        finding = by_ip[LAB_UNITS[unit]]
        want = EXPECTED[spec].get(unit, set())
        if unit in MANUAL:
            assert finding.status is Status.MANUAL_CHECK and finding.actions == (), (spec, unit)
            assert duties(replace(finding, actions=finding.if_confirmed)) == want, (spec, unit)
            continue
        assert duties(finding) == want, (spec, unit, finding.brand, finding.why)
        assert finding.status is (Status.RESTRICTED if want else Status.LISTED), (spec, unit)


def test_no_policy_on_the_lab_scan_has_no_duty_or_deadline(scanned: ScanResult) -> None:
    data = restrictions.load()
    assessment = assess(scanned, data, policy.select(data, None), today=DAY)
    assert all(f.actions == () and f.deadlines == () and not f.overdue for f in assessment.findings)
    assert assessment.restricted_count == 0 and len(assessment.flagged) == assessment.counts()["listed"] > 6
