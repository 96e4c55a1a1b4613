"""What any mail sender speaks: the sending, and how it fails.

Kept apart from the SMTP client so that what reads these names (the email activity, and
through it the workflows and `journeys replay`) does not load an SMTP library.
"""

from email.message import EmailMessage
from typing import Protocol


class MailRefused(Exception):
    """The server refused the message or its recipient.

    Its message holds the reply codes only; `reply` holds what the server said, which can
    echo the recipient's address and belongs in a log, never in a recorded failure.
    """

    def __init__(self, message: str, reply: str = "") -> None:
        super().__init__(message)
        self.reply = reply


class MailRejected(MailRefused):
    """Refused for good (a 5xx answer): retrying will not help."""


class MailDeferred(MailRefused):
    """Refused for now (a 4xx answer): a later attempt may succeed."""


class MailUnavailable(Exception):
    """The server could not be reached, refused the login or dropped the connection; try
    again later. Its message names the kind of failure only; `reply` says more, for a log."""

    def __init__(self, message: str, reply: str = "") -> None:
        super().__init__(message)
        self.reply = reply


class MailSender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...
