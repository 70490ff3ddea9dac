"""Typed errors of what a user can do (services/), each knowing its HTTP status, so the
API and the web answer them alike (http/errors.py maps every error in one place).
Every error leaves the server in one JSON shape, ErrorBody: {code, message,
field_errors}; 412 adds `current`, the record as it now is."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    field_errors: list[FieldError] = []
    current: dict[str, Any] | None = None


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field_errors: list[FieldError] | None = None,
                 current: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or []
        self.current = current
        self.headers = headers


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFoundError(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class PreconditionFailed(ServiceError):
    status, code = 412, "version_conflict"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class Invalid(ServiceError):
    status, code = 422, "invalid"


class PreconditionRequired(ServiceError):
    status, code = 428, "precondition_required"


class TooManyRequests(ServiceError):
    status, code = 429, "too_many_requests"


def etag(version: int) -> str:
    """A record version as its HTTP entity tag (412 answers carry the current one)."""
    return f'"{version}"'
