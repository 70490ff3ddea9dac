"""HTTP conditional requests over record versions: ETags, If-Match, If-None-Match."""

from __future__ import annotations

from mineaction.services.errors import FieldError, Invalid, etag

# The same version reads differently by role (the public's generalised points, hidden
# personal data) and by format: caches must keep those apart.
VARY = "Accept, Authorization, Cookie"


def not_modified(header: str | None, version: int) -> bool:
    """Whether an If-None-Match header names this version (or is *): the client's copy
    is current. Compared weakly, as RFC 9110 says for If-None-Match."""
    if header is None:
        return False
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/") == etag(version) for t in tags)


def parse_if_match(header: str | None) -> int | None:
    """The version an If-Match header names ("3", W/"3" or 3); None when absent."""
    if header is None:
        return None
    text = header.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise Invalid(f"If-Match {header!r}: expected the ETag of a version, e.g. \"3\"",
                      field_errors=[FieldError(field="If-Match", message="not an ETag")])
    return int(text)
