"""Read what other tools saw for ``camsweep import nmap`` and ``camsweep import dhcp``.

Each reader returns an ``Imported``: the observations (made by the codecs camsweep's own probes
use: ``protocols/nmap.py``, ``protocols/dhcp.py``), notes for what it skipped, and when the source
saw it. The caller identifies and stores them like a scan (``identify_result``, mode
``import-nmap``/``import-dhcp``, the file as the target). A file is untrusted input: its size is
bounded before it is read, XML goes through defusedxml with entity declarations and external
references forbidden (a billion-laughs file is one line, exit 2), and a line or host that cannot
be read is a note naming it while the rest is still read.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import ParseError

from .bounds import ObservationBudget
from .errors import InputFileError
from .jsonio import MAX_INPUT_BYTES, quote, read_text
from .models import Observation, normalize_ip, normalize_mac
from .protocols import dhcp as dhcp_codec
from .protocols import nmap as nmap_codec
from .protocols.arp import mac_fields
from .types import ArtefactKind

__all__ = ["LEASE_FORMATS", "Imported", "lease_format", "read_leases", "read_nmap"]


@dataclass
class Imported:
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: datetime | None = None
    """When the source began seeing what it reports (nmap's start time), if it says."""
    finished: datetime | None = None
    """When it finished (nmap's ``<runstats><finished time=...>``), if it says."""
    partial: bool = False
    budget: ObservationBudget = field(default_factory=ObservationBudget)
    """What a result may hold, as for a scan (``scanner/bounds.py``): a file of 100,000 hosts
    keeps the first ones and a note says how much was cut."""

    def add(self, observations: Iterable[Observation]) -> None:
        self.observations.extend(o for o in observations if self.budget.admit(o))

    def done(self) -> Imported:
        self.notes.extend(self.budget.notes())
        return self


# ------------------------------------------------------------------------------------------ nmap


def read_nmap(path: str) -> Imported:
    """An nmap ``-oX`` report, one ``<host>`` at a time (a big report is not held whole)."""
    import defusedxml
    import defusedxml.ElementTree as SafeET

    _check_size(path)
    out = Imported()
    name = os.path.basename(path)
    hosts = 0
    root = None
    try:
        # nmap writes <!DOCTYPE nmaprun> (a DTD without declarations): DTDs are allowed, entity
        # declarations and external references are not.
        events = SafeET.iterparse(path, events=("start", "end"), forbid_dtd=False, forbid_entities=True,
                                  forbid_external=True)
        for event, elem in events:
            if root is None:
                if elem.tag != "nmaprun":
                    raise InputFileError(f"{path}: not an nmap XML report (root <{elem.tag[:40]}>, not <nmaprun>)")
                root = elem
                out.started = nmap_codec.moment(elem.get("start"))
                args = elem.get("args")
                if args:
                    out.notes.append(f"{name}: nmap {elem.get('version', '?')} run: {args[:300]}")
                continue
            if event != "end":
                continue
            if elem.tag == "host":
                hosts += 1
                try:
                    out.add(nmap_codec.host_observations(elem, out.started))
                except Exception as exc:  # noqa: BLE001 - a codec bug on one host must not lose the others
                    out.notes.append(f"{name}: host {hosts} skipped: {type(exc).__name__}")
                elem.clear()  # one host at a time: a big report is not held whole
            elif elem.tag == "prescript":
                out.add(nmap_codec.prescript_observations(elem, out.started))
            elif elem.tag == "finished":
                out.finished = nmap_codec.moment(elem.get("time"))
    except (defusedxml.DefusedXmlException, ValueError) as exc:
        raise InputFileError(f"{path}: refused: {_defused(exc)}") from None
    except ParseError as exc:
        if root is None or hosts == 0:
            raise InputFileError(f"{path}: not an nmap XML report ({exc})") from None
        # An interrupted nmap leaves a report without its end: what it wrote is kept, marked partial.
        out.notes.append(f"{name}: the report ends early ({exc}): {hosts} host(s) read")
        out.partial = True
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if root is None:
        raise InputFileError(f"{path}: empty input")
    return out.done()


def _defused(exc: Exception) -> str:
    import defusedxml

    if isinstance(exc, defusedxml.EntitiesForbidden):
        return "it declares XML entities (an entity-expansion bomb, or not nmap's output)"
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return "it references external XML resources"
    return str(exc)[:200]


def _check_size(path: str) -> None:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if size > MAX_INPUT_BYTES:
        raise InputFileError(f"{path}: larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")


# ----------------------------------------------------------------------------------- DHCP leases

PROBE_DHCP = "dhcp-leases"
"""The probe name lease observations carry: a DHCP server's record, not a packet camsweep heard."""

LEASE_FORMATS = ("isc", "dnsmasq", "kea")
"""``camsweep import dhcp --format`` choices (default: recognised from the file)."""


@dataclass(frozen=True)
class Lease:
    line: int
    ip: str | None
    mac: str | None
    hostname: str = ""
    vendor_class: str = ""
    param_list: str = ""


def read_leases(path: str, fmt: str | None = None) -> Imported:
    """A DHCP server's lease file: ISC dhcpd ``dhcpd.leases``, dnsmasq ``dnsmasq.leases`` or Kea's
    memfile CSV (``kea-leases4.csv``), recognised from its first line unless ``fmt`` says.

    A lease's MAC and IP place it; its host name, vendor class and parameter request list (where
    the server records them) become the ``dhcp.*`` fields the DHCP codec gives a packet, so the
    same rules (``fingerprints/dhcp.toml``) judge them. The newest lease per MAC (else per IP) wins:
    ISC's file is a log in which a later block replaces an earlier one.
    """
    text = read_text(path)
    fmt = fmt or lease_format(text, path)
    name = os.path.basename(path)
    out = Imported()
    reader = {"isc": _isc_leases, "dnsmasq": _dnsmasq_leases, "kea": _kea_leases}[fmt]
    latest: dict[str, Lease] = {}
    for item in reader(text):
        if isinstance(item, str):
            out.notes.append(f"{name}:{item}")
            continue
        latest[item.mac or item.ip or ""] = item
    for lease in latest.values():
        out.add(_lease_observations(lease, f"{name}:{lease.line}"))
    return out.done()


def lease_format(text: str, path: str) -> str:
    """Which lease file ``text`` is, from its first meaningful line; one line naming the formats if none."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.lower().startswith("address,"):
            return "kea"
        if re.match(r"(lease|host|failover|server-duid|authoring-byte-order|ia-na|ia-ta|ia-pd)\b", stripped):
            return "isc"
        if re.match(r"(\d+|duid) \S+", stripped):
            return "dnsmasq"
        break
    raise InputFileError(f"{path}: not a lease file camsweep reads (ISC dhcpd.leases, dnsmasq.leases, "
                         "Kea memfile CSV); name the format with --lease-format if it is one")


def _lease_observations(lease: Lease, where: str) -> Iterator[Observation]:
    if lease.mac:
        yield Observation.make(PROBE_DHCP, ArtefactKind.MAC_ADDRESS, ip=lease.ip, mac=lease.mac, raw=where,
                               fields=mac_fields(lease.mac))
    if lease.hostname or lease.vendor_class or lease.param_list:
        yield dhcp_codec.from_options(hostname=lease.hostname, vendor_class=lease.vendor_class,
                                      param_list=lease.param_list, probe=PROBE_DHCP, ip=lease.ip, mac=lease.mac)


Leases = Iterator["Lease | str"]
"""Leases, or ``"<line>: <why it was skipped>"``."""


def _placed(line: int, ip: str | None, mac_text: str, **options: str) -> Lease | str:
    mac = normalize_mac(mac_text) if mac_text and mac_text != "*" else None
    if mac_text and mac_text != "*" and mac is None:
        return f"{line}: lease skipped: hardware address {quote(mac_text[:60])} is not a MAC address"
    if not (ip or mac):
        return f"{line}: lease skipped: neither an IP nor a MAC address"
    return Lease(line, ip, mac, **{k: v for k, v in options.items() if v and v != "*"})


def _dnsmasq_leases(text: str) -> Leases:
    """``<expiry> <MAC> <IP> <hostname|*> <client-id|*>`` per line (dnsmasq's ``lease_update_file``);
    the DHCPv6 part (after a ``duid`` line) names no MAC."""
    for n, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if parts[0] == "duid":
            return  # what follows is DHCPv6 leases: IAIDs, no hardware addresses
        if len(parts) < 4 or not parts[0].isdigit():
            yield f"{n}: line skipped: not '<expiry> <MAC> <IP> <hostname> <client-id>'"
            continue
        ip = normalize_ip(parts[2])
        if ip is None:
            yield f"{n}: lease skipped: {quote(parts[2][:60])} is not an IP address"
            continue
        yield _placed(n, ip, parts[1], hostname=parts[3])


_ISC_BLOCK = re.compile(r"^lease\s+(\S+)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
_ISC_STATEMENT = re.compile(r'^\s*(?:set\s+)?([a-z][a-z0-9_-]*(?:\s+[a-z]+)?)\s*=?\s*("(?:[^"\\]|\\.)*"|[^;]*);', re.MULTILINE)


def _isc_leases(text: str) -> Leases:
    """``lease <IP> { ...; }`` blocks (``dhcpd.leases(5)``): ``hardware ethernet``,
    ``client-hostname``, and what the server was told to record with ``set`` (``set
    vendor-class-identifier = "..."``, e.g. ``set vendor-string = option vendor-class-identifier``
    in dhcpd.conf; a parameter request list likewise)."""
    for match in _ISC_BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        ip = normalize_ip(match[1])
        if ip is None:
            yield f"{line}: lease skipped: {quote(match[1][:60])} is not an IP address"
            continue
        values: dict[str, str] = {}
        for statement in _ISC_STATEMENT.finditer(match[2]):
            key, value = statement[1].strip(), statement[2].strip()
            values[key] = _isc_string(value) if value.startswith('"') else value
        if values.get("binding state") not in (None, "active"):
            continue  # free, expired, released, abandoned, backup: the address is not this client's now
        vendor = next((v for k, v in values.items() if "vendor" in k), "")
        params = next((v for k, v in values.items() if "param" in k or k in ("prl", "dhcp-parameter-request-list")), "")
        yield _placed(line, ip, values.get("hardware ethernet", ""), hostname=values.get("client-hostname", ""),
                      vendor_class=vendor, param_list=_param_numbers(params))


def _isc_string(value: str) -> str:
    """A quoted dhcpd.leases string: octal escapes (``\\001``) and ``\\"`` undone."""
    body = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
    return re.sub(r"\\([0-7]{3}|.)", lambda m: chr(int(m[1], 8)) if len(m[1]) == 3 else m[1], body)


def _param_numbers(value: str) -> str:
    """A recorded parameter request list as option numbers: ``1,3,6`` as written (dhcpd.conf
    ``binary-to-ascii(10, 8, ",", option dhcp-parameter-request-list)``), the colon-separated hex
    dhcpd writes for a binary value (``1:3:6:f``), or the option's bytes as an escaped string."""
    if re.fullmatch(r"[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2})+", value):
        return ",".join(str(int(x, 16)) for x in value.split(":"))
    if value and not re.fullmatch(r"[\d,\s]+", value) and all(ord(c) < 256 for c in value):
        return ",".join(str(ord(c)) for c in value)
    return value


_KEA_NEEDED = ("address", "hwaddr", "hostname")


def _kea_leases(text: str) -> Leases:
    """Kea's memfile CSV (``lease4``): a header row, then one row per lease update; a row with
    ``valid_lifetime`` 0 deletes the lease, ``state`` other than 0 is not the client's now.
    Kea writes a comma inside a host name as ``&#x2c``."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if not all(k in header for k in _KEA_NEEDED):
        raise InputFileError(f"Kea lease file: the header names no {', '.join(k for k in _KEA_NEEDED if k not in header)} column")
    index = {name: i for i, name in enumerate(header)}
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells) or cells[0].startswith("#"):
            continue
        row = {name: (cells[i].replace("&#x2c", ",").strip() if i < len(cells) else "") for name, i in index.items()}
        if row.get("state", "0") not in ("0", "") or row.get("valid_lifetime") == "0":
            continue
        ip = normalize_ip(row["address"])
        if ip is None:
            yield f"{line}: lease skipped: {quote(row['address'][:60])} is not an IP address"
            continue
        yield _placed(line, ip, row["hwaddr"], hostname=row["hostname"])
