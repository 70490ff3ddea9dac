# SPDX-License-Identifier: GPL-3.0-or-later
"""Photos and documents attached to any record (issue 21, 3): a field team's photo of a
marked area, a scan of a signed form.

An attachment is seen exactly by those who may read its record: every read goes through
Records.load, which asks access/ (a record another organisation keeps, or a draft, is not
found, and so neither is its attachment). The public gets none: a photo may show people
or where they live, and a published record's figures say enough. Adding one is for those
who may edit the record. What a file is, is read from its first bytes, never from its name
or the browser's word: only JPEG, PNG, WebP and PDF are kept, so an HTML page named
photo.png is refused instead of served from this site. File names are kept as a plain
last component (no path, no control characters), with the extension of what the file is.
Rows go to the store's `attachments` table, which field-form imports also fill.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mineaction.access.roles import Principal, may_edit
from mineaction.services.errors import (
    FieldError,
    Forbidden,
    Invalid,
    NotFoundError,
    PayloadTooLarge,
    ServiceError,
    Unauthorized,
)
from mineaction.services.records import Records
from mineaction.store.base import WriteEvent
from mineaction.store.schema import METADATA

ATTACHMENTS = METADATA.tables["attachments"]
# A phone photo is 2-8 MB, a scanned form a few MB: 15 MB leaves room and keeps the
# store (attachments live in it) from growing by accident.
MAX_BYTES = 15 * 1024 * 1024
MAX_NAME = 120
MAX_CAPTION = 500
# The kinds kept, by their first bytes: (media type, extension).
JPEG = ("image/jpeg", "jpg")
PNG = ("image/png", "png")
WEBP = ("image/webp", "webp")
PDF = ("application/pdf", "pdf")
ALLOWED = "JPEG, PNG, WebP or PDF"


class UnsupportedType(ServiceError):
    status = 415


def sniff(content: bytes) -> tuple[str, str] | None:
    """(media type, extension) of what `content` is, or None if not a kept kind."""
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if len(content) >= 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content.startswith(b"%PDF-"):
        return PDF
    return None


def safe_name(name: str | None, extension: str) -> str:
    """The last component of `name`, in plain characters, with `extension`: a name like
    ../../etc/passwd or C:\\x\\photo.png.html cannot become a path or pose as another
    kind."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(c for c in base if unicodedata.category(c)[0] not in "CZ" or c == " ")
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" ._")
    stem = base
    while re.search(r"\.[A-Za-z]{1,5}$", stem):  # photo.png.html: every extension goes
        stem = stem.rsplit(".", 1)[0]
    stem = stem.strip(" ._")[: MAX_NAME - len(extension) - 1] or "attachment"
    return f"{stem}.{extension}"


def meta_of(row: Mapping[Any, Any]) -> dict[str, Any]:
    added = row["added_at"]
    return {"id": str(row["id"]), "record_kind": str(row["record_kind"]),
            "record_id": str(row["record_id"]), "file_name": str(row["file_name"]),
            "media_type": str(row["media_type"]), "size": int(row["size"]),
            "sha256": str(row["sha256"]), "caption": row["caption"],
            "added_at": added.isoformat() if hasattr(added, "isoformat") else added,
            "added_by": row["added_by"]}


def _signed_in(p: Principal) -> None:
    if p.is_public:
        raise Unauthorized("sign in to see attachments", headers={"WWW-Authenticate": "Bearer"})


class Attachments:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.store = records.store

    def of_record(self, p: Principal, kind: str, record_id: uuid.UUID
                  ) -> list[dict[str, Any]]:
        """The record's attachments (without their bytes), for whoever may read it."""
        _signed_in(p)
        self.records.load(p, kind, record_id)
        columns = [c for c in ATTACHMENTS.c if c.name != "content"]
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).where(
                ATTACHMENTS.c.record_kind == kind, ATTACHMENTS.c.record_id == str(record_id))
                .order_by(ATTACHMENTS.c.fid)).mappings().all()
        return [meta_of(r) for r in rows]

    def get(self, p: Principal, attachment_id: uuid.UUID) -> tuple[dict[str, Any], bytes]:
        """An attachment and its bytes, for whoever may read its record: to anyone else
        it does not exist."""
        _signed_in(p)
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(ATTACHMENTS).where(
                ATTACHMENTS.c.id == str(attachment_id))).mappings().first()
        missing = NotFoundError(f"no attachment with id {attachment_id}")
        if row is None:
            raise missing
        try:
            self.records.load(p, str(row["record_kind"]), uuid.UUID(str(row["record_id"])))
        except (NotFoundError, ValueError):
            raise missing from None
        return meta_of(row), bytes(row["content"])

    def add(self, p: Principal, kind: str, record_id: uuid.UUID, file_name: str | None,
            content: bytes, caption: str | None = None) -> dict[str, Any]:
        """Keep a photo or document with a record: for whoever may edit the record."""
        _signed_in(p)
        record = self.records.load(p, kind, record_id)
        if not may_edit(p, record, self.records.policy):
            raise Forbidden(f"role {p.role.value} cannot change this {kind}")
        if len(content) > MAX_BYTES:
            raise PayloadTooLarge(f"{file_name or 'the file'} is larger than "
                                  f"{MAX_BYTES // 2**20} MB")
        if not content:
            raise Invalid("the file is empty", field_errors=[
                FieldError(field="file", message="empty")])
        found = sniff(content)
        if found is None:
            raise UnsupportedType(f"{file_name or 'the file'} is not a {ALLOWED} file (read "
                                  "from its content, whatever its name)", field_errors=[
                                      FieldError(field="file", message=f"not {ALLOWED}")])
        caption = (caption or "").strip()[:MAX_CAPTION] or None
        row = {"id": str(uuid.uuid4()), "record_kind": kind, "record_id": str(record.id),
               "file_name": safe_name(file_name, found[1]), "media_type": found[0],
               "size": len(content), "sha256": hashlib.sha256(content).hexdigest(),
               "content": content, "caption": caption, "added_at": datetime.now(UTC),
               "added_by": p.username}
        with self.store.transaction() as conn:
            conn.execute(ATTACHMENTS.insert().values(**row))
            self.store.notify(conn, WriteEvent("attach", kind, str(record.id), None,
                                               p.username, summary={
                                                   k: row[k] for k in ("id", "file_name",
                                                                       "sha256", "size")}))
        return meta_of(row)
