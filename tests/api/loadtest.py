"""Concurrent writers against a real server on loopback (used by test_api_load.py and
bench/api_bench.py): N writer threads for a bounded time, each creating records and
editing one shared record with If-Match; then every answer is checked against the store.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(store: str, *, workers: int = 1, env: dict[str, str] | None = None,
           log: Any = None, args: list[str] | None = None) -> Iterator[str]:
    """`mineaction serve` over `store` on 127.0.0.1 (`args`: more serve options), as a user
    runs it; yields its base URL."""
    port = free_port()
    environ = {**os.environ, "MINEACTION_STORE": store, "MINEACTION_ARGON2_TIME_COST": "1",
               "MINEACTION_ARGON2_MEMORY_KIB": "64", **(env or {})}
    cmd = [sys.executable, "-m", "mineaction", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--workers", str(workers), "--no-access-log", *(args or [])]
    proc = subprocess.Popen(cmd, env=environ, stdout=log or subprocess.DEVNULL,
                            stderr=log or subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)  # ids answered 201
    narratives: list[str] = field(default_factory=list)
    patched: int = 0
    stale: int = 0
    errors: list[str] = field(default_factory=list)
    requests: int = 0


def run_writers(base: str, tokens: list[str], hot_id: str, seconds: float) -> Outcome:
    """len(tokens) writers for `seconds`: each alternates creating an accident and editing
    the shared `hot_id` accident (read its version, PATCH with If-Match)."""
    out = Outcome()
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def writer(i: int, token: str) -> None:
        n = 0
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as c:
            while time.monotonic() < stop and n < 100_000:
                n += 1
                narrative = f"w{i}-{n}"
                try:
                    r = c.post("/api/v1/accidents", json={"narrative": narrative,
                                                          "accident_kind": "mine"})
                    with lock:
                        out.requests += 1
                        if r.status_code == 201:
                            out.created.append(r.json()["id"])
                            out.narratives.append(narrative)
                        else:
                            out.errors.append(f"POST {r.status_code} {r.text[:100]}")
                    g = c.get(f"/api/v1/accidents/{hot_id}")
                    p = c.patch(f"/api/v1/accidents/{hot_id}", json={"narrative": narrative},
                                headers={"If-Match": g.headers["etag"]})
                    with lock:
                        out.requests += 2
                        if p.status_code == 200:
                            out.patched += 1
                        elif p.status_code == 412:
                            out.stale += 1
                        else:
                            out.errors.append(f"PATCH {p.status_code} {p.text[:100]}")
                except httpx.HTTPError as exc:
                    with lock:
                        out.errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=writer, args=(i, t)) for i, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out
