"""Typed store errors; the API maps each to its HTTP status in one place."""


class StoreError(Exception):
    http_status = 500


class NotFound(StoreError):
    http_status = 404


class VersionConflict(StoreError):
    """An update named a version that is no longer current: someone else saved first."""

    http_status = 412

    def __init__(self, kind: str, record_id: str, expected: int, current: int | None) -> None:
        self.kind, self.record_id, self.expected, self.current = kind, record_id, expected, current
        super().__init__(
            f"{kind} {record_id} is at version {current}, not {expected}: reload and re-apply"
            if current is not None
            else f"{kind} {record_id} no longer exists"
        )


class DuplicateKey(StoreError):
    http_status = 409


class SchemaTooNew(StoreError):
    """The file was written by a newer mineaction; opening it could damage it."""
