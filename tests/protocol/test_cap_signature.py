"""XML signatures: sign, then verify against trust anchors; untrusted, invalid and absent verdicts."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from sirena.protocol.cap import NotCap, SignatureVerdict, SigningKeyError, UnsafeDocument, ingest, sign

NOW = datetime.now(UTC)
SENT = datetime(2025, 3, 1, 6, 15, tzinfo=UTC)


@dataclass(frozen=True)
class Signer:
    key_pem: bytes
    cert_pem: bytes
    public_pem: bytes
    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


def _signer(
    name: str,
    *,
    ec_key: bool = False,
    issuer: Signer | None = None,
    not_before: datetime = SENT - timedelta(days=30),
    not_after: datetime = NOW + timedelta(days=30),
    ca: bool = False,
) -> Signer:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key = ec.generate_private_key(ec.SECP256R1()) if ec_key else rsa.generate_private_key(65537, 2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return Signer(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        public_pem=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        cert=cert,
        key=key,
    )


@pytest.fixture(scope="module")
def authority() -> Signer:
    return _signer("Sirena alerting authority")


@pytest.fixture(scope="module")
def stranger() -> Signer:
    return _signer("Someone else", ec_key=True)


def _codes(issues: tuple[object, ...]) -> list[str]:
    return [getattr(issue, "code", "") for issue in issues]


def test_sign_then_verify_against_the_certificate_is_verified(alert_text: str, authority: Signer) -> None:
    signed = sign(alert_text.encode(), authority.key_pem, authority.cert_pem)
    report = ingest(signed, trust_anchors=[authority.cert_pem])
    assert report.signature is SignatureVerdict.VERIFIED
    assert report.schema_valid is True
    assert report.errors == ()
    assert report.warnings == ()
    assert report.messages[0].infos[0].headline == "Повітряна тривога в м. Київ"


@pytest.mark.parametrize("form", ["public_pem", "cert_der"])
def test_a_public_key_or_der_certificate_is_a_trust_anchor_too(alert_text: str, authority: Signer, form: str) -> None:
    signed = sign(alert_text.encode(), authority.key_pem, authority.cert_pem)
    assert ingest(signed, trust_anchors=[getattr(authority, form)]).signature is SignatureVerdict.VERIFIED


def test_ec_keys_sign_and_verify(alert_text: str, stranger: Signer) -> None:
    signed = sign(alert_text.encode(), stranger.key_pem, stranger.cert_pem)
    assert ingest(signed, trust_anchors=[stranger.cert_pem]).signature is SignatureVerdict.VERIFIED


def test_signed_by_another_key_is_untrusted(alert_text: str, authority: Signer, stranger: Signer) -> None:
    signed = sign(alert_text.encode(), stranger.key_pem, stranger.cert_pem)
    report = ingest(signed, trust_anchors=[authority.cert_pem])
    assert report.signature is SignatureVerdict.UNTRUSTED
    assert "signature_untrusted" in _codes(report.warnings)
    assert "CN=Someone else" in report.warnings[0].message


def test_without_trust_anchors_a_good_signature_is_only_untrusted(alert_text: str, authority: Signer) -> None:
    """The certificate inside the message proves integrity, never who sent it."""
    signed = sign(alert_text.encode(), authority.key_pem, authority.cert_pem)
    assert ingest(signed).signature is SignatureVerdict.UNTRUSTED


def test_tampered_content_is_invalid(alert_text: str, authority: Signer) -> None:
    signed = sign(alert_text.encode(), authority.key_pem, authority.cert_pem)
    tampered = signed.replace("м. Київ</areaDesc>".encode(), "м. Львів</areaDesc>".encode())
    assert tampered != signed
    report = ingest(tampered, trust_anchors=[authority.cert_pem])
    assert report.signature is SignatureVerdict.INVALID
    (error,) = [e for e in report.errors if e.code == "signature_invalid"]
    assert "Digest mismatch" in error.message
    assert error.path == "/alert/Signature"
    assert error.line is not None


def test_a_swapped_certificate_does_not_make_a_signature_valid(
    alert_text: str, authority: Signer, stranger: Signer
) -> None:
    """Replacing the carried certificate by a trusted one cannot pass off someone else's signature."""
    signed = sign(alert_text.encode(), stranger.key_pem, stranger.cert_pem)
    trusted = base64.b64encode(authority.cert_der)
    forged = re.sub(rb"(<ds:X509Certificate>)[^<]+(<)", rb"\g<1>" + trusted + rb"\g<2>", signed)
    assert forged != signed
    assert ingest(forged, trust_anchors=[authority.cert_pem]).signature is SignatureVerdict.INVALID


def test_absent_signature(alert_text: str, authority: Signer) -> None:
    assert ingest(alert_text.encode(), trust_anchors=[authority.cert_pem]).signature is SignatureVerdict.ABSENT


def test_reindented_after_signing_verifies_with_a_warning(alert_text: str, authority: Signer) -> None:
    compact = etree.tostring(etree.fromstring(alert_text.encode(), etree.XMLParser(remove_blank_text=True)))
    signed = sign(compact, authority.key_pem, authority.cert_pem)
    tree = etree.fromstring(signed)
    etree.indent(tree)
    pretty = etree.tostring(tree, xml_declaration=True, encoding="UTF-8")
    report = ingest(pretty, trust_anchors=[authority.cert_pem])
    assert report.signature is SignatureVerdict.VERIFIED
    assert "signature_whitespace" in _codes(report.warnings)


def test_a_certificate_issued_by_a_trusted_authority_is_verified(alert_text: str) -> None:
    ca = _signer("Sirena root", ca=True)
    leaf = _signer("Kyiv oblast sender", issuer=ca)
    signed = sign(alert_text.encode(), leaf.key_pem, leaf.cert_pem)
    assert ingest(signed, trust_anchors=[ca.cert_pem]).signature is SignatureVerdict.VERIFIED


def test_an_issued_certificate_not_valid_when_sent_is_only_untrusted(alert_text: str) -> None:
    ca = _signer("Sirena root", ca=True)
    late = _signer("Kyiv oblast sender", issuer=ca, not_before=SENT + timedelta(days=1))
    signed = sign(alert_text.encode(), late.key_pem, late.cert_pem)
    report = ingest(signed, trust_anchors=[ca.cert_pem])
    assert report.signature is SignatureVerdict.UNTRUSTED
    assert "signature_certificate_not_valid_when_sent" in _codes(report.warnings)


def test_a_pinned_certificate_is_verified_but_its_expiry_is_reported(alert_text: str) -> None:
    expired = _signer("Old sender", not_after=NOW - timedelta(days=1))
    signed = sign(alert_text.encode(), expired.key_pem, expired.cert_pem)
    report = ingest(signed, trust_anchors=[expired.cert_pem])
    assert report.signature is SignatureVerdict.VERIFIED
    assert "signature_certificate_expired" in _codes(report.warnings)


def test_a_signature_over_part_of_the_document_is_invalid(alert_text: str, authority: Signer) -> None:
    signed = sign(alert_text.encode(), authority.key_pem, authority.cert_pem)
    wrapped = signed.replace(b'URI=""', b'URI="#elsewhere"')
    report = ingest(wrapped, trust_anchors=[authority.cert_pem])
    assert report.signature is SignatureVerdict.INVALID
    assert "does not cover the whole alert" in report.errors[0].message


def test_sign_refuses_a_key_that_does_not_match_the_certificate(
    alert_text: str, authority: Signer, stranger: Signer
) -> None:
    with pytest.raises(SigningKeyError):
        sign(alert_text.encode(), authority.key_pem, stranger.cert_pem)


def test_sign_refuses_non_cap_and_unsafe_input(authority: Signer) -> None:
    with pytest.raises(NotCap):
        sign(b"<note>hello</note>", authority.key_pem, authority.cert_pem)
    with pytest.raises(UnsafeDocument):
        sign(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', authority.key_pem, authority.cert_pem)


def test_unreadable_trust_anchor_is_a_configuration_error(alert_text: str) -> None:
    with pytest.raises(SigningKeyError):
        ingest(alert_text.encode(), trust_anchors=[b"not a certificate"])
