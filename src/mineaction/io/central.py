# SPDX-License-Identifier: GPL-3.0-or-later
"""Pull a form's submissions from an ODK Central server (issue 21, item 6): the same CSV
zip, with its media, that Central's "Download" button gives, fetched through Central's
REST API, so io/submissions.py imports it as it imports a downloaded one.

pyodk, ODK's own client, was the first choice; its releases pin pydantic at or below
2.14.0 and ours is pinned to 2.14.4, so the three calls needed (open a session, download
the export, close the session) are made here with the standard library. Central's API:
https://docs.getodk.org/central-api/ (Authentication: session; Submissions: export to
CSV zip).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit
from urllib.request import Request, urlopen

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class CentralError(Exception):
    """The server could not be reached, refused the account, or has no such form."""


def _check_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CentralError(f"{base_url!r} is not a server address: give e.g. "
                           "https://central.example.org")
    # The password goes to the server: never over plain HTTP, but to this machine.
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
        raise CentralError(f"{base_url}: use https (the password would travel in clear)")
    return base_url.rstrip("/")


def _call(request: Request, timeout: float, what: str) -> bytes:
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 -- scheme checked
            data: bytes = response.read()
            return data
    except HTTPError as exc:
        raise CentralError(_refusal(exc.code, what)) from None
    except (URLError, OSError) as exc:
        raise CentralError(f"cannot reach {request.full_url}: {exc}") from None


def _refusal(status: int, what: str) -> str:
    if status == 401:
        return f"{what}: the server refused the email and password"
    if status == 403:
        return f"{what}: the account may not read this form's submissions"
    if status == 404:
        return f"{what}: the server has no such project or form"
    return f"{what}: the server answered HTTP {status}"


def download_export(base_url: str, project: int, form_id: str, email: str, password: str,
                    dest: Path, *, timeout: float = 300.0) -> Path:
    """Download form `form_id`'s submissions of `project`, with their media files, as a
    CSV zip at `dest`."""
    base = _check_url(base_url)
    body = json.dumps({"email": email, "password": password}).encode()
    session = json.loads(_call(Request(f"{base}/v1/sessions", data=body, method="POST",
                                       headers={"Content-Type": "application/json"}),
                               timeout, "signing in"))
    token = session.get("token") if isinstance(session, dict) else None
    if not isinstance(token, str):
        raise CentralError(f"{base}: the answer to signing in has no session token; is this "
                           "an ODK Central server?")
    auth = {"Authorization": f"Bearer {token}"}
    url = (f"{base}/v1/projects/{project}/forms/{quote(form_id, safe='')}"
           "/submissions.csv.zip?attachments=true")
    try:
        with urlopen(Request(url, headers=auth), timeout=timeout) as response, \
                dest.open("wb") as out:  # noqa: S310 -- scheme checked
            shutil.copyfileobj(response, out)
    except HTTPError as exc:
        raise CentralError(_refusal(exc.code, f"form {form_id} of project {project}")) \
            from None
    except (URLError, OSError) as exc:
        raise CentralError(f"cannot download {url}: {exc}") from None
    finally:
        try:  # the session ends now rather than in a day
            _call(Request(f"{base}/v1/sessions/{quote(token, safe='')}", method="DELETE",
                          headers=auth), timeout, "signing out")
        except CentralError:
            pass
    return dest
