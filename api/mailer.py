"""What the API's own emails share (a patient's fresh link, the coordinators' notice of a
deactivation): they are no journey's step, so the API sends them itself, through the same
relay and templates as the worker's email activity."""

import asyncpg

from activities.messages import MessageComposer
from integrations.mail import MailSender
from settings import Settings


class ApiMailer:
    """An email the API sends itself; the relay's client and the templates are handed in."""

    def __init__(
        self,
        *,
        settings: Settings,
        pool: asyncpg.Pool,
        sender: MailSender,
        composer: MessageComposer,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._sender = sender
        self._composer = composer
