"""Consents: the texts patients agree to, each version kept word for word with its hash, and
each patient's consent to the text they saw, until they withdraw it."""

from dataclasses import dataclass
from datetime import datetime

from db.repository import Repository

# What a patient saw when the text was not in their language: the form falls back to English.
FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class ConsentText:
    """One version of a consent text in one language, as shown."""

    purpose: str
    version: str
    language: str
    body: str
    sha256: str
    published_at: datetime


@dataclass(frozen=True)
class Consent:
    """A patient's consent for one journey, and its withdrawal if it was withdrawn."""

    consent_id: str
    journey_id: str
    purpose: str
    text_version: str
    text_language: str | None
    granted_at: datetime
    withdrawn_at: datetime | None
    withdrawn_by: str | None
    withdrawn_role: str | None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


# Named as `Consent`'s fields, which the rows are made into.
_CONSENT_COLUMNS = """consent_id::text AS consent_id, journey_id::text AS journey_id, purpose,
                      text_version, text_language, granted_at, withdrawn_at, withdrawn_by,
                      withdrawn_role"""


class ConsentRepository(Repository):
    """Owns the SQL of consents and their texts."""

    async def shown_language(self, *, purpose: str, version: str, language: str) -> str | None:
        """The language of the text a reader of `language` was shown for this version: theirs
        when we have it, else English; None when the version is unknown."""
        found: str | None = await self._conn.fetchval(
            """SELECT language FROM consent_texts
                WHERE purpose = $1 AND version = $2 AND language IN ($3, $4)
                ORDER BY language = $3 DESC LIMIT 1""",
            purpose,
            version,
            language,
            FALLBACK_LANGUAGE,
        )
        return found

    async def texts(self, *, purpose: str | None = None) -> list[ConsentText]:
        rows = await self._conn.fetch(
            """SELECT purpose, version, language, body, sha256, published_at
                 FROM consent_texts WHERE $1::text IS NULL OR purpose = $1
                ORDER BY purpose, published_at, version, language""",
            purpose,
        )
        return [ConsentText(**dict(r)) for r in rows]

    async def text(self, *, purpose: str, version: str, language: str) -> ConsentText | None:
        row = await self._conn.fetchrow(
            """SELECT purpose, version, language, body, sha256, published_at
                 FROM consent_texts WHERE purpose = $1 AND version = $2 AND language = $3""",
            purpose,
            version,
            language,
        )
        return None if row is None else ConsentText(**dict(row))

    async def for_journey(self, *, journey_id: str) -> list[Consent]:
        rows = await self._conn.fetch(
            f"""SELECT {_CONSENT_COLUMNS} FROM consents
                 WHERE journey_id = $1 ORDER BY granted_at""",
            journey_id,
        )
        return [Consent(**r) for r in rows]

    async def withdraw(
        self, *, journey_id: str, purpose: str, actor_id: str, actor_role: str
    ) -> Consent | None:
        """Mark the journey's consent for `purpose` withdrawn now; None when there is none
        still in force (never given, or withdrawn already: the first withdrawal stands)."""
        async with self._conn.transaction():
            row = await self._conn.fetchrow(
                f"""UPDATE consents SET withdrawn_at = now(), withdrawn_by = $3,
                                        withdrawn_role = $4
                     WHERE journey_id = $1 AND purpose = $2 AND withdrawn_at IS NULL
                 RETURNING {_CONSENT_COLUMNS}""",
                journey_id,
                purpose,
                actor_id,
                actor_role,
            )
        return None if row is None else Consent(**row)
