"""Outside systems that say no: an SMTP server refusing chosen recipients, as relays do."""

from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from devstack.mailbox import MailboxHandler
from devstack.ports import free_port


class RefusingMailbox(MailboxHandler):
    """Keeps messages like the local mailbox, but answers RCPT for chosen domains with a
    refusal that echoes the address, as a real relay does (`550 5.1.1 <addr>: …`)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.refusals: dict[str, str] = {}

    def refuse(self, domain: str, reply: str) -> None:
        """Refuse every recipient at `domain`; `{address}` in `reply` is the address."""
        self.refusals[domain.lower()] = reply

    def allow(self, domain: str) -> None:
        self.refusals.pop(domain.lower(), None)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refusals.get(address.rpartition("@")[2].lower())
        if reply is not None:
            return reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def start_refusing_mailbox(directory: Path) -> tuple[Controller, RefusingMailbox, int]:
    handler = RefusingMailbox(directory)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler, port


USER_UNKNOWN = "550 5.1.1 <{address}>: Recipient address rejected: User unknown"
DOMAIN_NOT_FOUND = "450 4.1.2 <{address}>: Recipient address rejected: Domain not found"
