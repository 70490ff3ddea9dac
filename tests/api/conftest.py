"""API fixtures: every test using `api` runs in-process (httpx over ASGITransport) against
an app built over both stores, the embedded GeoPackage and a real PostGIS database.

`api.as_(role)` is a client signed in as a user of that role (bearer token); `api.public`
is the anonymous public. Clients are synchronous wrappers, so tests read plainly; the app
still runs its sync endpoints in its thread pool, so concurrent calls are concurrent.
The fixtures live in api_fixtures.py, shared with tests/security/.
"""

from api_fixtures import api, settings_overrides, store  # noqa: F401
