"""Throwaway certificates for tests: a CA, server certificates and client certificates, as
PEM files in a directory, made with the `cryptography` package.

    tls = make_tls_files(tmp_path, server_names=["temporal-proxy"])
    tls.ca_cert, tls.server_cert, tls.server_key, tls.client_cert, tls.client_key

Server certificates name 127.0.0.1, localhost and whatever else is asked for; client
certificates carry the clientAuth usage that a proxy verifying clients (nginx's
`ssl_verify_client on`) requires. `CertificateAuthority` issues more of either, or a second
CA whose certificates the first one's verifiers must refuse.
"""

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID = timedelta(days=2)
# Backdated a little, so that a clock a few seconds behind the issuer's still accepts them.
BACKDATE = timedelta(minutes=5)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
PEM = serialization.Encoding.PEM

PrivateKey = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


def _key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _write(path: Path, data: bytes, *, private: bool = False) -> Path:
    path.write_bytes(data)
    if private:
        path.chmod(0o600)
    return path


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class CertificateAuthority:
    """A self-signed CA in `directory/<name>.pem` that issues certificates beside it."""

    def __init__(self, directory: Path, name: str = "ca") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._key = _key()
        self._subject = _name(f"Journeys test CA {name}")
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(self._subject)
            .issuer_name(self._subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + VALID)
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
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        self._certificate = certificate
        self.cert = _write(directory / f"{name}.pem", certificate.public_bytes(PEM))

    def issue_server(self, name: str, names: list[str] | tuple[str, ...] = ()) -> Issued:
        """A server certificate for 127.0.0.1, localhost and `names`, in `<name>.pem` and
        `<name>.key`."""
        return self._issue(
            name,
            names=[*LOOPBACK_NAMES, *names],
            usage=ExtendedKeyUsageOID.SERVER_AUTH,
        )

    def issue_client(self, name: str) -> Issued:
        """A client certificate whose common name is `name`, in `<name>.pem` and `<name>.key`."""
        return self._issue(name, names=[], usage=ExtendedKeyUsageOID.CLIENT_AUTH)

    def _issue(self, name: str, *, names: list[str], usage: x509.ObjectIdentifier) -> Issued:
        key = _key()
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self._subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + VALID)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(_san(names), critical=False)
        certificate = builder.sign(self._key, hashes.SHA256())
        return Issued(
            cert=_write(self.directory / f"{name}.pem", certificate.public_bytes(PEM)),
            key=_write(self.directory / f"{name}.key", _key_pem(key), private=True),
        )


@dataclass(frozen=True)
class TlsFiles:
    """A CA, a server certificate and a client certificate it issued, as PEM files."""

    directory: Path
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls_files(
    directory: Path,
    *,
    server_names: list[str] | tuple[str, ...] = (),
    client_name: str = "journeys-client",
) -> TlsFiles:
    """A fresh CA in `directory` with a server certificate (127.0.0.1, localhost and
    `server_names`) and a client certificate named `client_name`."""
    ca = CertificateAuthority(directory)
    server = ca.issue_server("server", server_names)
    client = ca.issue_client(client_name)
    return TlsFiles(
        directory=directory,
        ca_cert=ca.cert,
        server_cert=server.cert,
        server_key=server.key,
        client_cert=client.cert,
        client_key=client.key,
    )
