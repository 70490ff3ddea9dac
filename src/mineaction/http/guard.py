"""Two guards every answer passes (the outermost middleware, so nothing skips them):

- **Same origin for cookie-authenticated writes** (issue 15, 6). The session cookie is
  SameSite=Strict, which keeps other *sites* from sending it, but a page on another port
  of the same host is the same site: it could approve a record as the signed-in approver
  with a text/plain POST. A request that changes something (not GET, HEAD or OPTIONS)
  and carries the session cookie must say where it comes from (Origin, else Referer) and
  come from this server's own origin; otherwise it is refused with 403 before any
  route runs. Requests authenticated by a bearer token are not at risk (a browser never
  adds the header by itself) and are not checked.
- **Hardening headers** (issue 15, 18): nosniff, no framing, a strict referrer policy, a
  Content-Security-Policy on HTML pages (everything the web application loads is its own,
  vendored: docs/web.md), `Cache-Control: no-store` on answers to signed-in requests that
  set no caching of their own (they may hold personal data), and HSTS when the session
  cookie is sent over HTTPS only (`cookie_secure`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mineaction.http.deps import SESSION_COOKIE
from mineaction.http.errors import to_response
from mineaction.services.errors import Forbidden

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# MapLibre builds its workers from blobs and draws sprites from data/blob URLs; styles
# are set inline on a few elements. No script runs that is not a file of ours.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; worker-src 'self' blob:; child-src blob:; "
            "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")
# The API's interactive docs (Swagger UI) start from an inline script FastAPI writes.
DOCS_CSP = "frame-ancestors 'none'; object-src 'none'; base-uri 'self'"
DOCS_PATH = "/api/v1/docs"
COMMON = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
          (b"referrer-policy", b"same-origin")]
HSTS = (b"strict-transport-security", b"max-age=31536000")


class Guard:
    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        # The headers every answer gets.
        self._added = (*COMMON, *([HSTS] if hsts else []))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One pass over the request's headers: every answer comes through here.
        has_session = signed_in = False
        for name, value in scope["headers"]:
            if name == b"cookie":
                has_session = has_session or _SESSION in value
            elif name == b"authorization":
                signed_in = True
        signed_in = signed_in or has_session
        if (has_session and scope["method"] not in SAFE_METHODS
                and not same_origin(scope, dict(scope["headers"]))):
            await to_response(Forbidden(
                "a change made with the session cookie must come from this server's own "
                "pages (the Origin header did not name it)"))(scope, receive, send)
            return
        docs = scope["path"].startswith(DOCS_PATH)
        added = self._added

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = message.get("headers", [])
                html = docs
                cached = csp = False
                for name, value in out:
                    name = name.lower()
                    if name == b"content-type":
                        html = html or value.startswith(b"text/html")
                    elif name == b"cache-control":
                        cached = True
                    elif name == b"content-security-policy":
                        csp = True
                out = [*out, *added]
                if html and not csp:
                    out.append((b"content-security-policy", _DOCS_CSP if docs else _PAGE_CSP))
                if signed_in and not cached:
                    out.append(_NO_STORE)
                message["headers"] = out
            await send(message)

        await self.app(scope, receive, guarded)


_SESSION = SESSION_COOKIE.encode()
_PAGE_CSP, _DOCS_CSP = PAGE_CSP.encode(), DOCS_CSP.encode()
_NO_STORE = (b"cache-control", b"no-store")


def same_origin(scope: Scope, headers: dict[bytes, bytes]) -> bool:
    """Whether the request's Origin (or, without one, its Referer) is this server's own
    origin: the scheme and the Host the request was sent to."""
    claimed = headers.get(b"origin") or headers.get(b"referer")
    host = headers.get(b"host")
    if not claimed or not host or claimed == b"null":
        return False
    try:
        parts = urlsplit(claimed.decode("latin-1"))
    except ValueError:
        return False
    scheme = scope.get("scheme", "http")
    return (parts.scheme == scheme and parts.netloc.lower() == host.decode("latin-1").lower())
