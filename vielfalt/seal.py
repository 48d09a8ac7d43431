"""The portal's electronic seal: every PDF it issues is signed with the portal's certificate (PAdES, pyHanko), and
any PDF can be checked later for an intact seal of the portal.

The certificate and its key come from a PKCS#12 file (`SEAL_PKCS12_PATH`, `SEAL_PKCS12_PASSWORD`); with
`SEAL_TSA_URL` the seal carries a trusted timestamp of that time-stamping authority (PAdES-B-T), without it the
signing time the portal reports (PAdES-B-B). The check trusts a timestamp whose certificate chains to a root in
`SEAL_TSA_ROOTS`; with another, it still knows the seal but reports the portal's own time. The seal is written as an incremental update: the PDF/A revision the
renderer wrote stays byte for byte at the start of the sealed file.

With no file configured the portal looks for `<MEDIA_ROOT>/seal/portal-seal.p12` (what `seed_demo` creates, a
self-signed demo seal); with no seal at all, PDFs are issued unsealed and a warning is logged.
"""

import asyncio
import base64
import concurrent.futures
import datetime
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

SEAL_FIELD = "PortalSeal"
DEFAULT_SEAL_NAME = "seal/portal-seal.p12"


def seal_path() -> Path:
    configured = getattr(settings, "SEAL_PKCS12_PATH", "")
    return Path(configured) if configured else Path(settings.MEDIA_ROOT) / DEFAULT_SEAL_NAME


def _password() -> bytes | None:
    password = getattr(settings, "SEAL_PKCS12_PASSWORD", "")
    return password.encode() if password else None


@lru_cache(maxsize=4)
def _load_signer(path: str, mtime_ns: int, password: bytes | None):
    from pyhanko.sign import signers

    signer = signers.SimpleSigner.load_pkcs12(pfx_file=path, passphrase=password)
    if signer is None:  # pyHanko logs the reason and returns None
        raise ImproperlyConfiguredSeal(f"The seal {path} cannot be read (wrong password or not PKCS#12).")
    return signer


class ImproperlyConfiguredSeal(RuntimeError):
    pass


def signer():
    """The portal's signer, or None when no seal is configured."""
    path = seal_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        if getattr(settings, "SEAL_PKCS12_PATH", ""):
            raise ImproperlyConfiguredSeal(f"SEAL_PKCS12_PATH {path} does not exist.") from None
        return None
    return _load_signer(str(path), mtime_ns, _password())


def portal_certificate():
    """The seal's certificate (asn1crypto), or None."""
    current = signer()
    return current.signing_cert if current else None


def _run(make_coroutine):
    """Run one of pyHanko's coroutines to its end, also from a thread that has an event loop running
    (browser tests drive Chromium from one)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def seal_pdf(pdf: bytes) -> bytes:
    """`pdf` with the portal's seal appended as an incremental update (unchanged without a seal)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers, timestamps

    current = signer()
    if current is None:
        logger.warning("PDF issued without seal: no seal configured (SEAL_PKCS12_PATH)")
        return pdf
    tsa_url = getattr(settings, "SEAL_TSA_URL", "")
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        name=settings.PORTAL_OPERATOR["name"],
        location=settings.PORTAL_URL,
        reason="Ausgestellt vom Portal „Vielfalt verbindet“",
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=current,
        timestamper=timestamps.HTTPTimeStamper(tsa_url, timeout=10) if tsa_url else None,
    )
    output = io.BytesIO()

    async def sign():
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        await pdf_signer.async_sign_pdf(writer, output=output)

    _run(sign)
    return output.getvalue()


# --- Checking a PDF -----------------------------------------------------------------------------------------


CHECK_STATES = ("valid", "changed", "foreign", "unsealed", "unreadable", "unknown", "limit")


@dataclass(frozen=True)
class SealCheck:
    """What the portal can say about a PDF.

    `state` is one of: "valid" (sealed by the portal and unchanged since), "changed" (it carries the portal's
    seal, but the file was changed after sealing), "foreign" (signed, but not with the portal's seal),
    "unsealed" (a PDF without any signature), "unreadable" (not a PDF that can be read), "unknown" (the
    portal has no seal to compare with), "limit" (the check hit its bounds of time or memory: nothing can be said,
    see `check_pdf_bounded`)."""

    state: str
    signed_at: datetime.datetime | None = None
    timestamped: bool = False
    sha256: str = ""

    @property
    def issued_by_portal(self) -> bool:
        return self.state == "valid"


def check_pdf(data: bytes) -> SealCheck:
    """The check in this process: for the portal's own files (see `check_pdf_bounded` for anyone's upload)."""
    certificate = portal_certificate()
    if certificate is None:
        return SealCheck("unknown", sha256=hashlib.sha256(data).hexdigest())
    return _check(data, certificate, _tsa_roots())


def check_pdf_bounded(data: bytes) -> SealCheck:
    """`check_pdf` for a file anyone may send (the public page "Dokument prüfen"), with its cost bounded.

    Parsing a PDF costs what its author wants it to: a 2 MB file with 200,000 objects held a web worker for about
    9 s. So the file is parsed in a child process of the portal's Python, which limits its own address space to
    SEAL_CHECK_MEMORY_BYTES (and its CPU time) before it reads the file, and which is killed after
    SEAL_CHECK_TIMEOUT_SECONDS: nothing of the check outlives the request (a thread cannot be stopped, and
    would go on parsing). The child gets the portal's certificate and the authority's roots, never the seal's key
    nor the portal's environment. A check that hits a bound, or a child that ends without an answer, is
    "limit": the portal could not check the file in time, which says nothing about its seal."""
    sha256 = hashlib.sha256(data).hexdigest()
    certificate = portal_certificate()
    if certificate is None:
        return SealCheck("unknown", sha256=sha256)
    timeout = settings.SEAL_CHECK_TIMEOUT_SECONDS
    header = {
        "certificate": base64.b64encode(certificate.dump()).decode(),
        "roots": [base64.b64encode(root.dump()).decode() for root in _tsa_roots()],
        "memory": settings.SEAL_CHECK_MEMORY_BYTES,
        "cpu": int(timeout) + 1,
    }
    try:
        child = subprocess.run(  # noqa: S603  (the portal's own interpreter and module, no shell)
            [sys.executable, "-I", str(Path(__file__).resolve())],
            input=json.dumps(header).encode() + b"\n" + data,
            capture_output=True,
            timeout=timeout,
            env={"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child
        logger.info("Seal check: not finished within %s s", timeout)
        return SealCheck("limit", sha256=sha256)
    try:
        answer = json.loads(child.stdout)
        state = answer["state"]
        if state not in CHECK_STATES:
            raise ValueError(state)
        signed_at = datetime.datetime.fromisoformat(answer["signed_at"]) if answer.get("signed_at") else None
    except (ValueError, KeyError, TypeError):
        logger.warning(
            "Seal check: the checking process ended without an answer (exit status %s)", child.returncode
        )
        return SealCheck("limit", sha256=sha256)
    return SealCheck(state, signed_at=signed_at, timestamped=bool(answer.get("timestamped")), sha256=sha256)


def check_basis() -> str:
    """What a check's answer depends on besides the file, as a digest, for keeping the answer with a stored file
    (partnerships.services.document_seal_check): the portal's certificate (the seal is "valid" only with it;
    after a new one, "foreign") and the authority's roots (whether a timestamp is trusted, and so the time
    reported). And the time of the check: pyHanko validates the certificate at that time, so after the
    certificate's end the same file may answer otherwise; then there is no basis ("") and nothing is kept.
    Revocation is not fetched (`allow_fetching=False`), so nothing else from outside goes into the answer."""
    certificate = portal_certificate()
    if certificate is None or certificate.not_valid_after <= datetime.datetime.now(datetime.UTC):
        return ""
    digest = hashlib.sha256(certificate.dump())
    for root in _tsa_roots():
        digest.update(hashlib.sha256(root.dump()).digest())
    return digest.hexdigest()


def _check_in_child() -> None:
    """The child of `check_pdf_bounded` (`python -I vielfalt/seal.py`): a JSON line with the certificate, the
    roots and the limits, then the file on stdin; the answer as JSON on stdout."""
    import resource

    from asn1crypto import x509

    options = json.loads(sys.stdin.buffer.readline())
    resource.setrlimit(resource.RLIMIT_AS, (options["memory"], options["memory"]))
    resource.setrlimit(resource.RLIMIT_CPU, (options["cpu"], options["cpu"]))
    try:
        data = sys.stdin.buffer.read()
        certificate = x509.Certificate.load(base64.b64decode(options["certificate"]))
        roots = [x509.Certificate.load(base64.b64decode(root)) for root in options["roots"]]
        check = _check(data, certificate, roots)
    except MemoryError:
        check = SealCheck("limit")
    signed_at = check.signed_at.isoformat() if check.signed_at else None
    sys.stdout.write(
        json.dumps({"state": check.state, "signed_at": signed_at, "timestamped": check.timestamped})
    )


def _check(data: bytes, certificate, roots: list) -> SealCheck:
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        from pyhanko.pdf_utils.reader import PdfFileReader

        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = list(reader.embedded_signatures)
    except MemoryError:
        raise
    except Exception:  # any parse failure of untrusted input means: not a readable PDF
        logger.info("Seal check: the file cannot be read as PDF")
        return SealCheck("unreadable", sha256=sha256)
    if not signatures:
        return SealCheck("unsealed", sha256=sha256)
    ours = [
        signature
        for signature in signatures
        if signature.signer_cert is not None and signature.signer_cert.sha256 == certificate.sha256
    ]
    if not ours:
        return SealCheck("foreign", sha256=sha256)
    for signature in ours:
        status = _validate(signature, certificate, roots)
        if status is None:
            continue
        from pyhanko.sign.validation.status import SignatureCoverageLevel

        # pyHanko's bottom line wants a trusted timestamp too; the seal is the portal's whether or not the
        # authority's root is configured, but a damaged timestamp token is a changed file.
        timestamp = status.timestamp_validity
        timestamp_trusted = timestamp is not None and timestamp.trusted
        if (
            status.intact
            and status.valid
            and status.trusted
            and (timestamp is None or (timestamp.intact and timestamp.valid))
            and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
            and _gap_holds_only_the_signature(data, signature)
        ):
            return SealCheck(
                "valid",
                signed_at=timestamp.timestamp if timestamp_trusted else status.signer_reported_dt,
                timestamped=timestamp_trusted,
                sha256=sha256,
            )
    return SealCheck("changed", sha256=sha256)


def _gap_holds_only_the_signature(data: bytes, signature) -> bool:
    """The one part of a sealed file its digest cannot cover is the signature itself (/Contents, hex, padded
    with zeros). Its padding is not part of the signature, so a changed byte there would go unnoticed by the
    signature check: insist that the gap is exactly what pyHanko writes, the signature in upper-case hex and
    zeros."""
    from asn1crypto import cms

    _, first_length, second_start, _ = (int(value) for value in signature.byte_range)
    gap = data[first_length:second_start]
    signature_hex = cms.ContentInfo.load(signature.pkcs7_content, strict=False).dump().hex().upper().encode()
    padding = len(gap) - 2 - len(signature_hex)
    return padding >= 0 and gap == b"<" + signature_hex + b"0" * padding + b">"


def _tsa_roots() -> list:
    """The time-stamping authority's root certificates (SEAL_TSA_ROOTS, PEM), for checking timestamps."""
    from asn1crypto import pem, x509

    path = getattr(settings, "SEAL_TSA_ROOTS", "")
    if not path:
        return []
    return [x509.Certificate.load(der) for _, _, der in pem.unarmor(Path(path).read_bytes(), multiple=True)]


def _validate(signature, certificate, roots):
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(
        trust_roots=[certificate, *roots], allow_fetching=False, revocation_mode="soft-fail"
    )
    try:
        return _run(lambda: async_validate_pdf_signature(signature, context, skip_diff=True))
    except MemoryError:
        raise
    except Exception:  # a damaged signature of untrusted input: not a valid seal
        logger.info("Seal check: the portal's signature cannot be validated")
        return None


# --- A self-signed seal for the demo and the tests ----------------------------------------------------------


def create_self_signed_seal(path: Path, *, password: str = "", common_name: str = "") -> Path:
    """Write a PKCS#12 file with a new key and a self-signed seal certificate (valid for ten years).
    For the demo and the tests only: a real seal comes from a trust service provider."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.PORTAL_OPERATOR["name"][:64]),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name or "Vielfalt verbindet – Demo-Siegel"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    encryption = BestAvailableEncryption(password.encode()) if password else NoEncryption()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(b"portal-seal", key, certificate, None, encryption)
    )
    path.chmod(0o600)
    return path


if __name__ == "__main__":
    _check_in_child()
