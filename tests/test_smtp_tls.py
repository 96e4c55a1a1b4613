"""SMTP with STARTTLS or implicit TLS and a login, against a real local server with TLS."""

import datetime as dt
import ipaddress
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devstack.ports import free_port
from integrations.mail import MailUnavailable
from integrations.smtp import SmtpSender


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


class _Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str | None, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((session.auth_data, envelope.content))
        return "250 OK"


def _authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
    # handled=False: the server answers a refusal with 535 (by default it sends nothing, and
    # the client would only time out).
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@test", "b@test", "tls"
    message.set_content("over TLS")
    return message


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_goes_over_tls_with_a_login(tmp_path: Path, security: str) -> None:
    cert_file, key_file = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    inbox, port = _Inbox(), free_port()
    options: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if security == "starttls"
        # aiosmtpd only counts STARTTLS as TLS for AUTH; implicit TLS is encrypted from the
        # first byte, so the check is lifted for it.
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_required=True,
        **options,
    )
    controller.start()

    def sender(password: str, ca_file: str | None) -> SmtpSender:
        mode: Literal["starttls", "tls"] = "starttls" if security == "starttls" else "tls"
        return SmtpSender(
            host="127.0.0.1",
            port=port,
            username="journeys",
            password=password,
            security=mode,
            ca_file=ca_file,
            timeout=3,
        )

    try:
        await sender("s3cret", str(cert_file)).send(_message())
        with pytest.raises(MailUnavailable, match="SMTPAuthenticationError 535"):
            await sender("nope", str(cert_file)).send(_message())
        # A certificate no trusted CA vouches for (aiosmtplib wraps it after STARTTLS).
        with pytest.raises(MailUnavailable) as untrusted:
            await sender("s3cret", None).send(_message())
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.value.reply
    finally:
        controller.stop()
    assert [login for login, _ in inbox.received] == [b"journeys"]
