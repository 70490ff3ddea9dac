# SPDX-License-Identifier: GPL-3.0-or-later
"""Photos and documents of any record on the web (issue 21, 3): the record page's upload
form posts here (a plain multipart form, so it works without scripts on a tablet's
camera picker), and its thumbnails and links fetch from here. Who may do what, and what a
file may be, is decided in services/attachments.py."""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from mineaction.domain.registry import BY_COLLECTION
from mineaction.http.deps import ServicesDep
from mineaction.services.attachments import MAX_BYTES, MAX_CAPTION, Attachments
from mineaction.services.errors import ServiceError
from mineaction.web.pages import error_page
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)
# Shown in the browser rather than saved: images (what they are was read from their bytes
# when they were added). A PDF is always downloaded, never opened as this site's page.
INLINE = ("image/jpeg", "image/png", "image/webp")


@router.post("/records/{collection}/{record_id}/attachments")
def upload(request: Request, svc: ServicesDep, who: WhoDep, collection: str, record_id: str,
           file: Annotated[UploadFile, File()],
           caption: Annotated[str | None, Form(max_length=MAX_CAPTION)] = None) -> Response:
    kind = BY_COLLECTION.get(collection)
    if who.is_public:
        return RedirectResponse(f"/login?next=/records/{collection}/{record_id}",
                                status_code=303)
    try:
        rid = uuid.UUID(record_id)
    except ValueError:
        kind = None
    if kind is None:
        return error_page(request, who, 404, "No such record.")
    content = file.file.read(MAX_BYTES + 1)  # one byte more tells it is too large
    try:
        Attachments(svc.records).add(who, kind, rid, file.filename, content, caption)
    except ServiceError as exc:
        return error_page(request, who, exc.status, f"The file was not attached: {exc.message}")
    return RedirectResponse(f"/records/{collection}/{rid}#attachments", status_code=303)


@router.get("/web/attachments/{attachment_id}")
def download(svc: ServicesDep, who: WhoDep, attachment_id: uuid.UUID) -> Response:
    meta, content = Attachments(svc.records).get(who, attachment_id)
    how = "inline" if meta["media_type"] in INLINE else "attachment"
    # Names from imports were not cleaned here: a plain ASCII one, and the exact one
    # percent-encoded (RFC 6266), so no name can break the header.
    name = str(meta["file_name"])
    plain = re.sub(r"[^A-Za-z0-9.\- ()_]", "_", name) or "attachment"
    return Response(content, media_type=meta["media_type"], headers={
        "Content-Disposition": f"{how}; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}",
        # (X-Content-Type-Options: nosniff is the app's, http/guard.py)
        # Even if a file were misread, it runs nothing and reaches nothing of this site.
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        "Cache-Control": "private, no-store"})
