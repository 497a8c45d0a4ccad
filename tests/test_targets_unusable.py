"""Targets Python calls `is_private` but that are not hosts: refused, even with --allow-public."""

from __future__ import annotations

import pytest

from camsweep.errors import UsageError
from camsweep.targets import expand


def no_dns(name: str) -> list[str]:
    raise AssertionError("no DNS in this test")


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("255.255.255.255", "broadcast"),
        ("0.0.0.0", "this machine"),
        ("0.1.2.0/24", "this machine"),
        ("240.0.0.0/24", "reserved"),
        ("239.255.255.250", "multicast"),
        ("224.0.0.251", "multicast"),
        ("223.255.255.254-224.0.0.5", "multicast"),
    ],
)
@pytest.mark.parametrize("allow_public", [False, True])
def test_not_a_host_address_is_refused(target: str, why: str, allow_public: bool) -> None:
    with pytest.raises(UsageError, match=why if allow_public else "public|" + why):
        expand([target], allow_public=allow_public, resolve=no_dns)


@pytest.mark.parametrize("target", ["10.0.0.0/24", "198.18.0.0/24", "127.0.0.1", "169.254.1.0/24"])
def test_ordinary_private_targets_still_pass(target: str) -> None:
    assert expand([target], resolve=no_dns).count > 0
