"""TLS server certificates -> ``tls.*`` fields.

Names are RFC 4514 strings (``CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,...``) so rules written
against recog's examples match. ``from_names`` also accepts OpenSSL's one-line form
(``CN=NVR; C=CN; O=ZheJiang Dahua Technology CO.,LTD.``, as curl prints it) and rewrites it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..models import LIBRARY_WARNING, ArtefactKind, Observation
from ._common import DISCOVERY_LIMIT, BadInput, check_size, guarded, library_warnings
from ._spec import Field, Heard, Passive, ProtocolSpec

if TYPE_CHECKING:
    from ..jsonio import Reader

__all__ = ["SPEC", "from_der", "from_names", "name_attributes", "normalize_name"]

_ONE_LINE_PART = re.compile(r"^\s*[A-Za-z][A-Za-z0-9.]*\s*=")


def normalize_name(name: str) -> str:
    """An RFC 4514 string; OpenSSL's ``A=x; B=y`` / ``/A=x/B=y`` forms are rewritten as ``A=x,B=y``.

    The RDN order is kept as given (OpenSSL prints the certificate's order, RFC 4514 the reverse;
    a rule should match an attribute, not the order).
    """
    text = " ".join(str(name or "").split())
    parts: list[str] | None = None
    if "; " in text and all(_ONE_LINE_PART.match(p) for p in text.split("; ")):
        parts = text.split("; ")
    elif text.startswith("/") and all(_ONE_LINE_PART.match(p) for p in text[1:].split("/")):
        parts = text[1:].split("/")
    if parts is None:
        return text
    out = []
    for part in parts:
        key, _, value = part.partition("=")
        value = re.sub(r"(?<!\\)([,+;])", r"\\\1", value.strip())
        out.append(f"{key.strip()}={value}")
    return ",".join(out)


def name_attributes(rfc4514: str) -> dict[str, str]:
    """``CN=a,O=b\\, c`` -> ``{"cn": "a", "o": "b, c"}`` (first value of each attribute)."""
    out: dict[str, str] = {}
    for rdn in re.split(r"(?<!\\)[,+]", rfc4514):
        key, eq, value = rdn.partition("=")
        if not eq:
            continue
        key = key.strip().lower()
        value = re.sub(r"\\(.)", r"\1", value.strip())
        if key and key not in out:
            out[key] = value
    return out


def _name_fields(subject: str, issuer: str) -> dict[str, str]:
    fields = {"tls.subject": subject, "tls.issuer": issuer}
    for label, name in (("subject", subject), ("issuer", issuer)):
        attributes = name_attributes(name)
        for key in ("cn", "o", "ou"):
            if attributes.get(key):
                fields[f"tls.{label}.{key}"] = attributes[key]
    return fields


@guarded(ArtefactKind.TLS_CERTIFICATE, raw_arg="subject")
def from_names(
    subject: str,
    issuer: str,
    *,
    port: int,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """Subject and issuer as text (short form, other tools' output) -> TLS_CERTIFICATE."""
    subject_text, issuer_text = normalize_name(subject), normalize_name(issuer)
    if not subject_text and not issuer_text:
        raise BadInput("garbage", "neither subject nor issuer given")
    return Observation.make(
        probe, ArtefactKind.TLS_CERTIFICATE, ip=ip, mac=mac, port=port,
        raw=f"subject={subject_text}\nissuer={issuer_text}", fields=_name_fields(subject_text, issuer_text),
        time=time,
    )


@guarded(ArtefactKind.TLS_CERTIFICATE, raw_arg="der")
def from_der(
    der: bytes,
    *,
    port: int,
    probe: str,
    ip: str | None = None,
    mac: str | None = None,
    time: datetime | None = None,
) -> Observation:
    """A DER certificate as the server sent it -> TLS_CERTIFICATE with names, validity, digest."""
    from cryptography import x509

    check_size(der, DISCOVERY_LIMIT)
    with library_warnings(__file__) as complaints:  # e.g. a CN longer than RFC 5280's 64 characters
        try:
            cert = x509.load_der_x509_certificate(bytes(der))
            subject = cert.subject.rfc4514_string()
            issuer = cert.issuer.rfc4514_string()
        except (ValueError, TypeError) as exc:
            raise BadInput("garbage", f"not a DER X.509 certificate: {exc}") from None
    fields = _name_fields(subject, issuer)
    fields.update(
        {
            "tls.not_before": cert.not_valid_before_utc.isoformat(),
            "tls.not_after": cert.not_valid_after_utc.isoformat(),
            "tls.serial": format(cert.serial_number, "x"),
            "tls.sha256": hashlib.sha256(bytes(der)).hexdigest(),
            "tls.self_signed": "true" if subject == issuer else "false",
        }
    )
    return Observation.make(
        probe, ArtefactKind.TLS_CERTIFICATE, ip=ip, mac=mac, port=port,
        raw=f"subject={subject}\nissuer={issuer}\nsha256={fields['tls.sha256']}", fields=fields, time=time,
        problem=f"{LIBRARY_WARNING} {' | '.join(dict.fromkeys(complaints))}" if complaints else None,
    )


def _heard(heard: Heard) -> Iterator[tuple[Hashable, Observation]]:
    """The leaf certificate of a TLS 1.2 server flight (TLS 1.3 encrypts it: nothing to read)."""
    yield ("tls", heard.src, heard.sport), from_der(heard.payload, port=heard.sport, **heard.where())


def _short_form(r: Reader, where: dict[str, Any]) -> Iterator[Observation]:
    subject, issuer = r.opt_text("tls_subject"), r.opt_text("tls_issuer")
    if subject or issuer:
        yield from_names(subject or "", issuer or "", port=443, **where)


_NAMES = "RFC 4514 string, e.g. `CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,...`"
SPEC = ProtocolSpec(
    name="tls",
    title="TLS certificate",
    order=100,
    holds_connections=True,
    families={"tls": "TLS certificate"},
    fields={
        "tls.subject": Field("tls", f"subject, {_NAMES}"),
        "tls.issuer": Field("tls", f"issuer, {_NAMES}"),
        "tls.subject.cn": Field("tls", "subject CN"),
        "tls.subject.o": Field("tls", "subject O"),
        "tls.subject.ou": Field("tls", "subject OU"),
        "tls.issuer.cn": Field("tls", "issuer CN"),
        "tls.issuer.o": Field("tls", "issuer O"),
        "tls.issuer.ou": Field("tls", "issuer OU"),
        "tls.not_before": Field("tls", "validity start (ISO 8601)"),
        "tls.not_after": Field("tls", "validity end (ISO 8601)"),
        "tls.serial": Field("tls", "serial number (hex)"),
        "tls.sha256": Field("tls", "SHA-256 of the DER certificate"),
        "tls.self_signed": Field("tls", "`true` when subject and issuer are equal"),
    },
    short_form=("tls_subject", "tls_issuer"),
    read_short_form=_short_form,
    passive=Passive(_heard, tcp=(b"\x16\x03",), framing="tls"),
)
