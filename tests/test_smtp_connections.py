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

    def sender(self, **options: Any) -> SmtpSender:
        """The project's sender, pointed at this relay."""
        return SmtpSender(host="127.0.0.1", port=self.port, **options)


@pytest.fixture
def relay() -> Iterator[_Server]:
    server = _Server(_Relay())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _message(subject: str, to: str = "patient@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "journeys@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("body")
    return message


async def test_messages_share_one_connection(relay: _Server) -> None:
    async with relay.sender() as sender:
        for i in range(10):
            await sender.send(_message(f"m{i}"))
    assert relay.handler.subjects == [f"m{i}" for i in range(10)]
    assert len(relay.handler.sessions) == 1


async def test_concurrent_messages_use_at_most_the_allowed_connections(relay: _Server) -> None:
    async with relay.sender(max_connections=2) as sender:
        await asyncio.gather(*(sender.send(_message(f"m{i}")) for i in range(12)))
    assert sorted(relay.handler.subjects) == sorted(f"m{i}" for i in range(12))
    assert 1 <= len(relay.handler.sessions) <= 2


async def test_a_connection_the_relay_closed_is_replaced(relay: _Server) -> None:
    """The relay restarts between two messages (as it would drop an idle client): the
    idle connection fails its check and the message goes out, once, on a new one."""
    async with relay.sender(check_after=0.0) as sender:
        await sender.send(_message("before"))
        relay.stop()
        relay.start()
        await sender.send(_message("after"))
    assert relay.handler.subjects == ["before", "after"]
    assert len(relay.handler.sessions) == 2


async def test_a_refused_recipient_does_not_spoil_the_connection(relay: _Server) -> None:
    relay.handler.refuse.add("gone@example.org")
    async with relay.sender() as sender:
        with pytest.raises(MailRejected, match=r"recipient refused by the mail server \(\[550\]\)"):
            await sender.send(_message("refused", to="gone@example.org"))
        await sender.send(_message("next"))
    assert relay.handler.subjects == ["next"]
    assert len(relay.handler.sessions) == 1


async def test_a_relay_that_is_down_fails_the_send_and_the_next_one_connects(
    relay: _Server,
) -> None:
    async with relay.sender(timeout=2) as sender:
        relay.stop()
        with pytest.raises(MailUnavailable, match="mail server unavailable"):
            await sender.send(_message("lost"))
        relay.start()
        await sender.send(_message("delivered"))
    assert relay.handler.subjects == ["delivered"]
