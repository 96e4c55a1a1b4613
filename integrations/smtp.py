"""Sending email over SMTP with aiosmtplib."""

import asyncio
from email.message import EmailMessage
from typing import Literal, Self

import aiosmtplib

from integrations.mail import MailDeferred, MailRejected, MailUnavailable
from settings import Settings


class SmtpSender:
    """Sends messages over a few kept-open connections; TLS and login as configured.

    Opening a connection (TCP, EHLO, STARTTLS or TLS, login) costs more than sending one
    notification, and a journey sends dozens, so up to `max_connections` connections stay
    open between messages, one message at a time on each. A connection idle for more than
    `check_after` seconds is checked with NOOP before it is used again (relays close idle
    clients), and one that fails is dropped, never reused.
    """

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
        max_connections: int = 4,
        check_after: float = 5.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout
        # A private CA (a relay with an internal certificate); None trusts the system's CAs.
        self._ca_file = ca_file
        self._slots = asyncio.Semaphore(max_connections)
        self._check_after = check_after
        # Open connections not in use, with when each was last used (the loop's clock).
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    async def send(self, message: EmailMessage) -> None:
        """Send `message`; raises `MailRejected`, `MailDeferred` or `MailUnavailable`."""
        try:
            await self._send(message)
        except (aiosmtplib.SMTPException, OSError) as err:
            code = getattr(err, "code", None)
            kind = f"{type(err).__name__} {code}" if code else type(err).__name__
            raise MailUnavailable(f"mail server unavailable ({kind})", str(err)) from None

    async def _send(self, message: EmailMessage) -> None:
        async with self._slots:
            smtp = await self._connection()
            try:
                await smtp.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as err:
                # The server refused the recipients of this message only; the connection
                # is still good (aiosmtplib has sent RSET).
                self._release(smtp)
                # Codes only: the addresses are personal data and this message may be
                # recorded.
                codes = sorted({r.code for r in err.recipients})
                reply = "; ".join(f"{r.code} {r.message}" for r in err.recipients)
                refusal = MailRejected if all(c >= 500 for c in codes) else MailDeferred
                raise refusal(f"recipient refused by the mail server ({codes})", reply) from None
            except aiosmtplib.SMTPResponseException as err:
                await _discard(smtp)
                refusal = MailRejected if err.code >= 500 else MailDeferred
                raise refusal(
                    f"mail server refused the message ({err.code})", f"{err.code} {err.message}"
                ) from None
            except BaseException:
                await _discard(smtp)
                raise
            self._release(smtp)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Say QUIT on every idle connection (at shutdown)."""
        idle, self._idle = self._idle, []
        for smtp, _ in idle:
            await _discard(smtp)

    async def _connection(self) -> aiosmtplib.SMTP:
        now = asyncio.get_running_loop().time()
        while self._idle:
            smtp, last_used = self._idle.pop()
            if not smtp.is_connected:
                continue
            if now - last_used < self._check_after:
                return smtp
            try:
                await smtp.noop()
            except (aiosmtplib.SMTPException, OSError):
                await _discard(smtp)
                continue
            return smtp
        smtp = self._new_connection()
        await smtp.connect()
        return smtp

    def _new_connection(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._security == "tls",
            start_tls=self._security == "starttls",
            timeout=self._timeout,
            cert_bundle=self._ca_file,
        )

    async def check(self) -> None:
        """Connect as sending does (TLS and login included), say NOOP, and QUIT: raises when
        the relay does not answer or refuses us. A connection of its own, never one of the
        kept ones, so a health check cannot disturb a message on its way."""
        smtp = self._new_connection()
        await smtp.connect()
        try:
            await smtp.noop()
        finally:
            await _discard(smtp)

    def _release(self, smtp: aiosmtplib.SMTP) -> None:
        if smtp.is_connected:
            self._idle.append((smtp, asyncio.get_running_loop().time()))


async def _discard(smtp: aiosmtplib.SMTP) -> None:
    if not smtp.is_connected:
        return
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


def smtp_sender(settings: Settings) -> SmtpSender:
    """The relay the settings name; the worker and the API (which sends a patient's fresh
    link itself) each hold one."""
    return SmtpSender(
        host=settings.smtp_target_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout_seconds,
        ca_file=settings.smtp_ca_file,
    )
