"""A private certificate authority for the TLS between the stack's own parts.

The production stack talks TLS inside itself, where no public authority issues names: the
worker and the API present a client certificate to the proxy in front of Temporal (mutual
TLS), and reach the mail relay over STARTTLS. `journeys internal-certs` makes such an
authority and the certificates those parts need, for an operator without a PKI of their own
(docs/operations.md, "TLS"); the production-shaped test uses it too. The public site's
certificate comes from a public authority, never from here.

Keys are ECDSA P-256, written readable by their owner only; certificates last
`days` (a year by default) and say what they are for (server or client authentication).
"""

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "Patient Journeys internal CA"


@dataclass(frozen=True)
class Authority:
    """A CA's certificate and key, in memory, to issue with."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _alt_names(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def new_authority(*, days: int = 3650, common_name: str = CA_NAME) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def issue(
    authority: Authority,
    common_name: str,
    *,
    names: Sequence[str] = (),
    client: bool = False,
    days: int = 365,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate for a server (its host names and addresses in `names`) or, with
    `client`, for a client that proves who it is with it."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
    )
    if names:
        builder = builder.add_extension(_alt_names(names), critical=False)
    return builder.sign(authority.key, hashes.SHA256()), key


def write_certificate(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """The key in PEM, created readable by its owner only (never briefly world-readable)."""
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


@dataclass(frozen=True)
class InternalCertificates:
    """The files `write_internal_certificates` made, by what they are for."""

    ca: Path
    temporal_server: tuple[Path, Path]
    temporal_client: tuple[Path, Path]
    mail: tuple[Path, Path]


def write_internal_certificates(
    folder: Path,
    *,
    temporal_names: Sequence[str] = ("temporal.internal",),
    mail_names: Sequence[str] = ("mailcatcher",),
    days: int = 365,
) -> InternalCertificates:
    """The internal CA and the certificates the stack's own TLS needs, in `folder`, under the
    names docker-compose.yml reads: `internal-ca.pem`; `temporal-server.pem` (the proxy in
    front of Temporal), `temporal-client.pem` (the worker, the API and `journeys setup`), and
    `mail.pem` (the mail relay), each with its `-key.pem`. The CA's own key is not kept:
    another certificate comes from running this again, for every part at once."""
    folder.mkdir(parents=True, exist_ok=True)
    authority = new_authority()

    def pair(stem: str, common_name: str, names: Sequence[str], client: bool) -> tuple[Path, Path]:
        certificate, key = issue(authority, common_name, names=names, client=client, days=days)
        return (
            write_certificate(folder / f"{stem}.pem", certificate),
            write_key(folder / f"{stem}-key.pem", key),
        )

    return InternalCertificates(
        ca=write_certificate(folder / "internal-ca.pem", authority.certificate),
        temporal_server=pair("temporal-server", temporal_names[0], temporal_names, False),
        temporal_client=pair("temporal-client", "journeys-app", (), True),
        mail=pair("mail", mail_names[0], mail_names, False),
    )
