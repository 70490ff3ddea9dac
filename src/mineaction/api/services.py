"""What the app holds for its lifetime, built by the app factory: the store, the user
directory, the records core, the import jobs and the login rate limiter."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from mineaction.api.imports import ImportJobs
from mineaction.api.records import Records
from mineaction.api.settings import Settings
from mineaction.auth.users import UserDirectory
from mineaction.store.base import Store


class LoginLimiter:
    """Failed logins per key in a sliding window. In memory, so per worker process: with N
    workers an attacker gets at most N times the budget, still far too few for guessing
    argon2-hashed passwords."""

    def __init__(self, attempts: int, window_s: float) -> None:
        self.attempts, self.window_s = attempts, window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str) -> int:
        """Seconds to wait before trying again, 0 when allowed."""
        now = time.monotonic()
        with self._lock:
            q = self._failures.get(key)
            if not q:
                return 0
            while q and q[0] <= now - self.window_s:
                q.popleft()
            if len(q) < self.attempts:
                return 0
            return max(1, int(q[0] + self.window_s - now) + 1)

    def failed(self, key: str) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a spray of keys
                self._failures.clear()
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass
class Services:
    settings: Settings
    store: Store
    users: UserDirectory
    records: Records
    jobs: ImportJobs
    limiter: LoginLimiter
    owns_store: bool = False

    def close(self) -> None:
        self.jobs.shutdown()
        if self.owns_store:
            self.store.close()
