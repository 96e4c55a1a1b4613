"""The email activity against the real local SMTP server: once per step, retried when down."""

import asyncio
import uuid
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from domain.notifications import NotificationKind, NotificationRequest
from integrations.mail import MailSender, MailUnavailable
from integrations.smtp import SmtpSender
from settings import Settings
from tests.email_activity import email_activities, new_inquiry
from tests.helpers import read_mailbox, text_of
from tests.journey_rows import store_inquiry


async def _journey(pool: asyncpg.Pool, **form: str) -> str:
    async with pool.acquire() as conn:
        stored = await store_inquiry(conn, **form)
    return stored.journey_id


def _ack(journey_id: str) -> NotificationRequest:
    return NotificationRequest(
        journey_id=journey_id, step="acknowledgement", kind=NotificationKind.ACKNOWLEDGEMENT
    )


async def test_a_step_is_sent_once_however_often_it_runs(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    journey_id = await _journey(pool)
    email = email_activities(pool, SmtpSender(host="127.0.0.1", port=settings.smtp_port))
    env = ActivityEnvironment()

    first = await env.run(email.send_notification, _ack(journey_id))
    again = await env.run(email.send_notification, _ack(journey_id))

    assert first.already_sent is False and again.already_sent is True
    assert first.message_id == again.message_id == f"<{journey_id}.acknowledgement@clinic.test>"
    messages = read_mailbox(mail_dir)
    assert len(messages) == 1
    assert messages[0]["Content-Language"] == "es"
    assert messages[0].get_body(preferencelist=("html",)) is not None, "HTML part present"
    attempts = await pool.fetchval(
        "SELECT attempts FROM outbox WHERE journey_id = $1", uuid.UUID(journey_id)
    )
    assert attempts == 2


class _FailsAfterSending:
    """Delivers, then fails as a worker crash between send and record would."""

    def __init__(self, real: MailSender) -> None:
        self.real = real
        self.calls = 0

    async def send(self, message: EmailMessage) -> None:
        self.calls += 1
        await self.real.send(message)
        if self.calls == 1:
            raise MailUnavailable("mail server unavailable (ConnectionResetError)", "lost")


async def test_the_documented_window_resends_with_the_same_message_id(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    journey_id = await _journey(pool)
    sender = _FailsAfterSending(SmtpSender(host="127.0.0.1", port=settings.smtp_port))
    email = email_activities(pool, sender)
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as lost:
        await env.run(email.send_notification, _ack(journey_id))
    assert (lost.value.type, lost.value.non_retryable) == ("MailUnavailable", False)
    await env.run(email.send_notification, _ack(journey_id))
    await env.run(email.send_notification, _ack(journey_id))

    ids = {m["Message-ID"].strip() for m in read_mailbox(mail_dir)}
    assert len(read_mailbox(mail_dir)) == 2 and len(ids) == 1, "resent once, same id"


async def test_smtp_down_fails_retryably_and_nothing_is_marked_sent(
    pool: asyncpg.Pool, mail_dir: Path
) -> None:
    journey_id = await _journey(pool)
    from devstack.ports import free_port

    email = email_activities(pool, SmtpSender(host="127.0.0.1", port=free_port(), timeout=2))
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(email.send_notification, _ack(journey_id))
    assert (raised.value.type, raised.value.non_retryable) == ("MailUnavailable", False)
    assert raised.value.__cause__ is None, "the connection error's text stays in the log"
    status = await pool.fetchval(
        "SELECT status FROM outbox WHERE journey_id = $1", uuid.UUID(journey_id)
    )
    assert status == "pending"


async def test_refused_recipient_is_not_retried_and_names_no_address(
    pool: asyncpg.Pool, mail_dir: Path
) -> None:
    """A 5xx from the server is final; the error text may be recorded, so it has no address."""
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
            return "550 no such user"

    from devstack.ports import free_port

    port = free_port()
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        journey_id = await _journey(pool)
        email = email_activities(pool, SmtpSender(host="127.0.0.1", port=port))
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(email.send_notification, _ack(journey_id))
    finally:
        await asyncio.to_thread(controller.stop)
    assert raised.value.non_retryable
    assert raised.value.type == "MailRejected"
    assert "example.org" not in str(raised.value)


async def test_staff_notification_goes_to_the_staff_address(
    pool: asyncpg.Pool, settings: Settings, mail_dir: Path
) -> None:
    journey_id = await _journey(pool)
    email = email_activities(pool, SmtpSender(host="127.0.0.1", port=settings.smtp_port))
    await ActivityEnvironment().run(
        email.send_notification,
        new_inquiry(journey_id),
    )
    [message] = read_mailbox(mail_dir)
    assert message["To"] == "staff@clinic.test"
    assert f"/staff/journeys/{journey_id}" in text_of(message), "the case page in the console"
