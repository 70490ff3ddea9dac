# SPDX-License-Identifier: GPL-3.0-or-later
"""Saved searches on the records lists (issue 21, item 5): "Save this search" keeps the
list's address under a name; the list pages show the user's saved searches as links, each
with a Delete button. Plain HTML forms posted to this server, signed by the session cookie
and the Origin the browser adds (http/guard.py); services/saved_searches.py keeps them,
each user's own."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mineaction.auth.next_path import safe_next
from mineaction.http.deps import ServicesDep
from mineaction.reports.i18n import N_
from mineaction.services.errors import Invalid, NotFoundError
from mineaction.services.saved_searches import SavedSearches
from mineaction.web.pages import error_page
from mineaction.web.session import WhoDep

router = APIRouter(include_in_schema=False)


async def _form(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    try:
        return {name: str(form.get(name) or "")[:2000] for name in names}
    finally:
        await form.close()


@router.post("/saved-searches")
async def save(request: Request, svc: ServicesDep, who: WhoDep) -> Response:
    values = await _form(request, "name", "target")
    if who.is_public:
        return RedirectResponse(f"/login?next={safe_next(values['target'])}", status_code=303)
    try:
        SavedSearches(svc.store).save(who, values["name"], values["target"])
    except Invalid as exc:
        return error_page(request, who, 400, N_("The search was not saved: %(why)s."),
                          why=exc.message)
    return RedirectResponse(values["target"], status_code=303)


@router.post("/saved-searches/{search_id}/delete")
async def delete(request: Request, svc: ServicesDep, who: WhoDep, search_id: str) -> Response:
    values = await _form(request, "next")
    if who.is_public:
        return RedirectResponse("/login", status_code=303)
    try:
        SavedSearches(svc.store).delete(who, search_id[:64])
    except NotFoundError:
        return error_page(request, who, 404, N_("No saved search of yours has that id."))
    return RedirectResponse(safe_next(values["next"]), status_code=303)
