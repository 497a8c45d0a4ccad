"""TLS codec: real certificate names (recog, rroller/dahua#647), DER parsing, garbage."""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from pathlib import Path

from camsweep.models import FIELD_LIMIT, ArtefactKind
from camsweep.protocols import tls
from camsweep.protocols._common import library_warnings
from tests.hostile_inputs import long_cn_certificate

REPLIES = Path(__file__).parent / "fixtures" / "replies"


def _names() -> dict[str, tuple[str, str]]:
    out = {}
    for line in (REPLIES / "tls_names.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            label, subject, issuer = line.split("\t")
            out[label] = (subject, issuer)
    return out


def test_hikvision_dvr_subject_from_recog() -> None:
    subject, issuer = _names()["hikvision-dvr"]
    obs = tls.from_names(subject, issuer, port=443, probe="tls", ip="198.18.0.10")
    assert obs.problem is None
    assert obs.kind is ArtefactKind.TLS_CERTIFICATE
    assert obs.port == 443
    assert obs.fields["tls.subject"] == "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN"
    assert obs.fields["tls.subject.o"] == "HIKVISION"
    assert obs.fields["tls.subject.ou"] == "DVRNVR"
    assert obs.fields["tls.subject.cn"] == "www.hikvision.com"
    assert "tls.issuer" not in obs.fields  # empty issuer is not a field


def test_dahua_openssl_one_line_names_rewritten_to_rfc4514() -> None:
    subject, issuer = _names()["dahua-camera-2024"]
    obs = tls.from_names(subject, issuer, port=443, probe="tls")
    assert obs.problem is None
    assert obs.fields["tls.subject"] == "CN=192.168.20.92,C=CN"
    assert obs.fields["tls.issuer"] == (
        "CN=NVR,C=CN,ST=Zhejiang,L=Hangzhou,O=ZheJiang Dahua Technology CO.\\,LTD.,OU=NVR"
    )
    assert obs.fields["tls.issuer.o"] == "ZheJiang Dahua Technology CO.,LTD."
    assert obs.fields["tls.issuer.cn"] == "NVR"


def test_name_helpers() -> None:
    assert tls.normalize_name("/C=CN/O=Hikvision/CN=GA") == "C=CN,O=Hikvision,CN=GA"
    assert tls.normalize_name("  CN=a,  O=b ") == "CN=a, O=b"
    assert tls.name_attributes("CN=x\\,y+OU=z,O=Cisco Systems\\, Inc,C=US") == {
        "cn": "x,y", "ou": "z", "o": "Cisco Systems, Inc", "c": "US",
    }


def test_empty_names_are_a_problem() -> None:
    obs = tls.from_names("", "", port=443, probe="tls")
    assert obs.problem is not None and obs.problem.startswith("garbage:")
    assert obs.fields == {}


def _self_signed_der() -> bytes:
    # Synthetic certificate built here (no device's key is copied): it exercises the DER path.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "HIKVISION"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "DVRNVR"),
        x509.NameAttribute(NameOID.COMMON_NAME, "www.hikvision.com"),
    ])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(0x1234ABCD).not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def test_from_der() -> None:
    der = _self_signed_der()
    obs = tls.from_der(der, port=8443, probe="tls", ip="198.18.0.10")
    assert obs.problem is None
    f = obs.fields
    assert f["tls.subject"] == "CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,C=CN"
    assert f["tls.issuer"] == f["tls.subject"]
    assert f["tls.self_signed"] == "true"
    assert f["tls.serial"] == "1234abcd"
    assert f["tls.not_before"] == "2020-01-01T00:00:00+00:00"
    assert f["tls.not_after"] == "2029-12-29T00:00:00+00:00"
    assert f["tls.sha256"] == hashlib.sha256(der).hexdigest()
    assert obs.port == 8443


def test_der_garbage_and_oversize_are_problems() -> None:
    for data, slug in ((b"\x30\x82\x01\x00garbage", "garbage"), (b"\x30" * 70000, "oversize"), (b"", "garbage")):
        obs = tls.from_der(data, port=443, probe="tls")
        assert obs.problem is not None and obs.problem.startswith(slug + ":"), obs.problem
        assert obs.fields == {}
        assert obs.port == 443


def test_a_library_warning_on_device_input_is_the_observations_problem_not_stderr() -> None:
    """cryptography warns twice (subject, issuer) about a 10,000-character CN; the warning is
    recorded on the observation, the certificate's other names stay evidence, nothing escapes."""
    der = long_cn_certificate()
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        o = tls.from_der(der, port=443, probe="tls", ip="198.18.0.5")
    assert escaped == []
    assert o.problem is not None and o.problem.startswith("library-warning: UserWarning: Attribute's length")
    assert "but it was 10000" in o.problem and " | " not in o.problem  # the same warning twice is said once
    assert o.usable and o.fields["tls.subject.o"] == "HIKVISION" and len(o.fields["tls.subject.cn"]) == FIELD_LIMIT


def test_another_threads_warning_is_not_swallowed_while_a_certificate_is_parsed() -> None:
    with warnings.catch_warnings(record=True) as outer:
        warnings.simplefilter("always")
        with library_warnings(tls.__file__) as caught:
            warnings.warn("not about a certificate", RuntimeWarning, stacklevel=1)
    assert caught == [] and [str(w.message) for w in outer] == ["not about a certificate"]
