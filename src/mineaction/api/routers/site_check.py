# SPDX-License-Identifier: GPL-3.0-or-later
"""Site checks over HTTP (issue 20): `GET /site-check?lon=&lat=` for a point and
`POST /site-check` for any site (a GeoJSON point, line or area).

Open to the public: services/site_check.py reads through the asker's access, so the
public is answered from approved records only, without minefield records, with accident
places generalised, and is told so.

Certificates (`POST /site-check/certificates`, `GET /site-check/certificates/{id}.pdf`,
`GET /site-check/certificates/{id}/verify`) are open to the public too: a certificate is
always made from the public view, whoever asks (services/certificates.py), so it shows
nothing the public may not see and anyone may verify it. Issuing one writes to the
store, so it is limited per client (`CERTIFICATES_PER_WINDOW`)."""

from __future__ import annotations

import asyncio
import json
import re
import weakref
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, TypeAdapter

from mineaction.http.deps import PrincipalDep, ServicesDep
from mineaction.http.errors import ERROR_RESPONSES
from mineaction.services.site_check import MAX_BUFFER_M
from mineaction.store.held import quick_reads

T = TypeVar("T")

router = APIRouter(prefix="/site-check", tags=["site check"], responses=ERROR_RESPONSES)

BufferM = Annotated[float, Field(ge=0, le=MAX_BUFFER_M, description=(
    "Hazards and minefield records within this many metres of the site."))]
NearbyM = Annotated[float, Field(ge=0, le=MAX_BUFFER_M, description=(
    "Accidents and finds within this many metres of the site."))]


Lang = Annotated[str, Field(max_length=8, description=(
    "Language of `findings` and `caveat`: en, or a report language (es ...)."))]


class SiteIn(BaseModel):
    geometry: dict[str, Any] = Field(description=(
        "The site as a GeoJSON geometry in longitude/latitude (RFC 7946): a Point, a "
        "LineString (a road) or a Polygon (a plot), or their Multi- forms."),
        examples=[{"type": "Polygon", "coordinates": [[[-75.0, 6.0], [-74.999, 6.0],
                                                       [-74.999, 6.001], [-75.0, 6.0]]]}])
    buffer_m: BufferM = 500.0
    nearby_m: NearbyM = 2000.0
    lang: Lang = "en"


class NearbyOut(BaseModel):
    kind: str
    id: str
    distance_m: float
    label: str
    status: str | None
    date: str | None
    share_of_site: float | None
    by: str | None


class CountOut(BaseModel):
    kind: str
    radius_m: float
    count: int
    nearest_m: float | None
    latest: str | None


class SiteReportOut(BaseModel):
    site_type: str
    site_size: float | None = Field(description="m² for an area, m for a line")
    buffer_m: float
    nearby_m: float
    hazards: list[NearbyOut]
    minefield_records: list[NearbyOut]
    released: list[NearbyOut]
    released_share: dict[str, float] = Field(description=(
        "Share of the site in land released by each method; a part released twice "
        "counts once, under the stronger method (cleared, reduced, cancelled)."))
    accidents: CountOut | None
    finds: CountOut | None
    risk: dict[str, Any] | None
    generalised: dict[str, int] = Field(description=(
        "Kinds whose places you see rounded to this many decimal places: their counts "
        "and distances are approximate."))
    data_as_of: str | None
    records_used: dict[str, list[str]]
    findings: list[str]
    caveat: str


# Site checks a worker runs at once on its threads (issue 20), those not quick enough for
# its event loop (`SiteChecks.is_quick`: a large site, a long reach). A check is CPU in
# Python, one core's worth, with dozens of GIL hand-overs (each SQLite step, numpy and
# shapely call): 50 clients' checks on the thread pool at once cost a fifth more CPU each
# in switching (issue 20's bench: GET point 6.0 ms a request, 4.7 three at a time; POST
# plot 8.9, 6.3) and lengthened the tail. Three keep a core busy while one waits on the
# database (one at a time was no cheaper). They still count in the thread pool's limit
# (settings.threads), as before.
CHECKS_AT_ONCE = 3
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = (
    weakref.WeakKeyDictionary())


def _checks_limiter() -> anyio.CapacityLimiter:
    """This event loop's limiter of checks at once (a limiter belongs to one loop)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(CHECKS_AT_ONCE)
    return limiter


async def _checking(svc: Any, geometry: Any, buffer_m: float, nearby_m: float,
                    work: Callable[[], T]) -> T:
    """`work` (a check of this site) on the event loop when the check is quick, else on
    the thread pool, at most CHECKS_AT_ONCE at a time."""
    if svc.site_checks.is_quick(geometry, buffer_m, nearby_m):
        with quick_reads():  # on the loop, as other quick reads (store/held.py)
            return work()
    async with _checks_limiter():
        return await anyio.to_thread.run_sync(work)


async def _checked(svc: Any, p: Any, geometry: Any, buffer_m: float, nearby_m: float,
                   lang: str) -> SiteReportOut:
    """`_run`, where `_checking` runs it."""
    return await _checking(svc, geometry, buffer_m, nearby_m,
                           lambda: _run(svc, p, geometry, buffer_m, nearby_m, lang))


def _run(svc: Any, p: Any, geometry: Any, buffer_m: float, nearby_m: float, lang: str
         ) -> SiteReportOut:
    report = svc.site_checks.check(p, geometry, buffer_m=buffer_m, nearby_m=nearby_m,
                                   lang=lang)
    # response_model validates and serialises it once (a model built here would be
    # validated twice: half the request's CPU is outside the check, issue 20's bench).
    return report.to_json()  # type: ignore[no-any-return]


@router.get("", response_model=SiteReportOut, summary="What the records say about a point")
async def check_point(
    svc: ServicesDep, p: PrincipalDep,
    lon: Annotated[float, Query(ge=-180, le=180, description="Longitude, decimal degrees")],
    lat: Annotated[float, Query(ge=-90, le=90, description="Latitude, decimal degrees")],
    buffer_m: Annotated[float, Query(ge=0, le=MAX_BUFFER_M, description=(
        "Hazards and minefield records within this many metres."))] = 500.0,
    nearby_m: Annotated[float, Query(ge=0, le=MAX_BUFFER_M, description=(
        "Accidents and finds within this many metres."))] = 2000.0,
    lang: Annotated[str, Query(max_length=8, description=(
        "Language of the findings: en, or a report language (es ...)."))] = "en",
) -> SiteReportOut:
    """Hazards on the point or within `buffer_m`, land released over it, accidents and
    finds within `nearby_m`, in plain words after IMAS (`findings`): what is recorded,
    never that a place is safe."""
    return await _checked(svc, p, {"type": "Point", "coordinates": [lon, lat]}, buffer_m,
                          nearby_m, lang)


_REPORT = TypeAdapter(SiteReportOut)

# What the fast path (api/lean.py) reads itself; anything else goes to FastAPI.
PLAIN_CHECK_PARAMS = frozenset({"lon", "lat", "buffer_m", "nearby_m", "lang"})
# A plain decimal number as a user or a map writes it; FastAPI judges anything else
# (exponents, spaces, signs on zero-padded numbers...).
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,7}(\.[0-9]{1,17})?")


def _plain_float(text: str | None, default: float | None, low: float, high: float
                 ) -> float | None:
    """`text` as a plain decimal within low..high (`default` when absent), or None for
    anything FastAPI should judge (and answer 422 for)."""
    if text is None:
        return default
    if not _PLAIN_NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if low <= value <= high else None


async def check_point_plainly(request: Request) -> Response | None:
    """`check_point` for a query of lon, lat, buffer_m, nearby_m and lang, each plain,
    without FastAPI's routing and parameter solving: a third of a point check's CPU over
    the API (issue 20's bench). The same service, the same response model, the same
    bytes; anything else is declined (None) and takes the route."""
    from mineaction.api.lean import plain_query, within

    q = plain_query(request, PLAIN_CHECK_PARAMS)
    if q is None:
        return None
    lon = _plain_float(q.get("lon"), None, -180, 180)
    lat = _plain_float(q.get("lat"), None, -90, 90)
    buffer_m = _plain_float(q.get("buffer_m"), 500.0, 0, MAX_BUFFER_M)
    nearby_m = _plain_float(q.get("nearby_m"), 2000.0, 0, MAX_BUFFER_M)
    lang = q.get("lang", "en")
    if lon is None or lat is None or buffer_m is None or nearby_m is None \
            or not within(lang, 8):
        return None
    return await _answer_plainly(request, {"type": "Point", "coordinates": [lon, lat]},
                                 buffer_m, nearby_m, lang)


# What the fast path reads of a POSTed site; a body with any other key goes to FastAPI.
PLAIN_SITE_KEYS = frozenset({"geometry", "buffer_m", "nearby_m", "lang"})
_ABSENT = object()


async def check_site_plainly(request: Request) -> Response | None:
    """`check_site` for a JSON body of the geometry and, at will, buffer_m, nearby_m and
    lang, each plainly valid, without FastAPI's routing, dependency solving and body
    model: a tenth of an area check's CPU over the API (issue 20's bench). The body is
    read as FastAPI reads it (`json.loads` of the bytes); anything the route would judge
    (another content type, bad JSON, another key, a number as text, a value out of
    range) is declined (None) and takes the route, which answers it."""
    if not _is_json(request.headers.get("content-type")):
        return None
    try:
        body = json.loads(await request.body())
    except ValueError:
        return None
    if not isinstance(body, dict) or not body.keys() <= PLAIN_SITE_KEYS:
        return None
    geometry = body.get("geometry")
    buffer_m = _plain_json_number(body.get("buffer_m", _ABSENT), 500.0, 0, MAX_BUFFER_M)
    nearby_m = _plain_json_number(body.get("nearby_m", _ABSENT), 2000.0, 0, MAX_BUFFER_M)
    lang = body.get("lang", "en")
    if not isinstance(geometry, dict) or buffer_m is None or nearby_m is None \
            or not isinstance(lang, str) or len(lang) > 8:
        return None
    return await _answer_plainly(request, geometry, buffer_m, nearby_m, lang)


def _is_json(content_type: str | None) -> bool:
    """Whether the body is plainly JSON (FastAPI also reads `+json` types, and a body
    with no type at all, as JSON: those take the route)."""
    return content_type is not None and \
        content_type.split(";", 1)[0].strip().lower() == "application/json"


def _plain_json_number(value: Any, default: float, low: float, high: float) -> float | None:
    """A JSON number within low..high as a float (`default` when absent), or None for
    what pydantic should judge: text, booleans, null, NaN, out of range."""
    if value is _ABSENT:
        return default
    if type(value) not in (int, float) or not low <= value <= high:
        return None
    return float(value)


async def _answer_plainly(request: Request, geometry: dict[str, Any], buffer_m: float,
                          nearby_m: float, lang: str) -> Response:
    """The check as the route answers it: the same service, response model and bytes."""
    from mineaction.api.lean import who_is_asking

    who = await who_is_asking(request)  # after the request is read, as FastAPI does
    svc = request.app.state.services

    def run() -> bytes:
        data = _run(svc, who, geometry, buffer_m, nearby_m, lang)
        # validated, then written to JSON by pydantic's core, as FastAPI answers a route
        # with a response model (its dump_json path): half the time of a dict through
        # json.dumps (27 against 52 µs a point's report)
        return _REPORT.dump_json(_REPORT.validate_python(data))

    return Response(await _checking(svc, geometry, buffer_m, nearby_m, run),
                    media_type="application/json")


@router.post("", response_model=SiteReportOut,
             summary="What the records say about a site (point, line or area)")
async def check_site(svc: ServicesDep, p: PrincipalDep, body: SiteIn) -> SiteReportOut:
    """As `GET /site-check`, for any site: for an area or a line, the share of it inside
    each hazard and in land released by each method."""
    return await _checked(svc, p, body.geometry, body.buffer_m, body.nearby_m, body.lang)


# -- certificates -------------------------------------------------------------------------
# Issuing writes a row, and a PDF is a few seconds of WeasyPrint: at most this many of
# each per client in the window, as sign-in attempts are limited (services/container.py).
CERTIFICATES_PER_WINDOW = 30
CERTIFICATE_WINDOW_S = 600.0


class CertificateIn(SiteIn):
    lang: Lang = Field(default="en", max_length=8, description=(
        "Language of the certificate: en, or a report language (es ...). The PDF may also "
        "be asked for in another with `?lang=`."))


class CertificateOut(BaseModel):
    id: str
    evidence_hash: str = Field(description=(
        "SHA-256 of the evidence: the site, the parameters and a digest of each record "
        "used, as the public sees it."))
    records: int = Field(description="How many records the evidence lists.")
    data_as_of: str | None
    pdf: str = Field(description="Where to download the certificate (PDF).")
    verify: str = Field(description="Where to ask whether its evidence is unchanged.")


class ChangedOut(BaseModel):
    kind: str
    id: str
    version: int | None
    version_now: int | None
    fields: list[str]


class GoneOut(BaseModel):
    kind: str
    id: str
    version: int | None
    reason: str = Field(description="deleted, no longer public, or no longer counted")


class AddedOut(BaseModel):
    kind: str
    id: str
    version: int | None


class VerifyOut(BaseModel):
    id: str
    evidence_hash: str
    unchanged: bool = Field(description=(
        "No record behind the certificate changed, was deleted or was added."))
    stored_hash_ok: bool = Field(description=(
        "The stored evidence still hashes to `evidence_hash`."))
    changed: list[ChangedOut]
    deleted: list[GoneOut]
    added: list[AddedOut]
    issued_at: str
    data_as_of: str | None
    data_as_of_now: str | None
    checked_at: str


def _certificates(svc: Any) -> Any:
    return svc.certificates


def _limit(request: Request, p: Any, what: str) -> None:
    from mineaction.services.container import LoginLimiter
    from mineaction.services.errors import TooManyRequests

    limiter = getattr(request.app.state, "certificate_limiter", None)
    if limiter is None:
        limiter = request.app.state.certificate_limiter = LoginLimiter(
            CERTIFICATES_PER_WINDOW, CERTIFICATE_WINDOW_S)
    client = request.client.host if request.client else "-"
    wait = limiter.reserve(f"{what}|{client}|{'' if p.is_public else p.username}")
    if wait:
        raise TooManyRequests(f"too many certificates asked for; try again in {wait} s",
                              headers={"Retry-After": str(wait)})


@router.post("/certificates", response_model=CertificateOut, status_code=201,
             summary="Issue a site check certificate (the public view)")
def issue_certificate(request: Request, svc: ServicesDep, p: PrincipalDep,
                      body: CertificateIn) -> CertificateOut:
    """Check the site as the public would (approved records only, whoever asks) and keep
    the evidence: the site, the parameters and a digest of each record used. Returns the
    certificate's id and evidence hash, and where to get its PDF and to verify it."""
    _limit(request, p, "issue")
    made = _certificates(svc).issue(p, body.geometry, buffer_m=body.buffer_m,
                                    nearby_m=body.nearby_m, lang=body.lang)
    base = str(request.url_for("certificate_pdf", cert_id=made["id"]).path)
    return CertificateOut(**made, pdf=base,
                          verify=str(request.url_for("verify_certificate",
                                                     cert_id=made["id"]).path))


@router.get("/certificates/{cert_id}.pdf", name="certificate_pdf",
            response_class=Response, summary="A site check certificate as PDF",
            responses={200: {"content": {"application/pdf": {}}}})
def certificate_pdf(request: Request, svc: ServicesDep, p: PrincipalDep, cert_id: str,
                    lang: Annotated[str | None, Query(max_length=8, description=(
                        "Language: that of the certificate unless given."))] = None
                    ) -> Response:
    """The certificate: the site and a map, the findings, the IMAS caveat, the ids and
    versions of the records used, the data date, the evidence hash and how to verify it."""
    _limit(request, p, "pdf")  # a PDF is seconds of WeasyPrint: limited as issuing is
    pdf = _certificates(svc).pdf(cert_id, lang)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="site-certificate-{cert_id[:8]}.pdf"'})


@router.get("/certificates/{cert_id}/verify", name="verify_certificate",
            response_model=VerifyOut, summary="Is the evidence behind a certificate unchanged?")
def verify_certificate(svc: ServicesDep, cert_id: str) -> VerifyOut:
    """Each record the certificate lists read again as the public would, and the public
    site check run again with the same site and parameters: records changed (with the
    fields), deleted (or no longer public, or no longer counted) and added. Records out of
    reach and fields the public never sees are not evidence: they change nothing."""
    return VerifyOut.model_validate(_certificates(svc).verify(cert_id))
