"""The audit trail: who ran a scan, where and with what (recorded when the scan runs), and what
ties a report to the evidence it was rendered from.

* :func:`at_scan_time` -- the ScanResult fields every scan records as it runs: the operator,
  this host's name, the interface and its addresses, the tool's version. The engine and the
  passive readers call it; a report never fills them in later (whoever renders a report is not
  whoever ran the scan).
* :func:`evidence_digest` -- SHA-256 of the canonical JSON of a ScanResult (defined there), so
  an auditor can recompute it from the ``scan`` object of a JSON report or a stored scan.
* :func:`manifest` -- what every report shows about its own making (the fields above, the data
  versions, when the report was generated and the digest).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import __version__
from .models import ScanResult, utcnow

if TYPE_CHECKING:
    from .findings import Assessment


def login_name() -> str:
    """The person behind this process: the login name sudo was run from (``SUDO_USER``), else
    this process's login name; "" when neither can be found (a container with an unknown uid)."""
    behind_sudo = os.environ.get("SUDO_USER", "").strip()
    if behind_sudo:
        return behind_sudo
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no LOGNAME/USER and no passwd entry for the uid
        return ""


def interface_addresses(interface: str | None) -> tuple[str, ...]:
    """``interface``'s IPv4 addresses with their prefix (``198.18.0.2/24``), read from the kernel."""
    if not interface:
        return ()
    from .netif import interface_addresses as read

    return tuple(str(address) for address in read(interface))


def at_scan_time(*, interface: str | None = None) -> dict[str, Any]:
    """The audit fields of a ScanResult, as they are now: pass them to ``dataclasses.replace``.

    The operator is the login name behind sudo; ``--operator`` and ``--site`` (which the
    inventory files the scan under) are the run's settings, set on the result by the CLI
    (``cli/_finish.py``) before it is judged, saved or stored."""
    return {
        "operator": login_name(),
        "scanner_host": socket.gethostname(),
        "interface": interface or "",
        "interface_addresses": interface_addresses(interface),
        "tool_version": __version__,
    }


def canonical_json(result: ScanResult) -> bytes:
    """The bytes :func:`evidence_digest` hashes: ``result.to_dict()`` as JSON with keys sorted,
    no whitespace (``,`` and ``:`` separators) and every non-ASCII character escaped
    (``ensure_ascii``), so the text is ASCII and has one spelling.

    Recompute from a JSON report (README "Audit trail")::

        python3 -c 'import hashlib, json, sys; scan = json.load(sys.stdin)["scan"];
        print(hashlib.sha256(json.dumps(scan, sort_keys=True, separators=(",", ":")).encode()).hexdigest())' < report.json
    """
    return json.dumps(result.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def evidence_digest(result: ScanResult) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``result``: the evidence a report was rendered from."""
    return hashlib.sha256(canonical_json(result)).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a report says about its own making."""

    site: str
    operator: str
    scanner_host: str
    interface: str
    interface_addresses: tuple[str, ...]
    tool_version: str
    """The camsweep that ran the scan."""
    report_tool_version: str
    """The camsweep that rendered the report (it may be newer than the scan's)."""
    scan_started: datetime
    scan_finished: datetime
    generated: datetime
    evidence_sha256: str
    capture: str = ""
    data_versions: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "operator": self.operator,
            "scanner_host": self.scanner_host,
            "interface": self.interface,
            "interface_addresses": list(self.interface_addresses),
            "capture": self.capture,
            "tool_version": self.tool_version,
            "report_tool_version": self.report_tool_version,
            "scan_started": self.scan_started.isoformat(),
            "scan_finished": self.scan_finished.isoformat(),
            "generated": self.generated.isoformat(),
            "evidence_sha256": self.evidence_sha256,
            "data_versions": dict(self.data_versions),
        }


def manifest(assessment: Assessment, generated: datetime | None = None) -> Manifest:
    """The manifest of a report rendered now (or at ``generated``) from ``assessment``."""
    result = assessment.result
    return Manifest(
        site=result.site,
        operator=result.operator or assessment.operator or "",  # the library API may name it only when judging
        scanner_host=result.scanner_host,
        interface=result.interface,
        interface_addresses=tuple(result.interface_addresses),
        tool_version=result.tool_version,
        report_tool_version=__version__,
        scan_started=result.started,
        scan_finished=result.finished,
        generated=generated or utcnow(),
        evidence_sha256=evidence_digest(result),
        capture=result.capture,
        data_versions=dict(assessment.data_versions),
    )


SIGNATURE_NAMESPACE = "camsweep-report"
"""The ``-n`` namespace of report signatures: a signature made for a camsweep report cannot be
passed off as one for another purpose (a git commit, a login) and the reverse."""


def sign(data: bytes, key: str) -> bytes:
    """A detached SSH signature of ``data`` (``ssh-keygen -Y sign``, namespace
    ``camsweep-report``) made with the private key file ``key``: what ``FILE.sig`` holds.

    The data goes through stdin and the signature comes back on stdout, so nothing is written
    beside the report until both are ready. Raises UsageError (one line, exit 2) when the key
    cannot be read or used, or ssh-keygen is missing.
    """
    import shutil
    import subprocess

    from .errors import UsageError

    try:
        with open(key, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise UsageError(f"cannot read the signing key {key}: {exc.strerror or exc}") from None
    program = shutil.which("ssh-keygen")
    if program is None:
        raise UsageError("--sign needs ssh-keygen (Debian/Ubuntu package openssh-client)")
    done = subprocess.run([program, "-q", "-Y", "sign", "-f", key, "-n", SIGNATURE_NAMESPACE],
                          input=data, capture_output=True, check=False)
    if done.returncode != 0 or not done.stdout.startswith(b"-----BEGIN SSH SIGNATURE-----"):
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"cannot sign with {key}: {why[-1] if why else f'ssh-keygen exit {done.returncode}'}")
    return done.stdout
