# SPDX-License-Identifier: GPL-3.0-or-later
"""Saving a new accident with the victims typed into its form (issue 21, 3), in one
request and one transaction (services/accident_entry.py). The form posts here instead of
/api/v1/accidents when it holds victims; errors come back in the API's JSON shape, a
victim's as `victims.<n>.<field>`, so the form shows them where they were typed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from mineaction.http.deps import ServicesDep
from mineaction.services.accident_entry import MAX_VICTIMS, create_accident_with_victims
from mineaction.web.session import WhoDep

router = APIRouter(prefix="/web/api", include_in_schema=False)


class AccidentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accident: dict[str, Any]
    victims: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_VICTIMS)


@router.post("/accident-entry", status_code=201)
def save_accident_with_victims(body: AccidentEntry, svc: ServicesDep, who: WhoDep,
                               response: Response) -> dict[str, Any]:
    saved = create_accident_with_victims(svc.records, who, body.accident, body.victims)
    response.headers["Location"] = f"/records/accidents/{saved.accident['id']}"
    return {"id": saved.accident["id"], "version": saved.version,
            "victim_ids": saved.victim_ids}
