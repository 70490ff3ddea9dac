# SPDX-License-Identifier: GPL-3.0-or-later
"""`mineaction site-check` (issue 20): what the record says about a place, for one site
or a batch of sites. The command line reads as the store's administrator, or with
`--public` as the anonymous public would (approved records only, no minefield records,
accident places generalised), through services/site_check.py as the API does."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mineaction.cli_common import (
    DEFAULT_STORE,
    StoreOption,
    cli_principal,
    fail,
    open_audited,
    service_error_text,
)
from mineaction.cli_i18n import _, num

BATCH_COLUMNS = ("site_id", "error", "hazards_on_site", "nearest_hazard_m",
                 "hazards_within_buffer", "minefield_records", "cleared_share",
                 "reduced_share", "cancelled_share", "accidents_nearby",
                 "nearest_accident_m", "last_accident", "finds_nearby", "data_as_of",
                 "findings")


def _point(text: str) -> Any:
    from shapely.geometry import Point

    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        fail(_("--point {text}: give longitude,latitude in decimal degrees, e.g. "
               "-75.56,6.25").format(text=repr(text)), 2)
    return Point(lon, lat)


def site_check(
    site_file: Annotated[Path | None, typer.Argument(
        help="The site as a file: GeoJSON, KML, Shapefile, GeoPackage (several features "
        "are one site, their union), or with --batch a CSV or vector file of many sites.",
        show_default=False)] = None,
    point: Annotated[str | None, typer.Option(
        "--point", help="The site as one point: longitude,latitude.")] = None,
    wkt: Annotated[str | None, typer.Option(
        "--wkt", help="The site as WKT in lon/lat, e.g. a road: "
        "'LINESTRING (-75.1 6.2, -75.0 6.3)'.")] = None,
    buffer: Annotated[float, typer.Option(
        "--buffer", help="Hazards and minefield records within this many metres.")] = 500.0,
    nearby: Annotated[float, typer.Option(
        "--nearby", help="Accidents and finds within this many metres.")] = 2000.0,
    batch: Annotated[bool, typer.Option(
        "--batch", help="SITE_FILE holds many sites (CSV with lon,lat or wkt columns, "
        "and an optional id column; or a vector file): one line of results per site.")
    ] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="With --batch: write the results here (CSV) rather than to the "
        "terminal.")] = None,
    processes: Annotated[int, typer.Option(
        "--processes", help="With --batch: check in this many worker processes (a check "
        "is one core's work; 0, the default: one per core).", min=0)] = 0,
    public: Annotated[bool, typer.Option(
        "--public", help="Answer as the public would be answered (approved records, no "
        "minefield records, accident places generalised).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The full findings as JSON.")
    ] = False,
    lang: Annotated[str, typer.Option(
        "--lang", help="Language of the findings: en, or a report language (es, az, ar ...).")
    ] = "en",
    certificate: Annotated[Path | None, typer.Option(
        "--certificate", help="Also issue a certificate of the check and write it here "
        "(PDF, in --lang). A certificate is always made from the public view (approved "
        "records only), so that anyone can verify it: `mineaction certificate verify ID`."
    )] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """What the records say about a place: hazards on the site or within --buffer,
    minefield records, land released over it (cancelled, reduced, cleared; by whom, when,
    and the share of the site), accidents and finds within --nearby, and the date of the
    newest record used. Worded after IMAS: what is recorded, never that a place is safe.

    Exit status: 0 when the check ran (whatever it found), 2 for a usage error or a site
    that cannot be read.
    """
    from mineaction.access.roles import PUBLIC, Policy
    from mineaction.io.errors import FileError
    from mineaction.services.errors import Invalid
    from mineaction.services.site_check import SiteChecks

    given = [x for x in (site_file, point, wkt) if x is not None]
    if len(given) != 1:
        fail(_("give the site one way: a file, --point lon,lat or --wkt"), 2)
    if batch and site_file is None:
        fail(_("--batch reads its sites from a file"), 2)
    if batch and certificate is not None:
        fail(_("--certificate is for one site, not a --batch"), 2)
    principal = PUBLIC if public else cli_principal()
    with open_audited(store) as s:
        checks = SiteChecks(s, Policy())
        try:
            if batch:
                assert site_file is not None
                _batch(checks, principal, site_file, buffer, nearby, out, lang,
                       processes or os.cpu_count() or 1)
                return
            geometry = _site(site_file, point, wkt)
            report = checks.check(principal, geometry, buffer_m=buffer, nearby_m=nearby,
                                  lang=lang)
            if certificate is not None:
                _certificate(s, principal, geometry, buffer, nearby, lang, certificate)
        except FileError as exc:
            fail(str(exc), 2)
        except Invalid as exc:
            fail(service_error_text(exc), 2)
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=1, default=str))
        return
    for line in report.findings:
        typer.echo(line)
    typer.echo("")
    typer.echo(report.caveat)


def _certificate(store: Any, principal: Any, geometry: Any, buffer: float, nearby: float,
                 lang: str, out: Path) -> None:
    """Issue a certificate (services/certificates.py: the public view) and write its PDF
    whole or not at all."""
    import os

    from mineaction.access.roles import Policy
    from mineaction.services.certificates import Certificates

    certs = Certificates(store, Policy())
    made = certs.issue(principal, geometry, buffer_m=buffer, nearby_m=nearby, lang=lang)
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_bytes(certs.pdf(made["id"]))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    typer.echo(_("certificate {id} (evidence {hash}) -> {out}; verify with: mineaction "
                 "certificate verify {id}").format(id=made["id"], hash=made["evidence_hash"],
                                                   out=out), err=True)


def _site(site_file: Path | None, point: str | None, wkt: str | None) -> Any:
    if point is not None:
        return _point(point)
    if wkt is not None:
        import shapely

        try:
            return shapely.from_wkt(wkt)
        except shapely.errors.GEOSException as exc:
            fail(_("--wkt: not WKT: {problem}").format(problem=exc), 2)
    from mineaction.io.sites import one_site

    assert site_file is not None
    return one_site(site_file)


def _batch(checks: Any, principal: Any, path: Path, buffer: float, nearby: float,
           out: Path | None, lang: str, processes: int) -> None:
    import csv

    from tqdm import tqdm

    from mineaction.io.sites import SiteError, sites
    from mineaction.services.site_check import batch_workers

    items = list(sites(path, skip_invalid=True))
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        writer = csv.DictWriter(handle, fieldnames=BATCH_COLUMNS, lineterminator="\n")
        writer.writeheader()
        good = [(i, g) for i, g in (x for x in items if not isinstance(x, SiteError))]
        for err in (x for x in items if isinstance(x, SiteError)):
            writer.writerow({"site_id": f"row {err.row}", "error": err.message})
        workers = batch_workers(processes, len(good))
        typer.echo(_("checking {n} sites in {where}").format(
            n=num(len(good)),
            where=_("{n} worker processes").format(n=workers) if workers > 1
            else _("one process")), err=True)
        # no monitor thread: the batch forks its workers only from a one-thread process
        tqdm.monitor_interval = 0
        with tqdm(total=len(good), unit=_("site"), desc=_("site checks"), file=sys.stderr,
                  disable=None) as bar:
            for site_id, report in checks.batch(principal, good, buffer_m=buffer,
                                                nearby_m=nearby, lang=lang,
                                                processes=processes,
                                                progress=lambda n: bar.update(1)):
                writer.writerow(_batch_row(site_id, report))
    finally:
        if out:
            handle.close()
    if out:
        bad = sum(isinstance(x, SiteError) for x in items)
        typer.echo(_("checked {n} sites ({bad} rows could not be read) into {out}").format(
            n=num(len(items) - bad), bad=num(bad), out=out), err=True)



def _batch_row(site_id: str, report: Any) -> dict[str, Any]:
    from mineaction.services.errors import Invalid

    if isinstance(report, Invalid):
        return {"site_id": site_id, "error": "; ".join(
            f"{e.field}: {e.message}" for e in report.field_errors) or report.message}
    on = [h for h in report.hazards if h.distance_m == 0]
    acc, fin = report.accidents, report.finds
    return {
        "site_id": site_id, "error": "",
        "hazards_on_site": len(on),
        "nearest_hazard_m": report.hazards[0].distance_m if report.hazards else "",
        "hazards_within_buffer": len(report.hazards),
        "minefield_records": len(report.minefield_records),
        **{f"{m}_share": report.released_share.get(m, 0.0)
           for m in ("cleared", "reduced", "cancelled")},
        "accidents_nearby": acc.count if acc else 0,
        "nearest_accident_m": acc.nearest_m if acc and acc.nearest_m is not None else "",
        "last_accident": acc.latest or "" if acc else "",
        "finds_nearby": fin.count if fin else 0,
        "data_as_of": report.data_as_of or "",
        "findings": " ".join(report.findings),
    }


def register(app: typer.Typer) -> None:
    """Add `site-check` to the `mineaction` command."""
    app.command("site-check")(site_check)
