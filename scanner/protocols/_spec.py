"""What a protocol declares about itself, once: :class:`ProtocolSpec` and its parts.

Every codec module of this package ends with ``SPEC = ProtocolSpec(...)``. The lists the rest of
camsweep needs are computed from those declarations (``camsweep.protocols``): the probe registry
and its run order, which probes run first or hold TCP connections, the evidence family and display
name of every field key, the keys fingerprint rules may match, the passive path's dispatch, the
short-form reader's keys, the ``--methods`` list and the field table in fingerprints/README.md.

This module imports nothing from camsweep, so reading a declaration costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..jsonio import Reader
    from ..models import Observation

PASSIVE_PROBE = "passive"
"""The probe name of every observation the passive path makes."""


@dataclass(frozen=True, slots=True)
class Field:
    """One field key a protocol emits.

    ``family`` is the evidence family: every field of one family counts as one signal when the
    verdict adds up confidence (all fields of one SADP reply are one family). ``label`` says what
    the value is (the "meaning" column of the field table)."""

    family: str
    label: str


@dataclass(frozen=True, slots=True)
class Heard:
    """One datagram, or one reassembled TCP reply, the passive path hands to a decoder."""

    payload: bytes
    """The datagram's payload; for a TCP reply the reply's bytes (for ``framing="tls"``: the
    server's leaf certificate, DER)."""
    src: str
    sport: int
    dport: int
    mac: str | None
    """The sender's MAC when it is on the link (not behind a router); None for a TCP reply."""
    time: datetime
    path: str = "/"
    """For a TCP reply: the path of the request it answers, if that request was seen."""
    in_scope: Callable[[str], bool] | None = None
    """For a decoder that places hosts itself (``Passive.places_itself``): the scope, or None
    when every host is wanted."""

    def where(self) -> dict[str, Any]:
        """The keyword arguments every codec takes: probe, ip, mac, time."""
        return {"probe": PASSIVE_PROBE, "ip": self.src, "mac": self.mac, "time": self.time}


@dataclass(frozen=True, slots=True)
class Unread:
    """What a decoder that stops at a bound of its own yields instead of the rest: ``count`` more
    ``what`` were in what it heard. The passive path adds them up in its notes, as
    ``"<who>: <total> <what> not read"``."""

    who: str
    what: str
    count: int


Decoder = Callable[[Heard], Iterable["tuple[Hashable, Observation] | Unread"]]
"""Reads what was heard into (key, observation) pairs. The passive path keeps one observation per
key, so a key names the artefact per host (``("sadp", ip)``): a device announcing itself every
minute for a week is one observation. A decoder that stops at a bound says so with an ``Unread``."""

ShortFormReader = Callable[["Reader", dict[str, Any]], Iterable["Observation"]]
"""Reads one hand-written host object (``camsweep identify``) into observations: the object's
``Reader`` (each value read with its type checked; a wrong one is an InputFileError naming the
key) and the probe/ip/mac keywords every codec takes. Called when one of its keys is given."""


FRAMINGS = ("head", "message", "tls")


@dataclass(frozen=True, slots=True)
class Passive:
    """How the passive path reads this protocol from traffic.

    A UDP datagram goes to the protocol whose port (``ProtocolSpec.udp``) it comes *from* (the
    speaker's port), else to the one whose port it goes *to*, unless ``replies_only``. A TCP
    direction goes to the protocol whose ``tcp`` bytes it starts with; ``framing`` says when such
    a reply is whole: ``"head"`` (at the blank line), ``"message"`` (head plus a Content-Length
    body) or ``"tls"`` (a TLS server flight; the decoder gets the leaf certificate)."""

    decode: Decoder
    replies_only: bool = False
    """Only datagrams sent from the protocol's ports: what is sent to them is other clients' requests."""
    places_itself: bool = False
    """The decoder decides itself whether a host is in scope (a DHCP client has no address yet;
    its message says where it will be). Others are read only when their source is in scope."""
    tcp: tuple[bytes, ...] = ()
    framing: str = ""
    requests: tuple[bytes, ...] = ()
    """Starts of TCP requests whose path the reply in the other direction is filed under."""

    def __post_init__(self) -> None:
        if (self.framing in FRAMINGS) != bool(self.tcp) or self.framing not in ("", *FRAMINGS):
            raise ValueError(f"TCP replies need one of the framings {FRAMINGS}, and a framing needs TCP replies")


@dataclass(frozen=True, eq=False)
class ProtocolSpec:
    """One protocol or field source, declared once.

    A *method* (``method=True``) is a discovery method the user can choose with ``--methods``; its
    probe is the module ``camsweep.probes.<name>``. Other specs only declare field keys: sources
    read passively (DHCP) or from the short form, and values derived per device.
    """

    name: str
    """The method name (``--methods``, the probe name of its observations) or the source's name."""
    title: str
    """Where the fields come from, for people ("SADP reply"): the "from" column of the field table."""
    fields: Mapping[str, Field]
    """Every field key emitted, in table order. A key ending in ``.*`` stands for one more dotted
    part (``http.header.*`` is ``http.header.server``, ``http.header.location``, ...)."""
    order: int
    """Position in the engine's run order, in ``--methods`` lists, in the short-form reader and in
    the field table."""
    families: Mapping[str, str] = field(default_factory=dict)
    """Display names of evidence families, as verdict summaries show them ("SADP reply")."""
    method: bool = True
    udp: tuple[int, ...] = ()
    """UDP ports the protocol is spoken on: the probe sends to the first, the passive path reads them all."""
    groups: tuple[str, ...] = ()
    """Multicast groups the probe sends to and listens on."""
    link_broadcast: bool = False
    """The probe asks by link-layer broadcast (ARP) and hears the whole segment, as a multicast
    method does: what it hears from outside the targets is kept as a stray (``hears_segment``)."""
    holds_connections: bool = False
    """The per-host step holds TCP connections to the device: at most ``per_host`` such steps run
    against one host at a time (politeness). Steps that send one datagram and wait run alongside."""
    runs_first: bool = False
    """The per-host step finishes before any other starts (it fills in the host's open ports)."""
    short_form: tuple[str, ...] = ()
    """Keys of a hand-written host object (``camsweep identify``) this protocol reads."""
    read_short_form: ShortFormReader | None = None
    passive: Passive | None = None

    @property
    def hears_segment(self) -> bool:
        """Discovery by multicast or broadcast: answers from outside the targets are strays."""
        return bool(self.groups) or self.link_broadcast

    def __post_init__(self) -> None:
        if bool(self.short_form) != (self.read_short_form is not None):
            raise ValueError(f"{self.name}: short_form keys and read_short_form go together")
        for key, declared in self.fields.items():
            if not isinstance(declared, Field) or not declared.family or not declared.label:
                raise ValueError(f"{self.name}: field {key!r} needs a family and a label")
