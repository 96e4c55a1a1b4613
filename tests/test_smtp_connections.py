"""The SMTP sender keeps connections open between messages, and recovers when the relay drops
them: every message is delivered once, over as few connections as the load needs."""

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from devstack.ports import free_port
from integrations.mail import MailRejected, MailUnavailable
from integrations.smtp import SmtpSender


class _Relay:
    """Counts the connections (SMTP sessions) that delivered messages, and what they carried."""

    def __init__(self) -> None:
        self.sessions: set[int] = set()
        self.subjects: list[str] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sessions.add(id(session))
        subject = next(
            line.split(":", 1)[1].strip()
            for line in envelope.content.decode().splitlines()
            if line.startswith("Subject:")
        )
        self.subjects.append(subject)
        return "250 OK"


class _Server:
    """The relay on a fixed port, which can go down and come back (a new controller each
    time: a stopped one cannot start again)."""

    def __init__(self, handler: _Relay) -> None:
        self.handler = handler
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def relay() -> Iterator[tuple[_Relay, int, _Server]]:
    server = _Server(_Relay())
    server.start()
    try:
        yield server.handler, server.port, server
    finally:
        server.stop()


def _message(subject: str, to: str = "patient@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "journeys@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("body")
    return message


async def test_messages_share_one_connection(relay: tuple[_Relay, int, _Server]) -> None:
    handler, port, _ = relay
    async with SmtpSender(host="127.0.0.1", port=port) as sender:
        for i in range(10):
            await sender.send(_message(f"m{i}"))
    assert handler.subjects == [f"m{i}" for i in range(10)]
    assert len(handler.sessions) == 1


async def test_concurrent_messages_use_at_most_the_allowed_connections(
    relay: tuple[_Relay, int, _Server],
) -> None:
    handler, port, _ = relay
    async with SmtpSender(host="127.0.0.1", port=port, max_connections=2) as sender:
        await asyncio.gather(*(sender.send(_message(f"m{i}")) for i in range(12)))
    assert sorted(handler.subjects) == sorted(f"m{i}" for i in range(12))
    assert 1 <= len(handler.sessions) <= 2


async def test_a_connection_the_relay_closed_is_replaced(
    relay: tuple[_Relay, int, _Server],
) -> None:
    """The relay restarts between two messages (as it would drop an idle client): the
    idle connection fails its check and the message goes out, once, on a new one."""
    handler, port, controller = relay
    async with SmtpSender(host="127.0.0.1", port=port, check_after=0.0) as sender:
        await sender.send(_message("before"))
        controller.stop()
        controller.start()
        await sender.send(_message("after"))
    assert handler.subjects == ["before", "after"]
    assert len(handler.sessions) == 2


async def test_a_refused_recipient_does_not_spoil_the_connection(
    relay: tuple[_Relay, int, _Server],
) -> None:
    handler, port, _ = relay
    handler.refuse.add("gone@example.org")
    async with SmtpSender(host="127.0.0.1", port=port) as sender:
        with pytest.raises(MailRejected, match=r"recipient refused by the mail server \(\[550\]\)"):
            await sender.send(_message("refused", to="gone@example.org"))
        await sender.send(_message("next"))
    assert handler.subjects == ["next"]
    assert len(handler.sessions) == 1


async def test_a_relay_that_is_down_fails_the_send_and_the_next_one_connects(
    relay: tuple[_Relay, int, _Server],
) -> None:
    handler, port, controller = relay
    async with SmtpSender(host="127.0.0.1", port=port, timeout=2) as sender:
        controller.stop()
        with pytest.raises(MailUnavailable, match="mail server unavailable"):
            await sender.send(_message("lost"))
        controller.start()
        await sender.send(_message("delivered"))
    assert handler.subjects == ["delivered"]
