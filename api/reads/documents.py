"""Opening a document: every read is an audited read of health data, refusals included."""

import uuid
from urllib.parse import quote

import asyncpg
from fastapi.responses import Response

from api.authorization import authorize
from api.reads.errors import DocumentNotFound, JourneyNotFound, journey_key
from api.security_headers import FILE_POLICY
from api.tokens import Principal
from api.uploads import ALLOWED_UPLOADS
from audit.log import AuditWriter
from db.case_file import CaseFileRepository
from domain.case_file import DocumentFile
from domain.readers import READS_DOCUMENTS

# The audit log's actions for a document served, and for one asked of a journey it is not in.
DOCUMENT_READ = "document.read"
DOCUMENT_REFUSED = "document.not_found"


async def open_document(
    pool: asyncpg.Pool,
    audit: AuditWriter,
    principal: Principal,
    journey_id: str,
    document_id: str,
    *,
    source: str | None,
) -> DocumentFile:
    """The document's content, after a row in the audit log saying who read which document
    of which journey. A document id of another journey (or of none) is refused as not found,
    and that attempt is a row too; the row is committed before a byte is served."""
    jid = journey_key(journey_id)
    try:
        await authorize(pool, principal, jid, READS_DOCUMENTS)
    except JourneyNotFound:
        # No journey holds no document: refused, and recorded, as a document not found.
        document = None
    else:
        async with pool.acquire() as conn:
            document = await CaseFileRepository(conn).document(
                journey_id=jid, document_id=document_id
            )
    await audit.append(
        actor_id=principal.actor.id,
        actor_role=principal.actor.role.value,
        action=DOCUMENT_READ if document is not None else DOCUMENT_REFUSED,
        journey_id=jid,
        patient_id=principal.actor.id if principal.is_patient else None,
        source=source,
        # The id as asked, if it is one (a client may type anything), never the filename.
        detail={"document_id": _as_id(document_id)},
    )
    if document is None:
        raise DocumentNotFound()
    return document


def _as_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return "not-an-id"


# What the browser shows itself under a sandbox: images. A PDF is downloaded instead, as
# DICOM and ZIP are: Chromium's PDF viewer refuses to run in a sandboxed document, and a PDF
# shown unsandboxed would open in the console's origin.
SHOWN_INLINE = frozenset({"image/png", "image/jpeg"})


def document_response(document: DocumentFile) -> Response:
    """The file under its uploaded name: an image to open in the browser (`inline`), anything
    else to download (`attachment`).

    Its media type is one an upload may have (`ALLOWED_UPLOADS`), and `nosniff` keeps the
    browser from taking it for anything else; the sandbox keeps whatever it holds out of the
    site's origin, with no scripts (api/security_headers.py); `no-store`, as every page with
    health data.
    """
    media_type = (
        document.content_type
        if document.content_type in ALLOWED_UPLOADS
        else "application/octet-stream"
    )
    shown = "inline" if media_type in SHOWN_INLINE else "attachment"
    plain = document.filename.encode("ascii", "replace").decode().replace('"', "'")
    return Response(
        document.content,
        media_type=media_type,
        headers={
            "content-disposition": (
                f"{shown}; filename=\"{plain}\"; filename*=UTF-8''{quote(document.filename)}"
            ),
            "content-security-policy": FILE_POLICY,
            "x-content-type-options": "nosniff",
            "cache-control": "no-store",
        },
    )
