"""Dispute evidence files: checked by content (type and size) before anything is written, stored
through Django's storage API (local files in development, any storage backend in production), and
removed again when the transaction that would have recorded them fails, so nothing half-written
stays behind."""

import hashlib
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

# What a buyer or seller may attach, by content: screenshots, documents, call recordings, text.
ALLOWED_TYPES = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/webp": "WebP image",
    "application/pdf": "PDF document",
    "audio/mpeg": "MP3 recording",
    "audio/x-wav": "WAV recording",
    "text/plain": "text file",
}


@dataclass(frozen=True)
class CheckedFile:
    name: str
    content: bytes
    content_type: str
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def _sniff(content: bytes) -> str | None:
    kind = filetype.guess(content)
    if kind is not None:
        return kind.mime
    # Plain text has no magic number: UTF-8 without control bytes (other than whitespace).
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
        return None
    return "text/plain"


def evidence_files_check(*, files, field: str = "evidence") -> list[CheckedFile]:
    """The uploaded files, read and checked: at most DISPUTE_EVIDENCE_MAX_FILES, each at most
    DISPUTE_EVIDENCE_MAX_BYTES and of an ALLOWED_TYPES type by content. ValidationError naming
    `field` and the file otherwise; nothing is stored here."""
    files = list(files or [])
    limit, max_bytes = settings.DISPUTE_EVIDENCE_MAX_FILES, settings.DISPUTE_EVIDENCE_MAX_BYTES
    if len(files) > limit:
        raise ValidationError({field: f"At most {limit} files at a time (you sent {len(files)})."})
    checked = []
    for upload in files:
        name = (getattr(upload, "name", "") or "file").rsplit("/", 1)[-1][:200]
        if getattr(upload, "size", 0) > max_bytes:
            raise ValidationError({field: f"{name} is larger than {max_bytes // (1024 * 1024)} MB."})
        content = upload.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise ValidationError({field: f"{name} is larger than {max_bytes // (1024 * 1024)} MB."})
        if not content:
            raise ValidationError({field: f"{name} is empty."})
        kind = _sniff(content)
        if kind not in ALLOWED_TYPES:
            kinds = ", ".join(sorted(set(ALLOWED_TYPES.values())))
            raise ValidationError({field: f"{name} is not a file type we accept ({kinds})."})
        checked.append(
            CheckedFile(name=name, content=content, content_type=kind, sha256=hashlib.sha256(content).hexdigest())
        )
    return checked


def evidence_store(*, dispute, party: str, uploaded_by, files: list[CheckedFile], stored: list[str]) -> None:
    """Record `files` on `dispute` (inside the caller's transaction); each stored file's name is
    appended to `stored` so that the caller can delete them if the transaction fails."""
    from escrow.models import DisputeEvidence

    for checked in files:
        evidence = DisputeEvidence(
            dispute=dispute,
            party=party,
            uploaded_by=uploaded_by,
            name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
        )
        evidence.file.save(f"{checked.sha256[:16]}-{dispute.pk}", ContentFile(checked.content), save=False)
        stored.append(evidence.file.name)
        evidence.save()


def evidence_discard(names: list[str]) -> None:
    """Delete files stored for a transaction that rolled back."""
    for name in names:
        default_storage.delete(name)
