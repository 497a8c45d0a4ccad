"""Property tests (hypothesis) for the budget, the merge and the verdicts under floods (issue 19).

Observations are drawn from small pools of IPs and MACs so that every shape occurs: many MACs
claiming one IP, one MAC on many IPs, self-reported MACs that ARP contradicts, DHCP clients seen
by MAC alone, and whole flood blocks from tests/hostile_floods.py. What must hold: the merge and
the verdicts do not depend on arrival order, the budget keeps every cap, and what it cuts is
counted exactly.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from camsweep.bounds import LAYER2, Caps, ObservationBudget, observation_bytes
from camsweep.devices import merge
from camsweep.models import ArtefactKind, Observation
from camsweep.verdicts import identify_devices, load_fingerprints
from tests import hostile_floods as hf

DB = load_fingerprints()
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
# Real OUIs among the MACs (Hikvision, Dahua, Axis) so the OUI step of the verdict has work to do.
MACS = ["58:50:ed:00:00:01", "90:02:a9:00:00:02", "ac:cc:8e:00:00:03", *map(hf.mac_text, hf.macs(9))]
IPS = [f"10.0.0.{i}" for i in range(1, 13)]
KINDS = [ArtefactKind.MAC_ADDRESS, ArtefactKind.DHCP_OPTIONS, ArtefactKind.SADP_REPLY,
         ArtefactKind.OPEN_PORT, ArtefactKind.HTTP_RESPONSE]
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _make(kind: ArtefactKind, ip: str | None, mac: str | None, n: int, emoji: int = 0) -> Observation:
    fields: dict[str, object] = {}
    raw = None
    if kind is ArtefactKind.MAC_ADDRESS:
        fields = {"mac.address": mac, "mac.oui": (mac or "").replace(":", "")[:6].upper()}
    elif kind is ArtefactKind.DHCP_OPTIONS:
        fields = {"dhcp.hostname": f"host-{n % 3}", "dhcp.vendor_class": "udhcp 1.19.4"}
    elif kind is ArtefactKind.SADP_REPLY:
        fields = {"sadp.model": "DS-2CD2043G2-I", "sadp.device_type": "141945"}
        raw = "<ProbeMatch/>"
    elif kind is ArtefactKind.OPEN_PORT:
        fields = {"port.number": 80 + n % 3, "port.protocol": "tcp"}
    else:
        fields = {"http.header.server": "App-webs/", "http.status": "200"}
        raw = "\U0001F600" * emoji  # 4-byte characters: bytes, not characters, are budgeted
    return Observation.make("prop", kind, ip=ip, mac=mac, port=80 + n % 3 if kind is ArtefactKind.OPEN_PORT else None,
                            raw=raw, fields=fields, time=T0 + timedelta(seconds=n))


@st.composite
def observations(draw: st.DrawFn) -> list[Observation]:
    """A mixed list: single observations over the pools, plus flood blocks of either shape."""
    specs = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from([None, *IPS]),
                                    st.sampled_from([None, *MACS]), st.integers(0, 2_000)), max_size=60))
    out = [_make(kind, ip, mac, n, emoji) for n, (kind, ip, mac, emoji) in enumerate(specs) if ip or mac]
    for shape, size in draw(st.lists(st.tuples(st.sampled_from(["macs-per-ip", "ips-per-mac"]),
                                               st.integers(1, 400)), max_size=3)):
        block = hf.many_macs_one_ip(size, ip=draw(st.sampled_from(IPS))) if shape == "macs-per-ip" \
            else hf.many_ips_one_mac(size, mac=draw(st.sampled_from(MACS)))
        start = len(out) + 1000
        out += [Observation(**{**_fields(o), "time": T0 + timedelta(seconds=start + i)}) for i, o in enumerate(block)]
    return out


def _fields(o: Observation) -> dict[str, object]:
    return {name: getattr(o, name) for name in Observation.__dataclass_fields__}


def _count(note: str) -> int:
    return int(re.search(r"flood: ([\d,]+) ", note, re.IGNORECASE).group(1).replace(",", ""))


def _shape(devices) -> list[tuple[object, ...]]:
    return [(d.key, d.macs, d.ips, d.hostnames, d.open_ports, sorted(o.time for o in d.observations)) for d in devices]


@PROPERTY
@given(observations(), st.randoms(use_true_random=False))
def test_merge_and_verdicts_do_not_depend_on_arrival_order(obs: list[Observation], rnd: random.Random) -> None:
    shuffled = list(obs)
    rnd.shuffle(shuffled)
    first, second = merge(obs), merge(shuffled)
    assert _shape(first) == _shape(second)
    verdicts = [item.verdict.to_dict() for item in identify_devices(first, DB)]
    assert verdicts == [item.verdict.to_dict() for item in identify_devices(second, DB)]


@PROPERTY
@given(observations())
def test_merge_places_every_observation_once_and_invents_nothing(obs: list[Observation]) -> None:
    devices = merge(obs)
    assert sum(len(d.observations) for d in devices) == len(obs)
    assert {o.mac for o in obs if o.mac} == {m for d in devices for m in d.macs}
    assert {o.ip for o in obs if o.ip} == {ip for d in devices for ip in d.ips}
    assert len(devices) <= len({o.ip for o in obs if o.ip}) + len({o.mac for o in obs if o.mac})
    for item in identify_devices(devices, DB):
        oui_hits = [h for h in item.verdict.hits if h.rule_file == "oui.toml"]
        assert len(oui_hits) <= len(item.device.macs)


@PROPERTY
@given(observations(), st.integers(1, 4), st.integers(1, 6), st.integers(2, 10), st.integers(5, 80),
       st.integers(500, 40_000))
def test_the_budget_keeps_every_cap_and_counts_every_cut(obs: list[Observation], macs_per_ip: int, layer2: int,
                                                         hosts: int, count: int, size: int) -> None:
    caps = Caps(macs_per_ip=macs_per_ip, layer2_hosts=layer2, hosts=hosts, result_observations=count,
                result_bytes=size, host_observations=count // 2 + 1, host_bytes=size // 2 + 1,
                kind_observations=count // 4 + 1, kind_bytes=size // 4 + 1)
    budget = ObservationBudget(caps)
    kept = [o for o in obs if budget.admit(o)]
    assert len(kept) + budget.dropped == len(obs)
    assert sum(_count(note) for note in budget.notes()) == budget.dropped
    assert bool(budget.notes()) == (budget.dropped > 0)
    assert len(kept) <= caps.result_observations
    assert sum(observation_bytes(o) for o in kept) <= caps.result_bytes
    per_host: dict[str, list[Observation]] = defaultdict(list)
    for o in kept:
        per_host[o.ip or o.mac].append(o)
    assert len(per_host) <= caps.hosts
    for host in per_host.values():
        assert len(host) <= caps.host_observations
        assert sum(observation_bytes(o) for o in host) <= caps.host_bytes
        for kind in {o.kind for o in host}:
            of_kind = [o for o in host if o.kind is kind]
            assert len(of_kind) <= caps.kind_observations
            assert sum(observation_bytes(o) for o in of_kind) <= caps.kind_bytes
        assert len({o.mac for o in host if o.ip and o.mac and o.kind in LAYER2}) <= caps.macs_per_ip
    devices = merge(kept)
    assert len(devices) <= caps.hosts
    assert sum(all(o.kind in LAYER2 for o in d.observations) for d in devices) <= caps.layer2_hosts
    # the same arrivals give the same cut: the result is deterministic
    again = ObservationBudget(caps)
    assert [o for o in obs if again.admit(o)] == kept and again.notes() == budget.notes()
