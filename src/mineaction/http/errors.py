"""The one place where every error becomes an HTTP response, for the API and the web
(the typed errors themselves are services/errors.py).

Every error leaves the server in one JSON shape, ErrorBody: {code, message, field_errors}
(412 adds `current`, the record as it now is). Errors of the core layers (store, import,
user directory) carry no HTTP knowledge beyond the store's `http_status`; they are mapped
here. Unexpected exceptions are logged with their traceback and answered with a bare 500:
no stack trace reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from mineaction.auth.users import AuthError
from mineaction.domain.rules import RuleError
from mineaction.io.errors import FileError
from mineaction.io.mapping import MappingError
from mineaction.services.errors import (  # noqa: F401  (the errors routers raise)
    CODES,
    Conflict,
    ErrorBody,
    FieldError,
    Forbidden,
    Invalid,
    NotFoundError,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    ServiceError,
    TooManyRequests,
    Unauthorized,
)
from mineaction.store.errors import DuplicateKey, NotFound, StoreError, VersionConflict

log = logging.getLogger("mineaction.api")






# Standard responses every operation may give, for the OpenAPI document.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": c.replace("_", " ")}
    for s, c in CODES.items() if s in (401, 403, 404, 422)
}


def field_errors_of(exc: ValidationError | RequestValidationError) -> list[FieldError]:
    """One FieldError per pydantic error. A rule across fields (domain/rules.py) fails in a
    model validator, at the model's own location: the field it names is the one reported,
    with the rule's message."""
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path",
                                                                 "header")]
        message = str(err.get("msg"))
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, RuleError):
            loc.append(cause.field)
            message = cause.message
        out.append(FieldError(field=".".join(loc) or "body", message=message))
    return out


def _respond(status: int, code: str, message: str, *, field_errors: Sequence[FieldError] = (),
             current: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=message, field_errors=list(field_errors),
                     current=current)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        headers=headers)


def to_response(exc: Exception) -> JSONResponse:
    """The HTTP answer for any exception: the single mapping of errors to statuses."""
    if isinstance(exc, ServiceError):
        return _respond(exc.status, exc.code, exc.message, field_errors=exc.field_errors,
                        current=exc.current, headers=exc.headers)
    if isinstance(exc, RequestValidationError | ValidationError):
        return _respond(422, "invalid", "the request is not valid",
                        field_errors=field_errors_of(exc))
    if isinstance(exc, VersionConflict):
        return _respond(412, "version_conflict", str(exc))
    if isinstance(exc, NotFound | DuplicateKey | StoreError) and exc.http_status < 500:
        return _respond(exc.http_status, CODES.get(exc.http_status, "error"), str(exc))
    if isinstance(exc, sa.exc.DataError):
        # A value the database refuses (e.g. NUL in text, a date out of its range): the
        # request's fault, whatever slipped past validation.
        return _respond(422, "invalid", "a value cannot be stored: "
                        + str(exc.orig).split("\n")[0])
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        # The database dropped the connection (a restart, a failover). The transaction
        # did not commit, unless the drop came during COMMIT itself, which If-Match
        # makes safe to retry. The pool is renewed, so trying again works.
        log.warning("database connection lost: %s", exc.orig)
        return _respond(503, "unavailable", "the connection to the database was lost; "
                        "try again", headers={"Retry-After": "1"})
    if isinstance(exc, sa.exc.OperationalError) and _lock_timeout(exc):
        # Another writer held the lock too long (SQLite's busy timeout, PostgreSQL's
        # lock_timeout): nothing was written; the client may try again.
        log.warning("lock wait timed out: %s", exc.orig)
        return _respond(503, "unavailable", "the store is busy with another write; try "
                        "again", headers={"Retry-After": "2"})
    if isinstance(exc, AuthError | MappingError | FileError):
        return _respond(422, "invalid", str(exc))
    if isinstance(exc, StarletteHTTPException):
        return _respond(exc.status_code, CODES.get(exc.status_code, "error"),
                        str(exc.detail), headers=getattr(exc, "headers", None))
    log.exception("unexpected error", exc_info=exc)
    return _respond(500, "internal_error", "internal error; the server log has the details")


def _lock_timeout(exc: sa.exc.OperationalError) -> bool:
    """Whether the database gave up waiting for a lock: SQLite's "database is locked",
    PostgreSQL's lock_not_available (55P03)."""
    return ("database is locked" in str(exc.orig)
            or getattr(exc.orig, "sqlstate", None) == "55P03")


# What FastAPI's exception middleware answers by `to_response`. Any other exception goes
# up to Starlette's server-error middleware, which answers 500 (by `to_response` too) and
# re-raises it for the server's log. api/lean.py's fast lane, in front of both, answers
# every exception by `to_response` too.
HANDLED: tuple[type[Exception], ...] = (
    ServiceError, RequestValidationError, ValidationError, StoreError, sa.exc.DataError,
    sa.exc.DBAPIError, AuthError, MappingError, FileError, StarletteHTTPException)


def install(app: FastAPI) -> None:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return to_response(exc)

    for exc_type in (*HANDLED, Exception):
        app.add_exception_handler(exc_type, handler)
