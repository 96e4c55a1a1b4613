"""Documents patients and coordinators upload; content kept in PostgreSQL."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class StoredDocument:
    """A document's description, without its content."""

    document_id: str
    kind: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class DocumentRepository:
    """Owns the SQL of documents. Takes a connection; the caller owns the pool."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(
        self,
        *,
        journey_id: str,
        kind: str,
        filename: str,
        content_type: str,
        content: bytes,
        uploaded_by: str,
    ) -> str:
        document_id = uuid.uuid4()
        await self._conn.execute(
            """INSERT INTO documents (document_id, journey_id, kind, filename, content_type,
                                      size_bytes, sha256, content, uploaded_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            document_id,
            journey_id,
            kind,
            filename,
            content_type,
            len(content),
            hashlib.sha256(content).hexdigest(),
            content,
            uploaded_by,
        )
        return str(document_id)

    async def remove(self, *, document_id: str) -> None:
        await self._conn.execute("DELETE FROM documents WHERE document_id = $1", document_id)

    async def list(self, *, journey_id: str) -> list[StoredDocument]:
        rows = await self._conn.fetch(
            """SELECT document_id, kind, filename, content_type, size_bytes, sha256,
                      uploaded_by, uploaded_at
                 FROM documents WHERE journey_id = $1 ORDER BY uploaded_at""",
            journey_id,
        )
        return [
            StoredDocument(
                document_id=str(r["document_id"]),
                kind=r["kind"],
                filename=r["filename"],
                content_type=r["content_type"],
                size_bytes=r["size_bytes"],
                sha256=r["sha256"],
                uploaded_by=r["uploaded_by"],
                uploaded_at=r["uploaded_at"],
            )
            for r in rows
        ]
