"""Throwaway certificates for tests: a CA, server certificates and client certificates, as
PEM files in a directory, made with the `cryptography` package.

    tls = make_tls_files(tmp_path, server_names=["temporal-proxy"])
    tls.ca_cert, tls.server_cert, tls.server_key, tls.client_cert, tls.client_key

Server certificates name 127.0.0.1, localhost and whatever else is asked for; client
certificates carry the clientAuth usage that a proxy verifying clients (nginx's
`ssl_verify_client on`) requires. `CertificateAuthority` issues more of either, or a second
CA whose certificates the first one's verifiers must refuse.
"""

from dataclasses import dataclass
from pathlib import Path

from integrations.internal_pki import Authority, issue, new_authority, write_certificate, write_key

# Short-lived: a test's certificates need last only the test.
VALID_DAYS = 2
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


class CertificateAuthority:
    """A self-signed CA in `directory/<name>.pem` that issues certificates beside it, made by
    the package's own `integrations/internal_pki.py`."""

    def __init__(self, directory: Path, name: str = "ca") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._authority: Authority = new_authority(
            days=VALID_DAYS, common_name=f"Journeys test CA {name}"
        )
        self.cert = write_certificate(directory / f"{name}.pem", self._authority.certificate)

    def issue_server(self, name: str, names: list[str] | tuple[str, ...] = ()) -> Issued:
        """A server certificate for 127.0.0.1, localhost and `names`, in `<name>.pem` and
        `<name>.key`."""
        return self._issue(name, names=list(dict.fromkeys([*LOOPBACK_NAMES, *names])))

    def issue_client(self, name: str) -> Issued:
        """A client certificate whose common name is `name`, in `<name>.pem` and `<name>.key`."""
        return self._issue(name, names=[], client=True)

    def _issue(self, name: str, *, names: list[str], client: bool = False) -> Issued:
        certificate, key = issue(self._authority, name, names=names, client=client, days=VALID_DAYS)
        return Issued(
            cert=write_certificate(self.directory / f"{name}.pem", certificate),
            key=write_key(self.directory / f"{name}.key", key),
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
