"""MAC OUI lookups: exact IEEE organisation names, curated prefixes, traps and local MACs."""

from __future__ import annotations

import netaddr
import pytest

from camsweep import fingerprints
from camsweep import oui
from camsweep.verdicts import load_fingerprints

DB = load_fingerprints()


@pytest.mark.parametrize(
    ("mac", "entry_id", "maker", "brand"),
    [
        ("58:50:ed:1f:e3:85", "oui-hikvision", "hikvision", "Hikvision"),  # Haicam DS-2CD2385G1-I
        ("a0:ff:0c:00:00:01", "oui-hikvision", "hikvision", "Hikvision"),  # EZVIZ units carry it too
        ("90:02:a9:00:00:01", "oui-dahua", "dahua", "Dahua"),
        ("f8:ce:07:00:00:01", "oui-dahua", "dahua", "Dahua"),  # registrant typo "TECHNOLOGYCO.,LTD"
        ("90:6a:94:00:00:01", "oui-huacheng", "dahua", "Imou"),  # lower-case registrant spelling
        ("20:bb:bc:00:00:01", "oui-ezviz", "hikvision", "EZVIZ"),
        ("a0:60:32:00:00:01", "oui-amcrest", None, "Amcrest"),  # brand only: relabeller's own NIC block
        ("14:2f:fd:00:00:01", "oui-lts", None, "LTS"),
        ("ac:cc:8e:00:00:01", "oui-axis", "axis", "Axis"),
    ],
)
def test_exact_org_mapping(mac: str, entry_id: str, maker: str | None, brand: str) -> None:
    found = oui.lookup(mac, DB)
    assert found is not None
    assert (found.entry.id, found.entry.maker, found.entry.brand) == (entry_id, maker, brand)
    assert found.org == oui.ieee_org(mac)


@pytest.mark.parametrize(
    ("mac", "maker", "brand"),
    [
        ("0c:a6:4c:00:00:01", "hikvision", "EZVIZ"),  # registered after netaddr's snapshot
        ("a8:ca:87:00:00:01", "dahua", "Dahua"),  # Zhejiang Dahua Zhilian
        ("1c:4d:89:00:00:01", "dahua", "Imou"),
        ("c8:a7:02:00:00:01", "hikvision", "Hikvision"),
    ],
)
def test_curated_prefixes_cover_blocks_netaddr_lacks(mac: str, maker: str, brand: str) -> None:
    assert oui.ieee_org(mac) is None  # why the curated list exists
    found = oui.lookup(mac, DB)
    assert found is not None and (found.entry.maker, found.entry.brand) == (maker, brand)


@pytest.mark.parametrize(
    "mac",
    [
        "00:24:24:00:00:01",  # "Ace Axis Limited" is not Axis
        "00:09:dc:00:00:01",  # "Galaxis Technology AG" is not Axis
        "e4:28:a4:00:00:01",  # "Prama India Private Limited": relation unverified
        "64:25:5e:00:00:01",  # Observint, not LTS
        "02:50:ed:1f:e3:85",  # locally administered
        "5a:50:ed:1f:e3:85",  # locally administered twin of a Hikvision MAC
        "01:00:5e:00:00:fb",  # multicast
        "not-a-mac",
        None,
    ],
)
def test_traps_and_local_macs_match_nothing(mac: str | None) -> None:
    assert oui.lookup(mac, DB) is None


def test_traps_are_really_in_the_registry() -> None:
    """The counter-examples are real registry entries, so the exact-match rule is what saves us."""
    assert oui.ieee_org("00:24:24:00:00:01") == "Ace Axis Limited"
    assert oui.ieee_org("00:09:dc:00:00:01") == "Galaxis Technology AG"


def test_every_org_example_prefix_resolves_to_its_org() -> None:
    from camsweep.fingerprints._db import _read_toml  # the raw file keeps the example prefixes

    data = _read_toml(fingerprints.DATA_DIR / "oui.toml")
    checked = 0
    for item in data["org"]:
        for prefix in item.get("examples", ()):
            mac = ":".join([prefix[0:2], prefix[2:4], prefix[4:6], "00", "00", "01"]).lower()
            found = oui.lookup(mac, DB)
            assert found is not None and found.entry.id == item["id"], (prefix, item["id"])
            checked += 1
    assert checked >= 15


def test_prefix_entries_do_not_shadow_registered_blocks_of_other_makers() -> None:
    for entry in DB.oui.prefixes:
        org = oui.ieee_org(entry.prefix + "000001")
        assert org is None, f"{entry.prefix} is registered to {org}; use an [[org]] entry"


def test_snapshot_names_the_netaddr_data() -> None:
    text = oui.snapshot(DB)
    assert "netaddr" in text
    if netaddr.__version__ == DB.oui.netaddr_version:
        assert DB.oui.snapshot in text


def test_registry_read_once_gives_netaddrs_answers() -> None:
    """ieee_org reads netaddr's registry once (issue 19); it must answer as netaddr.EUI does."""
    from netaddr.eui import ieee

    checked = 0
    for value in sorted(ieee.OUI_INDEX)[::5]:
        mac = f"{value:06x}000001"
        want = str(netaddr.EUI(mac).oui.registration().org).strip()
        assert oui.ieee_org(mac) == want, mac
        checked += 1
    assert checked > 5_000
    assert oui.ieee_org("02:00:00:00:00:01") is None  # not registered (locally administered)
