"""What the app holds for its lifetime, built by `build_services`: the store, the user
directory, the records service, the import jobs and the login rate limiter. Not HTTP:
the API, the web and tests use the same container."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from argon2 import PasswordHasher

from mineaction.access.roles import Policy
from mineaction.audit.log import attach
from mineaction.auth.schema import ensure_server_tables
from mineaction.auth.users import UserDirectory
from mineaction.services.certificates import Certificates
from mineaction.services.gazetteer import Gazetteer
from mineaction.services.imports import ImportJobs
from mineaction.services.minefields import Minefields
from mineaction.services.reconcile import Reconciliation
from mineaction.services.records import Records
from mineaction.services.risk_layer import RiskLayer
from mineaction.services.settings import Settings
from mineaction.services.site_check import SiteChecks, risk_from
from mineaction.store.base import Store


class LoginLimiter:
    """Sign-in attempts per key in a sliding window. In memory, so per worker process: with
    N workers an attacker gets at most N times the budget, still far too few for guessing
    argon2-hashed passwords.

    An attempt is counted before its password is checked (`reserve`), so attempts sent in
    parallel cannot all pass the check before the first failure is counted (issue 15, 13:
    19 password checks instead of 5). A success forgets the key's failures. At most
    `max_keys` keys are remembered: past that the key touched longest ago is forgotten,
    never all of them at once."""

    def __init__(self, attempts: int, window_s: float, max_keys: int = 100_000) -> None:
        self.attempts, self.window_s, self.max_keys = attempts, window_s, max_keys
        self._attempts: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> deque[float] | None:
        q = self._attempts.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window_s:
            q.popleft()
        return q

    def retry_after(self, key: str) -> int:
        """Seconds to wait before trying again, 0 when allowed (counts nothing)."""
        now = time.monotonic()
        with self._lock:
            q = self._live(key, now)
            if q is None or len(q) < self.attempts:
                return 0
            return max(1, int(q[0] + self.window_s - now) + 1)

    def reserve(self, key: str) -> int:
        """Count an attempt for `key` before its password is checked: 0 when it may go
        ahead, else the seconds to wait (and nothing is counted)."""
        now = time.monotonic()
        with self._lock:
            q = self._live(key, now)
            if q is not None and len(q) >= self.attempts:
                return max(1, int(q[0] + self.window_s - now) + 1)
            if q is None:
                q = self._attempts[key] = deque()
            q.append(now)
            self._attempts.move_to_end(key)
            while len(self._attempts) > self.max_keys:
                self._attempts.popitem(last=False)  # the key touched longest ago
            return 0

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._attempts.pop(key, None)

    def __len__(self) -> int:
        return len(self._attempts)


@dataclass
class Services:
    settings: Settings
    store: Store
    users: UserDirectory
    records: Records
    reconciliation: Reconciliation
    jobs: ImportJobs
    limiter: LoginLimiter
    minefields: Minefields
    owns_store: bool = False
    # The contamination-risk GeoPackage the map shows (issue 19); none configured by default.
    risk_layer: RiskLayer = field(default_factory=lambda: RiskLayer(None))
    site_checks: SiteChecks | None = None  # built with the store (issue 20)
    certificates: Certificates | None = None  # the same, for the public view (issue 20)
    gazetteer: Gazetteer | None = None  # place search, one cache per server (issue 21)

    def __post_init__(self) -> None:
        if self.site_checks is None:
            self.site_checks = SiteChecks(self.store, records=self.records,
                                          risk_at=risk_from(self.risk_layer))
        if self.certificates is None:
            self.certificates = Certificates(self.store, records=self.records)
        if self.gazetteer is None:
            self.gazetteer = Gazetteer(self.store)

    def close(self) -> None:
        self.jobs.shutdown()
        if self.owns_store:
            self.store.close()


def build_services(settings: Settings, store: Store | None = None) -> Services:
    owns = store is None
    if store is None:
        from mineaction.store import open_store

        # One pooled connection per request thread, and two for background work
        # (import jobs), so no request pays for opening a connection.
        store = open_store(settings.store, pool_size=settings.threads + 2)
    ensure_server_tables(store)
    attach(store)
    if settings.country:
        # The country the map opens on is the store's too, for its record codes
        # (domain/codes.py), unless an import named one first.
        try:
            store.set_country(settings.country, only_if_unset=True)
        except KeyError:
            pass  # a code no shipped country has: the map's start says so (services/maps)
    hasher = PasswordHasher(time_cost=settings.argon2_time_cost,
                            memory_cost=settings.argon2_memory_kib)
    policy = Policy(organisation_scoping=settings.organisation_scoping,
                    cross_organisation_visibility=settings.cross_organisation_visibility,
                    public_risk_layer=settings.public_risk_layer)
    jobs = ImportJobs(store, settings.upload_dir, settings.max_upload_bytes)
    jobs.policy = policy
    records = Records(store, policy, settings.public_location_decimals)
    return Services(
        settings=settings, store=store, users=UserDirectory(store, hasher),
        records=records,
        reconciliation=Reconciliation(store, policy, settings.public_location_decimals,
                                      records=records),
        jobs=jobs,
        limiter=LoginLimiter(settings.login_attempts, settings.login_window_seconds),
        minefields=Minefields(store, policy, records),
        owns_store=owns, risk_layer=RiskLayer(settings.risk_layer))
