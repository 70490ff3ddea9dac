"""Helpers of the API tests: synchronous in-process clients over httpx.ASGITransport,
users per role, request bodies. The fixtures are in conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal

from mineaction.services.settings import Settings, load_settings

ROLES = ("admin", "approver", "editor", "field", "viewer")
ORG = "11111111-1111-4111-8111-111111111111"
OTHER_ORG = "22222222-2222-4222-8222-222222222222"
PASSWORD = "correct horse battery"


class Client:
    def __init__(self, portal: BlockingPortal, app: Any, token: str | None = None) -> None:
        self.portal = portal
        # A client without a token is a browser: it says where its requests come from,
        # as browsers do (http/guard.py refuses cookie-authenticated writes otherwise).
        headers = ({"Authorization": f"Bearer {token}"} if token
                   else {"Origin": "http://testserver"})
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                      base_url="http://testserver", headers=headers)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.portal.call(lambda: self.http.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def gather(self, *calls: tuple[Client, str, str, dict[str, Any]]) -> list[httpx.Response]:
        """Send several requests at once, each by its client; answers in the order given."""
        import anyio

        async def run() -> list[httpx.Response]:
            out: list[Any] = [None] * len(calls)

            async def one(i: int, c: Client, method: str, url: str, kw: dict[str, Any]
                          ) -> None:
                out[i] = await c.http.request(method, url, **kw)

            async with anyio.create_task_group() as tg:
                for i, (c, method, url, kw) in enumerate(calls):
                    tg.start_soon(one, i, c, method, url, kw)
            return out

        return self.portal.call(run)


class Api:
    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self.app, self.portal = app, portal
        self.services = app.state.services
        self.public = Client(portal, app)
        self._clients: dict[str, Client] = {}

    def user(self, role: str, *, name: str | None = None, org: str | None = ORG) -> str:
        """Create a user (once) and return its username."""
        name = name or role
        try:
            self.services.users.get(name)
        except Exception:  # noqa: BLE001
            self.services.users.add(name, PASSWORD, role, org)
        return name

    def as_(self, role: str, *, name: str | None = None, org: str | None = ORG) -> Client:
        name = name or role
        if name not in self._clients:
            self.user(role, name=name, org=org)
            token, _ = self.services.users.issue(self.services.users.get(name), "token")
            self._clients[name] = Client(self.portal, self.app, token)
        return self._clients[name]

    def anonymous(self) -> Client:
        return Client(self.portal, self.app)

    def browser(self, role: str) -> Client:
        """A browser signed in as a user of `role` by the session cookie (the web pages
        read the cookie, not bearer tokens)."""
        self.user(role)
        client = self.anonymous()
        r = client.post("/api/v1/auth/login", json={"username": role, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return client


def make_settings(location: str, tmp_path: Path, **extra: Any) -> Settings:
    # Cheap argon2 parameters: hashing strength is argon2's business, not these tests'.
    return load_settings(store=location, argon2_time_cost=1, argon2_memory_kib=64,
                         upload_dir=tmp_path / "uploads", **extra)


def accident(**kw: Any) -> dict[str, Any]:
    body = {"accident_date": "2021-03-04", "geometry": {"type": "Point",
            "coordinates": [-75.1834, 6.1412]}, "admin_area_pcode": "05313",
            "accident_kind": "mine", "location_precision": "exact",
            "narrative": "stepped on a mine near the school"}
    return {**body, **kw}


def victim(accident_id: str, **kw: Any) -> dict[str, Any]:
    return {"accident_id": accident_id, "outcome": "injured", "sex": "female", "age": 12,
            "name": "Ana Pérez", "date_of_birth": "2009-01-02", "contact": "+57 300 000",
            **kw}
