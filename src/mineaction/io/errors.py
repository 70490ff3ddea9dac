"""Errors raised by the file-format layer (readers and writers).

They carry the path so the import pipeline can report "file: message" to the user without
a traceback; the original exception, if any, is chained as ``__cause__`` for logs.
"""

from __future__ import annotations

import os


class FileError(Exception):
    """A file could not be read or written; ``str()`` is ``"<path>: <message>"``."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = os.fspath(path)
        self.message = message
        super().__init__(self.path, message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ReadError(FileError):
    """The file is missing, unreadable, or not a valid file of its format."""


class WriteError(FileError):
    """An export failed; the target file was left as it was (writes are atomic)."""
