"""Where to send a browser after it signs in: only somewhere on this site (issue 15, 12).

`/login?next=...` is a link anyone can send, so `next` is the attacker's to choose. A check
such as "starts with / but not //" lets through what browsers read as another host:
`/\\evil.example` (a backslash counts as a slash in http URLs), `/\\t/evil.example` (tabs
and newlines are dropped before parsing, leaving `//evil.example`), and more. So `next`
must be a plain path: one slash and then no second slash or backslash, no control
character or white space anywhere, no scheme and no host however parsed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/"
MAX_LENGTH = 2000


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site (with its query and fragment), else "/"."""
    if not value or len(value) > MAX_LENGTH or not value.startswith("/"):
        return HOME
    if value[1:2] in ("/", "\\") or "\\" in value:
        return HOME
    # Control characters (tab, newline, NUL ...) and white space of any script: browsers
    # strip some before parsing, and none belongs in a path a page links to.
    if any(not ch.isprintable() or ch.isspace() for ch in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return HOME
    return value
