"""The coordinators' email when a case manager or a specialist is deactivated: which of their
journeys now wait for someone to take them over, each with its case page.

Sent by the API once the deactivation is committed (`db/staff_directory.py`), through the same
relay and templates as every journey's email, once per deactivation: the deactivation's row in
`staff_deactivations` holds the Message-ID, which stays the same for every attempt (so a mail
client drops a copy), and the time it left. A failed send leaves the deactivation as it is; the
directory's page says so and offers to send it again.
"""

from dataclasses import dataclass

import asyncpg

from activities.messages import MessageComposer
from domain.names import case_page_url, journey_reference
from integrations.mail import MailRefused, MailSender, MailUnavailable
from settings import Settings

KIND = "staff_left"


@dataclass(frozen=True)
class DeactivationNotice:
    """A deactivation as the directory's page reports it: its open journeys, and whether the
    coordinators' email left."""

    deactivation_id: int
    role: str
    journeys: tuple[str, ...]
    sent: bool


class StaffMailer:
    """Sends the coordinators' email about a deactivation, once."""

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

    async def send(self, deactivation_id: int) -> bool:
        """Email the coordinators about the deactivation, unless it was sent already; False
        when the relay did not take it (nothing else changes then)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT d.role, d.journeys, d.message_id, d.sent_at, s.full_name
                     FROM staff_deactivations d JOIN staff s USING (staff_id)
                    WHERE d.deactivation_id = $1""",
                deactivation_id,
            )
        if row is None:
            raise LookupError(f"no deactivation {deactivation_id}")
        if row["sent_at"] is not None:
            return True
        if not row["journeys"]:
            return True
        s = self._settings
        base = s.public_base_url
        message = self._composer.compose(
            kind=KIND,
            language=s.staff_notify_language,
            to=s.staff_notify_email,
            message_id=row["message_id"],
            context={
                "name": row["full_name"],
                "role": row["role"],
                "count": len(row["journeys"]),
                "journeys": [
                    (journey_reference(str(j)), case_page_url(base, str(j)))
                    for j in row["journeys"]
                ],
                "worklist_url": f"{base.rstrip('/')}/staff/?reassign=yes" if base else "",
            },
        )
        try:
            await self._sender.send(message)
        except (MailRefused, MailUnavailable):
            return False
        async with self._pool.acquire() as conn:
            await conn.execute(
                """UPDATE staff_deactivations SET sent_at = now()
                    WHERE deactivation_id = $1 AND sent_at IS NULL""",
                deactivation_id,
            )
        return True

    async def notice(self, staff_id: str) -> DeactivationNotice | None:
        """The member's latest deactivation, if any."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT deactivation_id, role, journeys, sent_at FROM staff_deactivations
                    WHERE staff_id = $1 ORDER BY deactivation_id DESC LIMIT 1""",
                staff_id,
            )
        if row is None:
            return None
        return DeactivationNotice(
            deactivation_id=row["deactivation_id"],
            role=row["role"],
            journeys=tuple(str(j) for j in row["journeys"]),
            sent=row["sent_at"] is not None or not row["journeys"],
        )
