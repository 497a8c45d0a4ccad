"""Target parsing, public-range refusal and size bounds (no network: host names use a fake resolver)."""

from __future__ import annotations

import pytest

from camsweep.errors import UsageError
from camsweep.targets import expand, is_public, parse_target


def no_dns(name: str) -> list[str]:
    raise AssertionError(f"unexpected DNS lookup of {name}")


def fake_dns(name: str) -> list[str]:
    return {"cam.lab": ["198.18.0.10"], "two.lab": ["198.18.0.20", "198.18.0.21"]}.get(name, [])


def test_cidr_leaves_out_network_and_broadcast() -> None:
    targets = expand(["198.18.0.0/30"], resolve=no_dns)
    assert list(targets.hosts()) == ["198.18.0.1", "198.18.0.2"]
    assert targets.count == 2


def test_short_and_long_ranges() -> None:
    assert list(expand(["10.0.0.5-7"], resolve=no_dns).hosts()) == ["10.0.0.5", "10.0.0.6", "10.0.0.7"]
    long = expand(["10.0.0.254-10.0.1.1"], resolve=no_dns)
    assert list(long.hosts()) == ["10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"]


def test_single_host_and_host_name() -> None:
    targets = expand(["192.168.1.7", "two.lab"], resolve=fake_dns)
    assert list(targets.hosts()) == ["192.168.1.7", "198.18.0.20", "198.18.0.21"]
    assert targets.contains("198.18.0.21") and not targets.contains("198.18.0.22")


def test_overlapping_targets_are_scanned_once() -> None:
    targets = expand(["198.18.0.0/29", "198.18.0.3", "198.18.0.2-4"], resolve=no_dns)
    hosts = list(targets.hosts())
    assert hosts == sorted(set(hosts), key=lambda ip: int(ip.rsplit(".", 1)[1]))


@pytest.mark.parametrize("bad", ["198.18.0.0/33", "10.0.0.9-3", "300.1.1.1", "10.0.0.1-10.0.0.300", "a/b", "", "fe80::1"])
def test_unparseable_targets_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        expand([bad], resolve=fake_dns)


def test_unknown_host_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no IPv4 address"):
        parse_target("nowhere.lab", resolve=fake_dns)


@pytest.mark.parametrize("public", ["8.8.8.0/24", "1.1.1.1", "0.0.0.0/0", "10.0.0.0/7"])
def test_public_ranges_are_refused_unless_allowed(public: str) -> None:
    with pytest.raises(UsageError, match="--allow-public"):
        expand([public], resolve=no_dns, max_hosts=2**32)
    if public != "0.0.0.0/0":
        assert expand([public], allow_public=True, resolve=no_dns, max_hosts=2**32).count > 0


@pytest.mark.parametrize("private", ["10.1.2.0/24", "172.16.0.0/16", "192.168.0.0/24", "198.18.0.0/24",
                                     "100.64.0.0/24", "127.0.0.1", "169.254.1.0/24"])
def test_private_ranges_are_not_public(private: str) -> None:
    (net,) = parse_target(private, resolve=no_dns)
    assert not is_public(net)


def test_huge_range_is_refused_with_a_clear_error() -> None:
    with pytest.raises(UsageError, match="more than the limit"):
        expand(["10.0.0.0/8"], resolve=no_dns)
    assert expand(["10.0.0.0/16"], resolve=no_dns).count == 65534


def test_no_targets_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        expand([], resolve=no_dns)


@pytest.mark.parametrize("bad, message", [
    ("10.0.0.0/33", "target '10.0.0.0/33': prefix length 33 is over 32"),
    ("10.0.0.0/x", "target '10.0.0.0/x': prefix length 'x' is not a number"),
    ("10.0.0.300/24", "target '10.0.0.300/24': '10.0.0.300' is not an IPv4 address"),
    ("10.0.0.0/24,10.0.1.0/24", "several targets joined by commas; separate them with spaces"),
    ("cam.lab,two.lab", "several targets joined by commas"),
])
def test_bad_targets_say_precisely_what_is_wrong(bad: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        expand([bad], resolve=no_dns)
    assert message in str(caught.value)


def test_exclude_leaves_out_networks_ranges_and_hosts() -> None:
    targets = expand(["198.18.0.0/24", "198.18.1.0/30"], exclude=["198.18.0.0/25", "198.18.0.200-202", "cam.lab",
                                                                  "198.18.1.2"], resolve=fake_dns)
    hosts = list(targets.hosts())
    assert hosts == [f"198.18.0.{n}" for n in range(128, 255) if n not in (200, 201, 202)] + ["198.18.1.1"]
    assert targets.count == len(hosts) == 125
    assert targets.contains("198.18.0.130") and not targets.contains("198.18.0.5")
    assert not targets.contains("198.18.0.201") and not targets.contains("198.18.1.2")


def test_exclude_of_the_edges_of_a_subnet_counts_right() -> None:
    """A /24's network and broadcast addresses are never scanned: excluding them removes nothing."""
    targets = expand(["198.18.0.0/24"], exclude=["198.18.0.0", "198.18.0.255", "198.18.0.0/30"], resolve=no_dns)
    assert targets.count == len(list(targets.hosts())) == 251


def test_exclude_must_leave_something_and_parse() -> None:
    with pytest.raises(UsageError, match="--exclude leaves no address"):
        expand(["198.18.0.7"], exclude=["198.18.0.0/24"], resolve=no_dns)
    with pytest.raises(UsageError, match="--exclude '198.18.0.0/99': prefix length 99 is over 32"):
        expand(["198.18.0.7"], exclude=["198.18.0.0/99"], resolve=no_dns)


def test_exclude_brings_a_large_scope_under_the_limit() -> None:
    targets = expand(["10.0.0.0/15"], exclude=["10.1.0.0/16"], resolve=no_dns)
    assert targets.count == 65535  # 10.0.0.1-10.0.255.255: the /15's network address is never scanned


def test_target_file_reads_one_target_per_line_with_comments(tmp_path) -> None:
    from camsweep.config import read_target_file

    path = tmp_path / "hosts.txt"
    path.write_text("# north site\n198.18.0.0/30\n\n   \n198.18.1.5  # the NVR\n198.18.2.1-3 198.18.3.9\n")
    assert read_target_file(str(path)) == ("198.18.0.0/30", "198.18.1.5", "198.18.2.1-3", "198.18.3.9")
    path.write_text("# nothing here yet\n\n")
    with pytest.raises(UsageError, match="hosts.txt: the target file names no target"):
        read_target_file(str(path))
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="hosts.txt: cannot read the target file"):
        read_target_file(str(path))
