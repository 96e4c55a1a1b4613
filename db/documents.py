"""Documents patients and coordinators upload; content kept in PostgreSQL (read through
db/case_file.py)."""

import hashlib
import uuid

from db.repository import Repository


class DocumentRepository(Repository):
    """Owns the SQL of documents."""

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
