"""Issue 19: floods of spoofed or oversized evidence give a bounded result and say what was cut.

Each flood is built by tests/hostile_floods.py (the same generators bench/hostile_floods.py times);
the captures are written to tmp_path. The tests assert what the result holds and what its notes
count, never how long it took.
"""

from __future__ import annotations

import json
import re

import pytest

from camsweep import bounds, engine
from camsweep.bounds import Caps, ObservationBudget, observation_bytes
from camsweep.config import ScanConfig
from camsweep.models import ArtefactKind, Observation
from camsweep.passive import analyse_capture
from camsweep.passive.capture import LINKTYPE_ETHERNET
from camsweep.passive.decode import decode
from camsweep.passive.signals import Analyser
from camsweep.probes import Probe, ProbeContext
from camsweep.verdicts import identify_result
from tests import hostile_floods as hf


def _count(note: str) -> int:
    return int(re.search(r"flood: ([\d,]+) ", note, re.IGNORECASE).group(1).replace(",", ""))


def _flood_notes(result) -> list[str]:
    return [n for n in result.notes if re.search(r"(^| )flood: ", n, re.IGNORECASE)]


def _analyse(frames, caps: Caps):
    """A capture's frames through the passive analyser with other caps (analyse_capture's steps)."""
    analyser = Analyser(budget=ObservationBudget(caps))
    for n, frame in enumerate(frames):
        pkt = decode(LINKTYPE_ETHERNET, frame)
        if pkt is not None:
            analyser.feed(hf.EPOCH + n, pkt)
    analyser.flush()
    return identify_result(analyser.observations(), notes=analyser.budget.notes()), analyser


# -- the budget itself ------------------------------------------------------------------------------
def test_one_ip_keeps_its_first_macs_and_counts_the_rest() -> None:
    budget = ObservationBudget()
    flood = hf.many_macs_one_ip(bounds.MACS_PER_IP + 500)
    kept = [o for o in flood if budget.admit(o)]
    assert kept == flood[: bounds.MACS_PER_IP]
    assert budget.notes() == [
        f"ARP flood: 500 ARP observations not kept for 1 IP(s) claimed by more than {bounds.MACS_PER_IP} MACs "
        f"(cap: the first {bounds.MACS_PER_IP} MACs per IP)"
    ]
    # a MAC already kept for that IP is still welcome (a repeated reply is not a new claim)
    assert budget.admit(flood[0])


def test_a_camera_reply_is_kept_after_spoofed_arp_took_every_mac_slot_of_its_ip() -> None:
    budget = ObservationBudget()
    for o in hf.many_macs_one_ip(bounds.MACS_PER_IP * 2, ip="10.0.0.7"):
        budget.admit(o)
    own = Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="10.0.0.7", mac="58:50:ed:00:00:07",
                           raw="<ProbeMatch/>", fields={"sadp.model": "DS-2CD2043G2-I"})
    assert budget.admit(own)


def test_layer2_only_hosts_are_capped_and_a_host_that_says_more_leaves_that_count() -> None:
    budget = ObservationBudget(Caps(layer2_hosts=3))
    arp = [hf.arp_observation(hf.mac_text(m), hf.ip_at(i), i) for i, m in enumerate(hf.macs(5))]
    assert [budget.admit(o) for o in arp] == [True, True, True, False, False]
    # host 0 answers SADP: it is no longer a phantom, so one more ARP-only host fits
    assert budget.admit(Observation.make("sadp", ArtefactKind.SADP_REPLY, ip=arp[0].ip, raw="<x/>"))
    assert budget.admit(arp[3]) and not budget.admit(arp[4])
    assert budget.notes() == [
        "ARP flood: 3 ARP observations not kept from further hosts seen only at layer 2 "
        "(cap: 3 hosts with ARP/DHCP evidence alone)"
    ]


def test_bytes_are_utf8_bytes_not_characters() -> None:
    emoji = "\U0001F600" * 1000
    obs = Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip="10.0.0.1", raw=emoji, fields={"http.body": emoji})
    assert observation_bytes(obs) == 4000 + 4000 + len("http.body")
    # a lone surrogate (issue 19's DHIP answer) is replaced by U+FFFD (3 bytes) and said in problem
    odd = Observation.make("dhip", ArtefactKind.DHIP_REPLY, ip="10.0.0.1", fields={"dhip.model": "IPC-\ud800"})
    assert odd.fields["dhip.model"] == "IPC-\ufffd" and odd.problem
    assert observation_bytes(odd) == len("dhip.model") + len("IPC-") + 3 + len(odd.problem)


def test_per_kind_bytes_leave_room_for_other_kinds_of_the_same_host() -> None:
    budget = ObservationBudget(Caps(kind_bytes=10_000))
    page = "\U0001F600" * 1000  # 4,000 bytes
    pages = [Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip="10.0.0.1", port=80, raw=page,
                              fields={"http.path": f"/{i}"}) for i in range(5)]
    assert [budget.admit(o) for o in pages] == [True, True, False, False, False]
    assert budget.admit(Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="10.0.0.1", raw="<ProbeMatch/>"))
    (note,) = budget.notes()
    assert note.startswith("HTTP flood: 3 HTTP observations (12 KiB) not kept from 1 host(s) over the per-host caps")


def test_a_new_hosts_first_observation_must_fit_the_per_host_caps_too() -> None:
    budget = ObservationBudget(Caps(kind_bytes=1_000))
    big = Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip="10.0.0.1", raw="\U0001F600" * 300)  # 1,200 bytes
    assert not budget.admit(big)
    assert budget.admit(Observation.make("sadp", ArtefactKind.SADP_REPLY, ip="10.0.0.1", raw="<ProbeMatch/>"))
    assert budget.notes()[0].startswith("HTTP flood: 1 HTTP observation (1 KiB) not kept from 1 host(s)")


def test_result_caps_hold_whatever_the_mix_and_every_cut_is_counted() -> None:
    caps = Caps(result_observations=50, result_bytes=20_000)
    budget = ObservationBudget(caps)
    flood = (hf.many_macs_one_ip(40) + hf.many_ips_one_mac(40)
             + [Observation.make("http", ArtefactKind.HTTP_RESPONSE, ip=hf.ip_at(i), raw="x" * 3000) for i in range(40)])
    kept = [o for o in flood if budget.admit(o)]
    assert len(kept) <= caps.result_observations
    assert sum(observation_bytes(o) for o in kept) <= caps.result_bytes
    assert len(kept) + sum(_count(n) for n in budget.notes()) == len(flood) == len(kept) + budget.dropped
    # the result-wide cut is one note whatever protocols it cut, with the split per protocol
    (result_note,) = [n for n in budget.notes() if "result caps" in n]
    assert re.match(r"(Flood|\S+ flood): [\d,]+ (\S+ )?observations", result_note)


# -- the flood cases of issue 19, end to end -------------------------------------------------------
def test_twenty_thousand_macs_claiming_one_ip(tmp_path) -> None:
    result = analyse_capture(str(hf.write_pcap(tmp_path / "one-ip.pcap", hf.arp_one_ip(20_000))))
    (item,) = result.devices
    assert item.device.ips == ("10.0.0.1",) and len(item.device.macs) == bounds.MACS_PER_IP
    (note,) = _flood_notes(result)
    assert note.startswith("ARP flood: 19,984 ARP observations not kept for 1 IP(s)")


def test_spoofed_arp_macs_give_the_first_hosts_and_one_note(tmp_path) -> None:
    extra = 1_000
    path = hf.write_pcap(tmp_path / "spoof.pcap", hf.arp_spoof(bounds.LAYER2_HOSTS + extra))
    result = analyse_capture(str(path))
    assert len(result.devices) == bounds.LAYER2_HOSTS
    assert {d.device.ip for d in result.devices} == {hf.ip_at(i) for i in range(bounds.LAYER2_HOSTS)}
    (note,) = _flood_notes(result)
    assert note.startswith("ARP flood: 1,000 ARP observations not kept from further hosts seen only at layer 2")


def test_dhcp_starvation_gives_the_first_clients_and_one_note(tmp_path) -> None:
    extra = 1_000
    path = hf.write_pcap(tmp_path / "dhcp.pcap", hf.dhcp_requests(bounds.LAYER2_HOSTS + extra))
    result = analyse_capture(str(path))
    assert len(result.devices) == bounds.LAYER2_HOSTS
    (note,) = _flood_notes(result)
    assert note.startswith("DHCP flood: 1,000 DHCP observations not kept from further hosts seen only at layer 2")


def test_spoofed_syn_acks_stop_at_the_host_cap() -> None:
    result, _ = _analyse(hf.synack_spoof(300), Caps(hosts=100))
    assert len(result.devices) == 100
    (note,) = _flood_notes(result)
    assert note == "open-port flood: 200 open-port observations not kept from further hosts (cap: 100 hosts per result)"


def test_emoji_pages_from_one_host_stop_at_its_per_kind_bytes(tmp_path) -> None:
    path = hf.write_pcap(tmp_path / "emoji.pcap", hf.http_replies(20, hosts=1))
    result = analyse_capture(str(path))
    (item,) = result.devices
    pages = [o for o in item.device.observations if o.kind is ArtefactKind.HTTP_RESPONSE]
    assert 0 < len(pages) < 20
    assert sum(observation_bytes(o) for o in pages) <= bounds.KIND_BYTES
    (note,) = _flood_notes(result)
    assert _count(note) == 20 - len(pages) and "over the per-host caps" in note


def test_emoji_pages_from_many_hosts_stop_at_the_result_bytes() -> None:
    caps = Caps(result_bytes=1024 * 1024)
    result, analyser = _analyse(hf.http_replies(100, hosts=100), caps)
    kept = [o for d in result.devices for o in d.device.observations]
    assert 0 < len(kept) < 100
    assert analyser.budget.size == sum(observation_bytes(o) for o in kept) <= caps.result_bytes
    (note,) = _flood_notes(result)
    assert _count(note) == 100 - len(kept) and "over the result caps" in note
    # what is written grows with the cap, not with the flood
    assert len(json.dumps(result.to_dict(), ensure_ascii=False).encode()) < 3 * caps.result_bytes


def test_repeated_announcements_are_still_one_observation_and_cost_the_budget_once(tmp_path) -> None:
    frames = list(hf.arp_spoof(3)) * 1000
    result, analyser = _analyse(frames, Caps())
    assert len(result.devices) == 3 and analyser.budget.observations == 3
    assert _flood_notes(result) == []


# -- the active engine uses the same budget --------------------------------------------------------
class _Flooder(Probe):
    name = "flooder"
    description = "claims one loopback address from many MACs"

    def discover(self, ctx: ProbeContext) -> None:
        for obs in hf.many_macs_one_ip(500, ip="127.0.0.9"):
            ctx.emit(obs)


def test_the_engine_keeps_the_first_macs_of_an_ip_and_notes_the_flood() -> None:
    result = engine.scan(ScanConfig(targets=("127.0.0.0/28",)), registry={"flooder": _Flooder})
    (item,) = result.devices
    assert len(item.device.macs) == bounds.MACS_PER_IP
    assert f"ARP flood: {500 - bounds.MACS_PER_IP} ARP observations not kept" in " ".join(result.notes)


@pytest.mark.parametrize("name", [n for n in dir(bounds) if n.isupper() and isinstance(getattr(bounds, n), int)
                                  and n not in ("KiB", "MiB")])
def test_every_cap_is_a_caps_default(name: str) -> None:
    assert getattr(Caps(), name.lower()) == getattr(bounds, name)
