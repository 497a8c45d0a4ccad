"""What one result may hold: caps in bytes and counts per host, per artefact kind and per result.

Devices are untrusted, and so are captures: one host on the LAN can send ARP replies from 100,000
spoofed MACs, starve DHCP with 100,000 client MACs, or serve 20,000 pages of 16 KB emoji. Every
observation the engine's collector receives and every one the passive analyser keeps passes one
``ObservationBudget``, which admits observations in arrival order up to the caps below and counts
what it turns away. ``notes()`` gives one line per flood (per protocol, or per result-wide cap), so
a flood yields the first hosts, a bounded result and a note saying how much was cut, never
100,000 phantom devices.

A *host* here is an observation's IP, else its MAC: the budget runs before the merge into devices,
so a device seen both by MAC alone (a DHCP request from 0.0.0.0) and by IP counts as two hosts. In
return the merge can never make more devices than there are hosts, nor more devices with only
layer-2 evidence than the layer-2 cap (tests/test_merge_properties.py).
Sizes are UTF-8 bytes of the raw artefact, the field keys and values and the problem text: what the
result carries into JSON and SQLite (models.RAW_LIMIT/FIELD_LIMIT bound characters, not bytes).

The caps were checked against the emulated lab, whose profiles are real recorded replies: of its 51
devices the busiest holds 18 observations, the largest 21 KB (5 HTTP replies); those 51 repeated to
1,000 devices make 8,480 observations and 5.2 MB, which pass every cap untouched. (A
``CAMSWEEP_LAB_COUNT=1000`` scan on a loaded 2-core machine reached ~380 devices, none near a cap.)
What the caps cost is measured by bench/hostile_floods.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import ArtefactKind, Observation

KiB = 1024
MiB = 1024 * KiB

RESULT_OBSERVATIONS = 65_536
"""Observations in one result. 1,000 lab cameras make ~8,500; the old passive-only cap was 200,000,
which let 100,000 phantom hosts through."""
RESULT_BYTES = 16 * MiB
"""Artefact bytes in one result: 1,000 lab cameras carry ~5 MB, so three times that. The stored
scan escapes non-ASCII (a 4-byte emoji becomes 12 bytes), so 16 MiB of emoji peaks at ~210 MB
RSS while being stored (bench/hostile_floods.py); 24 MiB went past 300 MB."""
HOSTS = 8_192
"""Distinct hosts in one result: a /22 holds 1,022. 8,192 one-observation hosts (spoofed SYN-ACKs)
take ~3.5 s and ~190 MB through scan --pcap, JSON report and store."""
LAYER2_HOSTS = 4_096
"""Hosts whose only evidence is layer 2 (ARP, the neighbour table, DHCP): a /22 full of hosts that
never say more than ARP, with room for DHCP clients seen by MAC alone. Spoofed-MAC and DHCP
starvation floods are made of such hosts; a host that later shows any other evidence leaves
this count (and is then held by ``HOSTS``)."""
MACS_PER_IP = 16
"""Distinct MACs that layer-2 evidence (ARP, DHCP) gives one IP. Real sites show a few (DHCP churn
in a long capture, VRRP virtual MACs, a camera with two NICs); thousands are an ARP-spoofing tool.
Only layer-2 evidence is held to it: a MAC a device reports in its own reply (SADP, DHIP, ONVIF)
is admitted under the per-kind caps, so spoofed ARP claiming a camera's IP first cannot push the
camera's own answers out of the result."""
HOST_OBSERVATIONS = 1_024
"""Observations per host: the lab's busiest device has 18."""
HOST_BYTES = 512 * KiB
"""Bytes per host: the lab's largest device holds 21 KB; a host can still bring 24 pages of
16 KiB raw + 4 KiB body before anything of its own is cut."""
KIND_OBSERVATIONS = 64
"""Observations of one artefact kind per host (HTTP pages, open ports, mDNS services...): the
lab's most is 5 HTTP replies and 10 open ports. A small fixed number: one device answering a
WS-Discovery Probe with 5,000 ProbeMatches (distinct endpoint UUIDs) once kept 256 of them, and
their rule hits, in every report (issue 14); the discovery probes also stop reading a host past
``probes._udp.ANSWERS_PER_HOST`` answers a round, and count the rest as a ``flood`` problem."""
KIND_BYTES = 256 * KiB
"""Bytes of one artefact kind per host, so a host flooding HTTP replies still has room for its
discovery answers."""


@dataclass(frozen=True)
class Caps:
    """The caps one budget applies (the module constants, unless a test or bench asks for others)."""

    result_observations: int = RESULT_OBSERVATIONS
    result_bytes: int = RESULT_BYTES
    hosts: int = HOSTS
    layer2_hosts: int = LAYER2_HOSTS
    macs_per_ip: int = MACS_PER_IP
    host_observations: int = HOST_OBSERVATIONS
    host_bytes: int = HOST_BYTES
    kind_observations: int = KIND_OBSERVATIONS
    kind_bytes: int = KIND_BYTES


LAYER2 = frozenset({ArtefactKind.MAC_ADDRESS, ArtefactKind.DHCP_OPTIONS, ArtefactKind.FORWARDING_ENTRY})
"""Evidence that makes a host without it saying anything above layer 2 (spoofable at no cost)."""

_LABELS = {
    ArtefactKind.MAC_ADDRESS: "ARP", ArtefactKind.DHCP_OPTIONS: "DHCP", ArtefactKind.HTTP_RESPONSE: "HTTP",
    ArtefactKind.HTTP_TITLE: "HTTP", ArtefactKind.HTTP_AUTH_REALM: "HTTP", ArtefactKind.RTSP_BANNER: "RTSP",
    ArtefactKind.TLS_CERTIFICATE: "TLS", ArtefactKind.ONVIF_SCOPES: "WS-Discovery",
    ArtefactKind.ONVIF_DEVICE_INFO: "ONVIF", ArtefactKind.SADP_REPLY: "SADP", ArtefactKind.DHIP_REPLY: "DHIP",
    ArtefactKind.UPNP_DESCRIPTION: "UPnP", ArtefactKind.SSDP_REPLY: "SSDP", ArtefactKind.MDNS_RECORD: "mDNS",
    ArtefactKind.OPEN_PORT: "open-port", ArtefactKind.HOSTNAME: "hostname",
    ArtefactKind.SNMP_SYSTEM: "SNMP", ArtefactKind.FORWARDING_ENTRY: "SNMP forwarding table",
}

# Why an observation was turned away, in the order notes are listed.
MACS, LAYER2_ONLY, TOO_MANY_HOSTS, PER_HOST, PER_RESULT = "macs", "layer2", "hosts", "host", "result"
_REASONS = (MACS, LAYER2_ONLY, TOO_MANY_HOSTS, PER_HOST, PER_RESULT)


def _utf8(text: str | None) -> int:
    if not text:
        return 0
    # surrogatepass: a lone surrogate from a device must be measurable, not fatal.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def observation_bytes(obs: Observation) -> int:
    """UTF-8 bytes of what an observation carries from the device: raw, fields, problem."""
    return _utf8(obs.raw) + _utf8(obs.problem) + sum(_utf8(k) + _utf8(v) for k, v in obs.fields.items())


class _Host:
    __slots__ = ("count", "size", "kinds", "macs", "layer2_only", "cut")

    def __init__(self, layer2_only: bool) -> None:
        self.count = 0
        self.size = 0
        self.kinds: dict[ArtefactKind, list[int]] = {}  # kind -> [count, bytes]
        self.macs: set[str] = set()
        self.layer2_only = layer2_only
        self.cut: set[tuple[str, str]] = set()  # (reason, protocol) this host was cut for: counted once


class _Cut:
    __slots__ = ("observations", "size", "hosts")

    def __init__(self) -> None:
        self.observations = 0
        self.size = 0
        self.hosts = 0


class ObservationBudget:
    """Admit observations up to the caps; count what is cut. Not thread-safe: callers serialise."""

    def __init__(self, caps: Caps | None = None) -> None:
        self.caps = caps or Caps()
        self.observations = 0
        self.size = 0
        self._hosts: dict[str, _Host] = {}
        self._layer2_hosts = 0
        self._cut: dict[tuple[str, str], _Cut] = {}

    @property
    def hosts(self) -> int:
        """Hosts (an IP, else a MAC) with at least one observation kept so far."""
        return len(self._hosts)

    @property
    def dropped(self) -> int:
        """Observations turned away so far."""
        return sum(cut.observations for cut in self._cut.values())

    def admit(self, obs: Observation) -> bool:
        """True if ``obs`` fits (and is now counted); False if it was cut (and is counted as cut)."""
        caps = self.caps
        layer2 = obs.kind in LAYER2
        key = obs.ip or obs.mac
        host = self._hosts.get(key) if key else None
        # The checks that need no size come first: in a flood most observations stop there.
        if key and host is None:
            if len(self._hosts) >= caps.hosts:
                return self._refuse(TOO_MANY_HOSTS, obs)
            if layer2 and self._layer2_hosts >= caps.layer2_hosts:
                return self._refuse(LAYER2_ONLY, obs)
        if (host is not None and layer2 and obs.ip and obs.mac and obs.mac not in host.macs
                and len(host.macs) >= caps.macs_per_ip):
            return self._refuse(MACS, obs, 0, host)
        size = observation_bytes(obs)
        if key:  # a new host's first observation must fit the per-host caps too
            count, kind_size = host.kinds.get(obs.kind, (0, 0)) if host else (0, 0)
            host_count, host_size = (host.count, host.size) if host else (0, 0)
            if (count >= caps.kind_observations or kind_size + size > caps.kind_bytes
                    or host_count >= caps.host_observations or host_size + size > caps.host_bytes):
                return self._refuse(PER_HOST, obs, size, host)
        if self.observations >= caps.result_observations or self.size + size > caps.result_bytes:
            return self._refuse(PER_RESULT, obs, size)

        if key and host is None:
            host = self._hosts[key] = _Host(layer2)
            self._layer2_hosts += layer2
        if host is not None:
            if host.layer2_only and not layer2:  # it said more than ARP/DHCP: no longer a phantom
                host.layer2_only = False
                self._layer2_hosts -= 1
            if layer2 and obs.ip and obs.mac:
                host.macs.add(obs.mac)
            entry = host.kinds.setdefault(obs.kind, [0, 0])
            entry[0] += 1
            entry[1] += size
            host.count += 1
            host.size += size
        self.observations += 1
        self.size += size
        return True

    def _refuse(self, reason: str, obs: Observation, size: int = 0, host: _Host | None = None) -> bool:
        which = (reason, _label(obs.kind))
        cut = self._cut.get(which)
        if cut is None:
            cut = self._cut[which] = _Cut()
        cut.observations += 1
        cut.size += size
        if host is None and reason == PER_HOST:
            cut.hosts += 1  # an unknown host whose first observation alone is too big
        elif host is not None and which not in host.cut:
            host.cut.add(which)
            cut.hosts += 1
        return False

    def notes(self) -> list[str]:
        """What was cut, with how much and the cap: one line per protocol for the floods one host
        or one kind of spoofing makes (MACs per IP, layer-2 phantoms, per-host caps), one line in
        all for each result-wide cap (hosts, observations and bytes per result)."""
        caps = self.caps
        out: list[str] = []
        for reason in _REASONS:
            cuts = sorted(((label, cut) for (why, label), cut in self._cut.items() if why == reason),
                          key=lambda item: (-item[1].observations, item[0]))
            if not cuts:
                continue
            if reason in (TOO_MANY_HOSTS, PER_RESULT) and len(cuts) > 1:
                total = _Cut()
                for _, cut in cuts:
                    total.observations += cut.observations
                    total.size += cut.size
                mix = ", ".join(f"{label} {cut.observations:,}" for label, cut in cuts)
                cuts = [("", total)]
            for label, cut in cuts:
                what = f"{label} observation" if label else "observation"
                n = f"{cut.observations:,} {what}{'s' if cut.observations != 1 else ''}"
                if reason == MACS:
                    text = (f"{n} not kept for {cut.hosts:,} IP(s) claimed by more than {caps.macs_per_ip} MACs "
                            f"(cap: the first {caps.macs_per_ip} MACs per IP)")
                elif reason == LAYER2_ONLY:
                    text = (f"{n} not kept from further hosts seen only at layer 2 "
                            f"(cap: {caps.layer2_hosts:,} hosts with ARP/DHCP evidence alone)")
                elif reason == TOO_MANY_HOSTS:
                    text = f"{n} not kept from further hosts (cap: {caps.hosts:,} hosts per result)"
                elif reason == PER_HOST:
                    text = (f"{n} ({_size(cut.size)}) not kept from {cut.hosts:,} host(s) over the per-host caps "
                            f"({caps.kind_observations:,} observations or {_size(caps.kind_bytes)} per kind, "
                            f"{caps.host_observations:,} or {_size(caps.host_bytes)} in all)")
                else:
                    text = (f"{n} ({_size(cut.size)}) not kept over the result caps "
                            f"({caps.result_observations:,} observations, {_size(caps.result_bytes)} in all)")
                out.append(f"{label} flood: {text}" if label else f"Flood: {text}: {mix}")
        return out


def _label(kind: ArtefactKind) -> str:
    return _LABELS.get(kind, kind.value)


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.1f} MiB"
    if n >= KiB:
        return f"{n / KiB:.0f} KiB"
    return f"{n} bytes"
