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


# The `code` of the JSON error body for each HTTP status: one table for the typed errors
# below and for errors that reach the HTTP layer otherwise (http/errors.py).
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
         412: "version_conflict", 413: "payload_too_large", 415: "unsupported_media_type",
         422: "invalid", 428: "precondition_required", 429: "too_many_requests",
         503: "unavailable"}


class ServiceError(Exception):
    status = 400

    @property
    def code(self) -> str:
        return CODES[self.status]

    def __init__(self, message: str, *, field_errors: list[FieldError] | None = None,
                 current: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or []
        self.current = current
        self.headers = headers


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFoundError(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class PreconditionFailed(ServiceError):
    status = 412


class PayloadTooLarge(ServiceError):
    status = 413


class Invalid(ServiceError):
    status = 422


class PreconditionRequired(ServiceError):
    status = 428


class TooManyRequests(ServiceError):
    status = 429


def etag(version: int) -> str:
    """A record version as its HTTP entity tag (412 answers carry the current one)."""
    return f'"{version}"'
