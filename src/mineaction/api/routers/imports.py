"""Imports through the API: upload (dry run or not), poll, commit a dry run, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from mineaction.access.roles import may_import
from mineaction.domain.registry import REGISTRY
from mineaction.http.deps import ServicesDep, SignedInDep
from mineaction.http.errors import ERROR_RESPONSES, Forbidden
from mineaction.io.formats import formats_list
from mineaction.services.imports import limits_from

router = APIRouter(prefix="/imports", tags=["imports"], responses=ERROR_RESPONSES)

# From the format and entity registries (io/formats.py, domain/registry.py).
UPLOAD_FORMATS = "The file, in one of these formats:\n\n" + formats_list("read")
KINDS = ("What the rows are, when the mapping does not say or has several targets: "
         + ", ".join(e.collection for e in REGISTRY.values()))


@router.post("", status_code=202, summary="Upload a file to import (a background job)")
def start_import(
    svc: ServicesDep, who: SignedInDep,
    file: Annotated[UploadFile, File(description=UPLOAD_FORMATS)],
    kind: Annotated[str | None, Form(max_length=40, description=KINDS)] = None,
    mapping: Annotated[str | None, Form(max_length=100, description="A shipped mapping")] = None,
    dataset: Annotated[str | None, Form(max_length=200)] = None,
    dry_run: Annotated[bool, Form()] = True,
) -> dict[str, Any]:
    if not may_import(who):
        raise Forbidden(f"role {who.role.value} cannot import")
    svc.jobs.keep_hours = svc.settings.upload_keep_hours
    return svc.jobs.start(who, file.filename or "upload", file.file, kind=kind,
                          mapping=mapping, dataset=dataset, dry_run=dry_run,
                          limits=limits_from(svc.settings))


@router.get("/{job_id}", summary="State, progress and report of an import job")
def get_import(svc: ServicesDep, who: SignedInDep, job_id: str) -> dict[str, Any]:
    return svc.jobs.get(who, job_id)


@router.post("/{job_id}/commit", status_code=202, summary="Import for real a file whose "
             "dry run is done")
def commit_import(svc: ServicesDep, who: SignedInDep, job_id: str) -> dict[str, Any]:
    if not may_import(who):
        raise Forbidden(f"role {who.role.value} cannot import")
    return svc.jobs.commit(who, job_id, limits=limits_from(svc.settings))


@router.post("/{job_id}/cancel", summary="Stop a queued or running import job; nothing "
             "it read is written")
def cancel_import(svc: ServicesDep, who: SignedInDep, job_id: str) -> dict[str, Any]:
    if not may_import(who):
        raise Forbidden(f"role {who.role.value} cannot import")
    return svc.jobs.cancel(who, job_id)
