"""XML signatures on CAP alerts (enveloped XML-DSig in the ``ds:Signature`` slot at the end of a CAP 1.2 alert).

A signature is first checked against the key it carries (its X.509 certificate or KeyValue), with signxml and
its XML-DSig schema check; trust is then a separate question, answered only by the caller's trust anchors:

- ``verified``: it verifies and its key is a trust anchor's key, or its certificate was issued by a trust anchor
  and was valid when the message says it was sent;
- ``untrusted``: it verifies against the key it carries, but that key is not trusted;
- ``invalid``: it does not verify (tampered content, broken certificate, schema-invalid signature, refused
  algorithm such as SHA-1);
- ``absent``: no signature.

Messages re-indented after signing verify only once whitespace-only text between elements is removed; that is
accepted and reported as a warning. Certificate dates never decide the cryptographic check; they are reported.
"""

from __future__ import annotations

import base64
import copy
import importlib.util
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

from sirena.protocol.cap import vocabulary as v
from sirena.protocol.cap.document import parse_xml
from sirena.protocol.cap.errors import NotCap, SigningKeyError
from sirena.protocol.cap.issues import IssueLog
from sirena.protocol.cap.model import SignatureVerdict
from sirena.protocol.cap.tree import element_path, line_of

_SIGNATURE: Final = f"{{{v.NS_DSIG}}}Signature"
_X509_CERTIFICATE: Final = f"{{{v.NS_DSIG}}}X509Certificate"
_KEY_VALUE: Final = f"{{{v.NS_DSIG}}}KeyValue"
_SIGNED_INFO: Final = f"{{{v.NS_DSIG}}}SignedInfo"
_REFERENCE: Final = f"{{{v.NS_DSIG}}}Reference"
_RANK: Final = MappingProxyType(
    {SignatureVerdict.INVALID: 0, SignatureVerdict.UNTRUSTED: 1, SignatureVerdict.VERIFIED: 2}
)


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """A key the caller trusts: its SubjectPublicKeyInfo (DER) and, when given as one, its certificate."""

    public_key: bytes
    certificate: x509.Certificate | None = None


def _spki(key: object) -> bytes:
    public_bytes = getattr(key, "public_bytes", None)
    if public_bytes is None:
        raise TypeError("not a public key")
    der = public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if not isinstance(der, bytes):
        raise TypeError("not a public key")
    return der


def load_trust_anchors(items: Sequence[bytes]) -> tuple[TrustAnchor, ...]:
    """Certificates or public keys, PEM (several certificates per item allowed) or DER."""
    anchors: list[TrustAnchor] = []
    for index, item in enumerate(items):
        found: list[TrustAnchor] = []
        if b"-----BEGIN" in item:
            if b"CERTIFICATE-----" in item:
                try:
                    certs = x509.load_pem_x509_certificates(item)
                except ValueError:
                    certs = []
                found = [TrustAnchor(_spki(c.public_key()), c) for c in certs]
            elif b"PUBLIC KEY-----" in item:
                try:
                    found = [TrustAnchor(_spki(serialization.load_pem_public_key(item)))]
                except (ValueError, TypeError):
                    found = []
        else:
            try:
                cert = x509.load_der_x509_certificate(item)
                found = [TrustAnchor(_spki(cert.public_key()), cert)]
            except ValueError:
                try:
                    found = [TrustAnchor(_spki(serialization.load_der_public_key(item)))]
                except (ValueError, TypeError):
                    found = []
        if not found:
            raise SigningKeyError("cap.bad_trust_anchor", index=index)
        anchors.extend(found)
    return tuple(anchors)


@dataclass(frozen=True, slots=True)
class _Outcome:
    verdict: SignatureVerdict
    reason: str = ""
    whitespace: bool = False
    certificate: x509.Certificate | None = None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "verification failed"
    return f"{type(exc).__name__}: {text}"[:300]


def _strip_blank_text(root: etree._Element) -> None:
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None


def _variants(alert: etree._Element, index: int, count: int) -> Iterator[tuple[etree._Element, bool]]:
    """Copies of ``alert`` in which signature ``index`` is the first: as received, then alone; raw, then stripped."""
    layouts = ([None] if index == 0 else []) + ([index] if count > 1 else [])
    for stripped in (False, True):
        for alone in layouts:
            doc = copy.deepcopy(alert)
            if alone is not None:
                for position, sig in enumerate([c for c in doc if c.tag == _SIGNATURE]):
                    if position != alone:
                        doc.remove(sig)
            if stripped:
                _strip_blank_text(doc)
            yield doc, stripped


def _certificates(signature: etree._Element) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for element in signature.iter(_X509_CERTIFICATE):
        der = base64.b64decode("".join((element.text or "").split()), validate=True)
        certs.append(x509.load_der_x509_certificate(der))
    return certs


def _covers_whole_alert(signature: etree._Element, alert: etree._Element) -> bool:
    """One reference, to the whole document (``URI=""``) or to the alert itself by its Id: no wrapping."""
    references = signature.findall(f"{_SIGNED_INFO}/{_REFERENCE}")
    if len(references) != 1:
        return False
    uri = references[0].get("URI")
    if uri == "":
        return True
    ids = {alert.get(name) for name in ("Id", "ID", "id")} - {None}
    return uri is not None and uri.startswith("#") and uri[1:] in ids


def _check(doc: etree._Element, anchors: Sequence[TrustAnchor]) -> tuple[bytes, x509.Certificate | None]:
    """Verify the first signature of ``doc`` with the key it carries; the key (SPKI DER) and certificate used."""
    from signxml.verifier import SignatureConfiguration, XMLVerifier

    signature = next(c for c in doc if c.tag == _SIGNATURE)
    if not _covers_whole_alert(signature, doc):
        raise ValueError("the signature does not cover the whole alert")
    certs = _certificates(signature)
    candidates: list[x509.Certificate | None] = list(certs)
    if not certs and signature.find(f".//{_KEY_VALUE}") is None:
        candidates = [a.certificate for a in anchors if a.certificate is not None]
    elif not certs:
        candidates = [None]
    failure: BaseException | None = None
    for cert in candidates:
        try:
            if cert is None:
                config = SignatureConfiguration(require_x509=False, location="./")
                result = XMLVerifier().verify(doc, expect_config=config)
            else:
                # Dates are reported, not enforced: check at a moment inside the certificate's validity.
                config = SignatureConfiguration(location="./", verification_time=cert.not_valid_before_utc)
                result = XMLVerifier().verify(doc, x509_cert=cert, expect_config=config)
        except Exception as exc:  # any failure of the verifier means "does not verify"
            failure = failure or exc
            continue
        if isinstance(result, list) or result.signed_xml is None or result.signed_xml.tag != doc.tag:
            raise ValueError("the signature does not cover the whole alert")
        return _spki(serialization.load_pem_public_key(result.signature_key)), cert
    raise failure or ValueError("no key to verify the signature with")


def _issued_by_anchor(
    cert: x509.Certificate, chain: Sequence[x509.Certificate], anchors: Sequence[TrustAnchor]
) -> bool:
    current = cert
    for _ in range(len(chain) + 1):
        for anchor in anchors:
            if anchor.certificate is not None:
                try:
                    current.verify_directly_issued_by(anchor.certificate)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                return True
        issuer = None
        for other in chain:
            if other is current:
                continue
            try:
                current.verify_directly_issued_by(other)
            except (ValueError, TypeError, InvalidSignature):
                continue
            issuer = other
            break
        if issuer is None:
            return False
        current = issuer
    return False


def _valid_at(cert: x509.Certificate, moment: datetime | None) -> bool:
    return moment is not None and cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def _verify_one(
    alert: etree._Element, index: int, count: int, anchors: Sequence[TrustAnchor], sent: datetime | None
) -> _Outcome:
    first_failure: BaseException | None = None
    for doc, stripped in _variants(alert, index, count):
        try:
            key, cert = _check(doc, anchors)
        except Exception as exc:  # recorded; the next variant may still verify
            first_failure = first_failure or exc
            continue
        trusted = any(anchor.public_key == key for anchor in anchors)
        if not trusted and cert is not None and _valid_at(cert, sent):
            signature = next(c for c in doc if c.tag == _SIGNATURE)
            trusted = _issued_by_anchor(cert, _certificates(signature), anchors)
        verdict = SignatureVerdict.VERIFIED if trusted else SignatureVerdict.UNTRUSTED
        return _Outcome(verdict, whitespace=stripped, certificate=cert)
    reason = _reason(first_failure) if first_failure else "verification failed"
    return _Outcome(SignatureVerdict.INVALID, reason=reason)


def verify_alert(
    alert: etree._Element,
    anchors: Sequence[TrustAnchor],
    *,
    sent: datetime | None,
    log: IssueLog,
) -> SignatureVerdict:
    """The verdict on the enveloped signatures of ``alert`` (the best one counts), with findings logged."""
    signatures = [c for c in alert if c.tag == _SIGNATURE]
    if not signatures:
        return SignatureVerdict.ABSENT
    if importlib.util.find_spec("signxml") is None:
        reason = "XML signature support is not installed (pip install 'sirena[sign]')"
        log.error("signature_invalid", element_path(signatures[0]), line_of(signatures[0]), reason=reason)
        return SignatureVerdict.INVALID
    outcomes = [_verify_one(alert, i, len(signatures), anchors, sent) for i in range(len(signatures))]
    best_index = max(range(len(outcomes)), key=lambda i: _RANK[outcomes[i].verdict])
    best = outcomes[best_index]
    path = element_path(signatures[best_index])
    line = line_of(signatures[best_index])
    if best.verdict is SignatureVerdict.INVALID:
        log.error("signature_invalid", path, line, reason=outcomes[0].reason)
        return best.verdict
    for i, outcome in enumerate(outcomes):
        if outcome.verdict is SignatureVerdict.INVALID:
            log.warning(
                "signature_extra_invalid", element_path(signatures[i]), line_of(signatures[i]), reason=outcome.reason
            )
    if best.whitespace:
        log.warning("signature_whitespace", path, line)
    cert = best.certificate
    if best.verdict is SignatureVerdict.UNTRUSTED:
        signer = cert.subject.rfc4514_string() if cert is not None else "KeyValue"
        log.warning("signature_untrusted", path, line, signer=signer)
    if cert is not None:
        if cert.not_valid_after_utc < datetime.now(UTC):
            log.warning("signature_certificate_expired", path, line, not_after=cert.not_valid_after_utc.isoformat())
        if sent is not None and not _valid_at(cert, sent):
            log.warning(
                "signature_certificate_not_valid_when_sent",
                path,
                line,
                not_before=cert.not_valid_before_utc.isoformat(),
                not_after=cert.not_valid_after_utc.isoformat(),
            )
    return best.verdict


def weakest(verdicts: Sequence[SignatureVerdict]) -> SignatureVerdict:
    """One verdict for several alerts: invalid, then absent, then untrusted, then verified."""
    order = (
        SignatureVerdict.INVALID,
        SignatureVerdict.ABSENT,
        SignatureVerdict.UNTRUSTED,
        SignatureVerdict.VERIFIED,
    )
    for verdict in order:
        if verdict in verdicts:
            return verdict
    return SignatureVerdict.ABSENT


def sign(xml_bytes: bytes, key_pem: bytes, cert_pem: bytes) -> bytes:
    """``xml_bytes`` (a CAP alert) with an enveloped XML signature by ``key_pem``, carrying ``cert_pem``.

    RSA keys sign with RSA-SHA256, EC keys with ECDSA-SHA256; digests are SHA-256 and canonicalisation is
    exclusive XML canonicalisation. The result is returned byte for byte as signed: do not re-indent it.
    """
    try:
        from signxml.algorithms import (
            CanonicalizationMethod,
            DigestAlgorithm,
            SignatureConstructionMethod,
            SignatureMethod,
        )
        from signxml.signer import XMLSigner
    except ImportError:
        raise SigningKeyError("cap.sign_unavailable") from None

    root = parse_xml(xml_bytes, IssueLog())
    qname = etree.QName(root)
    if qname.localname != "alert" or v.version_of(qname.namespace) is None:
        raise NotCap("cap.not_cap_root", root=qname.localname, namespace=qname.namespace or "(none)")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError("cap.bad_signing_key", reason=_reason(exc)) from None
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise SigningKeyError("cap.bad_signing_key", reason="only RSA and EC keys are supported")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise SigningKeyError("cap.bad_signing_key", reason="the certificate is not the key's")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=[cert])
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
