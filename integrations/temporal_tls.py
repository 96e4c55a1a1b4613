"""What the settings say about reaching Temporal securely, read before anything connects.

Kept apart from `temporal_client.py`, which loads the SDK's native core, so that the `journeys`
command can check these settings first and cheaply, whatever it is about to do.
"""

from dataclasses import dataclass
from pathlib import Path

from settings import Settings, env_name


class TemporalTlsError(ValueError):
    """A Temporal TLS setting that cannot be used; the message is one line naming it."""


@dataclass(frozen=True, repr=False)
class TemporalTls:
    """The TLS material and API key the settings name, read from their files.

    `enabled` False means plain gRPC (development only: production refuses it). Without a CA
    the system's CAs verify the server; without a client certificate there is no mutual TLS.
    """

    enabled: bool
    server_ca: bytes | None = None
    client_cert: bytes | None = None
    client_key: bytes | None = None
    server_name: str | None = None
    api_key: str | None = None

    def __repr__(self) -> str:
        # The client key and the API key are secrets: never in a log line or a traceback.
        return (
            f"TemporalTls(enabled={self.enabled}, server_ca={self.server_ca is not None}, "
            f"client_cert={self.client_cert is not None}, server_name={self.server_name!r}, "
            f"api_key={'set' if self.api_key else None})"
        )


def temporal_tls(settings: Settings) -> TemporalTls:
    """The settings' TLS for Temporal, its files read now.

    Raises `TemporalTlsError`, naming the setting, for a file that is missing, unreadable or
    not PEM, and for a client certificate without its key or a key without its certificate.
    """
    cert, key = settings.temporal_tls_cert_file, settings.temporal_tls_key_file
    if (cert is None) != (key is None):
        given, missing = (
            ("temporal_tls_cert_file", "temporal_tls_key_file")
            if cert is not None
            else ("temporal_tls_key_file", "temporal_tls_cert_file")
        )
        raise TemporalTlsError(
            f"{env_name(given)} is set but {env_name(missing)} is not: mutual TLS needs the "
            "client certificate and its private key"
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    if settings.temporal_api_key is not None and not (api_key or "").strip():
        raise TemporalTlsError(f"{env_name('temporal_api_key')} is empty")
    server_name = settings.temporal_tls_server_name
    if server_name is not None and not server_name.strip():
        raise TemporalTlsError(f"{env_name('temporal_tls_server_name')} is empty")
    return TemporalTls(
        enabled=settings.temporal_tls_enabled,
        server_ca=_pem("temporal_tls_ca_file", settings.temporal_tls_ca_file, "CERTIFICATE"),
        client_cert=_pem("temporal_tls_cert_file", cert, "CERTIFICATE"),
        client_key=_pem("temporal_tls_key_file", key, "PRIVATE KEY"),
        server_name=server_name.strip() if server_name else None,
        api_key=api_key.strip() if api_key else None,
    )


def _pem(field: str, path: Path | None, kind: str) -> bytes | None:
    """The PEM file's bytes; `kind` is what its `-----BEGIN` line must name ("PRIVATE KEY"
    matches the PKCS#8, RSA and EC forms alike)."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise TemporalTlsError(f"{env_name(field)}: cannot read {path} ({reason})") from None
    begins = [line for line in data.splitlines() if line.startswith(b"-----BEGIN ")]
    if not any(kind.encode() in line for line in begins):
        raise TemporalTlsError(f"{env_name(field)}: {path} holds no PEM {kind.lower()}")
    return data
