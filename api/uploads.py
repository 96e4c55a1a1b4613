"""What a document upload may hold, checked on the server whatever the browser said.

A browser names a file's type from its extension (and sends DICOM as
`application/octet-stream`, having no name for it), so the type a file is stored under is the one
its first bytes show. A declared type that contradicts them is refused, and so is anything that
is none of the kinds a reviewer can read.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from starlette.datastructures import UploadFile

from api.problems import ProblemError

# The signature each accepted type starts with; DICOM's sits after a 128-byte preamble.
SIGNATURES: dict[str, tuple[int, tuple[bytes, ...]]] = {
    "application/pdf": (0, (b"%PDF-",)),
    "image/jpeg": (0, (b"\xff\xd8\xff",)),
    "image/png": (0, (b"\x89PNG\r\n\x1a\n",)),
    "application/dicom": (128, (b"DICM",)),
    "application/zip": (0, (b"PK\x03\x04", b"PK\x05\x06")),
}
ALLOWED_UPLOADS = frozenset(SIGNATURES)
# What the page's file inputs accept, and its script checks before sending.
ALLOWED_EXTENSIONS = (".pdf", ".jpg", ".jpeg", ".png", ".dcm", ".zip")
# Types a browser sends when it has no name for a file's type: the content decides.
UNNAMED_TYPES = frozenset({"", "application/octet-stream"})
MAX_FILES = 10


class UploadProblem(StrEnum):
    """Why an upload is refused; the problem's `type`, which the patient's page words."""

    COUNT = "/problems/upload-count"
    TYPE = "/problems/upload-type"
    EMPTY = "/problems/upload-empty"
    TOO_LARGE = "/problems/upload-too-large"


@dataclass(frozen=True)
class Upload:
    """One file as received: its name, the type its content shows, and the bytes."""

    filename: str
    content_type: str
    data: bytes


def sniffed_type(data: bytes) -> str | None:
    """The accepted type whose signature `data` starts with, if any."""
    for content_type, (offset, signatures) in SIGNATURES.items():
        if any(data[offset : offset + len(s)] == s for s in signatures):
            return content_type
    return None


class UploadRefused(ProblemError):
    """An upload refused before anything was stored; `filename` names the file at fault."""

    def __init__(self, problem: UploadProblem, detail: str, *, status: int, filename: str = ""):
        super().__init__(status, "The upload was refused", detail, type_=problem.value)
        self.filename = filename


def refused(
    problem: UploadProblem, detail: str, *, status: int, filename: str = ""
) -> UploadRefused:
    return UploadRefused(problem, detail, status=status, filename=filename)


async def read_uploads(files: Sequence[UploadFile], *, max_bytes: int) -> list[Upload]:
    """The files of one upload, each checked; the first file that fails refuses them all.

    `max_bytes` caps the files together, as the body limit caps the request: a file is read
    no further than the cap.
    """
    named = [f for f in files if f.filename]
    if not 1 <= len(named) <= MAX_FILES:
        raise refused(UploadProblem.COUNT, f"send 1 to {MAX_FILES} files", status=422)
    uploads: list[Upload] = []
    total = 0
    for upload in named:
        name = upload.filename or "document"
        data = await upload.read(max_bytes - total + 1)
        total += len(data)
        if total > max_bytes:
            raise refused(
                UploadProblem.TOO_LARGE,
                f"the files may hold at most {max_bytes} bytes together",
                status=413,
            )
        if not data:
            raise refused(UploadProblem.EMPTY, f"{name} is empty", status=422, filename=name)
        declared = (upload.content_type or "").split(";")[0].strip().lower()
        found = sniffed_type(data)
        if found is None or (declared not in UNNAMED_TYPES and declared != found):
            raise refused(
                UploadProblem.TYPE,
                f"{name}: send PDF, JPEG, PNG, DICOM or ZIP",
                status=415,
                filename=name,
            )
        uploads.append(Upload(filename=name[:200], content_type=found, data=data))
    return uploads
