"""Sending email over SMTP with aiosmtplib."""

from email.message import EmailMessage
from typing import Literal, Protocol

import aiosmtplib


class MailRejected(Exception):
    """The server refused the message for good (a 5xx answer): retrying will not help."""


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpSender:
    """Sends one message per connection; TLS and login as configured."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        security: Literal["none", "starttls", "tls"] = "none",
        timeout: float = 30.0,
        ca_file: str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout
        # A private CA (a relay with an internal certificate); None trusts the system's CAs.
        self._ca_file = ca_file

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout,
                cert_bundle=self._ca_file,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            if all(r.code >= 500 for r in err.recipients):
                # Codes only: the addresses are personal data and this message may be recorded.
                codes = sorted({r.code for r in err.recipients})
                raise MailRejected(f"recipient refused by the mail server ({codes})") from err
            raise
        except aiosmtplib.SMTPResponseException as err:
            if err.code >= 500:
                raise MailRejected(f"mail server refused the message ({err.code})") from err
            raise
