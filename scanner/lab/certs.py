"""Self-signed TLS certificates with a profile's subject/issuer, generated once and cached."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

CERTS_ENV = "CAMSWEEP_LAB_CERTS"
"""A folder to keep the certificates in instead of the cache (``camsweep demo``: a temporary one,
so that it leaves nothing behind); the lab's emulators inherit it."""


def default_cache_dir() -> Path:
    if os.environ.get(CERTS_ENV):
        return Path(os.environ[CERTS_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "camsweep" / "lab-certs"


def certificate_files(subject: str, issuer: str | None = None, cache_dir: Path | None = None) -> tuple[str, str]:
    """(cert.pem, key.pem) paths for a certificate with these RFC 4514 names; made on first use.

    The issuer name may differ from the subject (real cameras ship such certificates); the
    certificate is still signed with its own key, since only the names matter to a fingerprint.
    """
    issuer = issuer or subject
    cache_dir = cache_dir or default_cache_dir()
    digest = hashlib.sha256(f"{subject}\n{issuer}".encode()).hexdigest()[:20]
    cert_path, key_path = cache_dir / f"{digest}.crt", cache_dir / f"{digest}.key"
    if cert_path.exists() and key_path.exists():
        return str(cert_path), str(key_path)
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name.from_rfc4514_string(subject))
        .issuer_name(x509.Name.from_rfc4514_string(issuer))
        .public_key(key.public_key())
        .serial_number(int(digest, 16))
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    _write_new(cache_dir, key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    _write_new(cache_dir, cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return str(cert_path), str(key_path)


def _write_new(cache_dir: Path, target: Path, data: bytes) -> None:
    """Write via a fresh temporary file: created exclusively and 0600 (never through a planted
    symlink -- the lab runs as root and the cache may sit in a user's home), then renamed."""
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
