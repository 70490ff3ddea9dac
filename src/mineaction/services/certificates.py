# SPDX-License-Identifier: GPL-3.0-or-later
"""Site check certificates (issue 20): a site check kept, with the evidence behind it, so
that anyone can later ask whether that evidence is unchanged, and what changed since.

A certificate is always made from the public view (approved records only, no minefield
records, accident places generalised: `SiteChecks.check(PUBLIC, ...)`), whoever asks for
it. It is a document to hand to a third party, who must be able to verify it without an
account; it therefore holds nothing the public may not see.

The evidence is the site, the check's parameters and, for each record the check used, its
kind, id, version and a digest: the SHA-256 of the canonical JSON (sorted keys, no spaces)
of the record as the public sees it (access/visibility.py: hidden and personal fields
dropped, accident places generalised), without `version` and `updated_at`. Those two
change with any save, even one that changes nothing the public sees (a victim's name, who
reviewed it), and such a save must not flag a certificate; the version is kept beside the
digest to say which version was used. `evidence_hash` is the SHA-256 of the canonical
JSON of the whole evidence.

Verification (`verify`) re-reads each record listed as the public would and re-runs the
public site check with the same site and parameters:
- a record the public can no longer read is `deleted` (reason: deleted, or no longer
  public: withdrawn from approval);
- a record whose digest differs is `changed`, with the fields that changed;
- a record the check now uses that it did not is `added`; a listed record still there,
  unchanged, that the check no longer counts (merged into another report of the same
  accident) is `deleted` with reason "no longer counted".
Anything else (records out of the site's reach, fields the public never sees, drafts) is
not evidence and changes nothing: the certificate is `unchanged` exactly when those three
lists are empty. `stored_hash_ok` says whether the stored evidence still hashes to the
certificate's hash (a certificate edited in the database fails it).

The snapshot of each record (as the public saw it) is kept beside the evidence: it names
the fields that changed and draws the certificate's map as it was.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mineaction.access.roles import PUBLIC, Policy, Principal
from mineaction.access.visibility import Access
from mineaction.analysis import site_check as sc
from mineaction.reports.i18n import available_languages
from mineaction.services.errors import FieldError, Invalid, NotFoundError
from mineaction.services.records import Records
from mineaction.services.site_check import SiteChecks, checked_site
from mineaction.store.base import Store
from mineaction.store.query import Query
from mineaction.store.schema import METADATA, Timestamp

# Bookkeeping that changes with every save, whatever changed: not part of a digest.
VOLATILE = frozenset({"version", "updated_at"})
KINDS = ("hazard", "minefield_record", "released_part", "accident", "find")

CERTIFICATES = sa.Table(
    "site_certificates",
    METADATA,
    sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.Text, nullable=False, unique=True),
    sa.Column("created_at", Timestamp(), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),  # a username, or "anonymous"
    sa.Column("lang", sa.Text, nullable=False),
    sa.Column("site", sa.Text, nullable=False),  # WKT, lon/lat
    sa.Column("buffer_m", sa.Float, nullable=False),
    sa.Column("nearby_m", sa.Float, nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # canonical JSON
    sa.Column("evidence_hash", sa.Text, nullable=False),  # SHA-256 hex of `evidence`
    sa.Column("snapshot", sa.Text, nullable=False),  # the records as the public saw them
    sa.Column("findings", sa.Text, nullable=False),  # the site report (JSON)
    sa.Column("data_as_of", sa.Text),
    sqlite_autoincrement=True,
    info={"unlisted": True},
)


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 (as the audit trail's)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def sha256(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def content(data: dict[str, Any]) -> dict[str, Any]:
    """What a record's digest covers: the public's view of it, without the bookkeeping
    every save changes; its sources in a fixed order."""
    out = {k: v for k, v in data.items() if k not in VOLATILE}
    if "source_ids" in out:
        out["source_ids"] = sorted(str(s) for s in out["source_ids"] or [])
    return out


def digest(data: dict[str, Any]) -> str:
    return sha256(content(data))


def report_from_json(data: dict[str, Any]) -> sc.SiteReport:
    """A SiteReport back from `SiteReport.to_json()` (a certificate's stored findings)."""
    known = {f.name for f in dataclass_fields(sc.SiteReport)}
    d = {k: v for k, v in data.items() if k in known}
    for name in ("hazards", "minefield_records", "released"):
        d[name] = [sc.Nearby(**n) for n in d.get(name) or []]
    for name in ("accidents", "finds"):
        d[name] = sc.Count(**d[name]) if d.get(name) else None
    return sc.SiteReport(**d)


class Certificates:
    """Issue, render and verify site check certificates (the public view only)."""

    def __init__(self, store: Store, policy: Policy | None = None, public_decimals: int = 1,
                 records: Records | None = None) -> None:
        self.store = store
        self.records = records or Records(store, policy or Policy(), public_decimals)
        # No risk layer: a model's estimate is not a record, and re-training it must not
        # change what a certificate says.
        self.checks = SiteChecks(store, records=self.records)

    # -- issuing ----------------------------------------------------------------------------
    def issue(self, principal: Principal, geometry: Any, *, buffer_m: float = 500.0,
              nearby_m: float = 2000.0, lang: str = "en") -> dict[str, Any]:
        """Check the site as the public would, keep the evidence, and return the
        certificate's id and evidence hash. `principal` is only recorded as who asked."""
        report = self.checks.check(PUBLIC, geometry, buffer_m=buffer_m, nearby_m=nearby_m,
                                   lang=lang)
        site = checked_site(geometry)
        snapshot = self.public_records(report.records_used)
        evidence = self._evidence(site, report.buffer_m, report.nearby_m, snapshot)
        cert_id = str(uuid.uuid4())
        row = {"id": cert_id, "created_at": datetime.now(UTC),
               "created_by": "anonymous" if principal.is_public else principal.username,
               "lang": lang, "site": site.wkt, "buffer_m": report.buffer_m,
               "nearby_m": report.nearby_m, "evidence": canonical(evidence),
               "evidence_hash": sha256(evidence),
               "snapshot": canonical({f"{k}/{i}": r for (k, i), r in snapshot.items()}),
               "findings": canonical(report.to_json()), "data_as_of": report.data_as_of}
        self.store.ensure_tables([CERTIFICATES])
        with self.store.transaction() as conn:
            conn.execute(CERTIFICATES.insert().values(**row))
        self._audit(principal, cert_id, row["evidence_hash"], len(evidence["records"]))
        return {"id": cert_id, "evidence_hash": row["evidence_hash"],
                "records": len(evidence["records"]), "data_as_of": report.data_as_of}

    def _audit(self, principal: Principal, cert_id: str, evidence_hash: str, n: int) -> None:
        """Chained in the audit trail, as other writes that are not record writes are
        (audit/log.py `log_event`): who had which certificate made, and of what."""
        from mineaction.audit.log import log_event

        log_event(self.store, None if principal.is_public else principal.username,
                  "certificate_issue", {"certificate": cert_id, "evidence_hash": evidence_hash,
                                        "records": n})

    def _evidence(self, site: Any, buffer_m: float, nearby_m: float,
                  snapshot: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
        return {"site": site.wkt, "buffer_m": buffer_m, "nearby_m": nearby_m,
                "view": "public",
                "records": [{"kind": k, "id": i, "version": r.get("version"),
                             "digest": digest(r)} for (k, i), r in sorted(snapshot.items())]}

    def public_records(self, used: dict[str, list[str]]
                        ) -> dict[tuple[str, str], dict[str, Any]]:
        """Each record listed, as the public reads it (JSON-ready)."""
        access = self.records.access(PUBLIC)
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for kind in KINDS:
            ids = sorted(set(used.get(kind) or ()))
            for rid, data in self._read(access, kind, ids).items():
                out[(kind, rid)] = data
        return out

    def _read(self, access: Access, kind: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids or not access.may_list(kind):
            return {}
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            page = self.store.query(Query(kind=kind, ids=tuple(ids[start:start + 500]),
                                          limit=None, visible=access.rows(kind)))
            for record in page.items:
                data = access.present(kind, record.model_dump(mode="json"))
                out[str(data["id"])] = data
        return out

    # -- reading ----------------------------------------------------------------------------
    def get(self, cert_id: str) -> dict[str, Any]:
        """The stored certificate (its JSON columns parsed), or NotFoundError."""
        try:
            cert_id = str(uuid.UUID(str(cert_id)))
        except ValueError as exc:
            raise NotFoundError(f"no certificate {cert_id!r}") from exc
        self.store.ensure_tables([CERTIFICATES])
        with self.store.engine.connect() as conn:
            row = conn.execute(sa.select(CERTIFICATES).where(CERTIFICATES.c.id == cert_id)
                               ).mappings().first()
        if row is None:
            raise NotFoundError(f"no certificate {cert_id}")
        cert = dict(row)
        cert.pop("fid", None)
        cert["evidence_text"] = cert["evidence"]
        for name in ("evidence", "snapshot", "findings"):
            cert[name] = json.loads(cert[name])
        return cert

    def html(self, cert_id: str, lang: str | None = None) -> str:
        """The certificate as HTML (what the PDF is made from), in `lang` or the
        language it was asked in."""
        from mineaction.reports.site_certificate import certificate_html

        cert = self.get(cert_id)
        lang = lang or cert["lang"]
        if lang not in available_languages():
            raise Invalid(f"no wording in {lang!r}", field_errors=[FieldError(
                field="lang", message=f"one of {', '.join(available_languages())}")])
        return certificate_html(cert, report_from_json(cert["findings"]), lang)

    def pdf(self, cert_id: str, lang: str | None = None) -> bytes:
        from mineaction.reports.render import html_to_pdf

        pdf = html_to_pdf(self.html(cert_id, lang))
        assert pdf is not None
        return pdf

    # -- verifying --------------------------------------------------------------------------
    def verify(self, cert_id: str) -> dict[str, Any]:
        """Whether the evidence behind the certificate is unchanged, and what changed."""
        import shapely

        cert = self.get(cert_id)
        evidence = cert["evidence"]
        stored_ok = sha256(evidence) == cert["evidence_hash"] and all(
            digest(cert["snapshot"].get(f"{e['kind']}/{e['id']}", {})) == e["digest"]
            for e in evidence["records"])
        listed = {(e["kind"], e["id"]): e for e in evidence["records"]}
        by_kind: dict[str, list[str]] = {}
        for kind, rid in listed:
            by_kind.setdefault(kind, []).append(rid)
        now = self.public_records(by_kind)
        report = self.checks.check(PUBLIC, shapely.from_wkt(evidence["site"]),
                                   buffer_m=evidence["buffer_m"],
                                   nearby_m=evidence["nearby_m"])
        used_now = {(k, i) for k, ids in report.records_used.items() for i in ids}
        changed, deleted = [], []
        for key, entry in sorted(listed.items()):
            kind, rid = key
            current = now.get(key)
            if current is None:
                deleted.append({"kind": kind, "id": rid, "version": entry["version"],
                                "reason": self._gone_reason(kind, rid)})
            elif digest(current) != entry["digest"]:
                before = cert["snapshot"].get(f"{kind}/{rid}", {})
                changed.append({"kind": kind, "id": rid, "version": entry["version"],
                                "version_now": current.get("version"),
                                "fields": _changed_fields(before, current)})
            elif key not in used_now:
                deleted.append({"kind": kind, "id": rid, "version": entry["version"],
                                "reason": "no longer counted"})
        added_keys = sorted(used_now - set(listed))
        added_data = self.public_records(_group(added_keys))
        added = [{"kind": k, "id": i, "version": added_data.get((k, i), {}).get("version")}
                 for k, i in added_keys]
        return {"id": cert["id"], "evidence_hash": cert["evidence_hash"],
                "unchanged": not (changed or deleted or added), "stored_hash_ok": stored_ok,
                "changed": changed, "deleted": deleted, "added": added,
                "issued_at": _iso(cert["created_at"]), "data_as_of": cert["data_as_of"],
                "data_as_of_now": report.data_as_of,
                "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}

    def _gone_reason(self, kind: str, rid: str) -> str:
        page = self.store.query(Query(kind=kind, ids=(rid,), limit=1))
        return "no longer public" if page.items else "deleted"


def _group(keys: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for kind, rid in keys:
        out.setdefault(kind, []).append(rid)
    return out


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    a, b = content(before), content(after)
    return sorted(k for k in set(a) | set(b) if canonical(a.get(k)) != canonical(b.get(k)))


def _iso(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)
