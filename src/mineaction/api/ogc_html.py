# SPDX-License-Identifier: GPL-3.0-or-later
"""HTML pages of the OGC API Features endpoints (issue 23): the same JSON body each
endpoint gives, laid out for a browser (the `html` conformance class). Generated, not
templated: a page is a title, links and a table or two, every value escaped."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = ("body{font-family:sans-serif;margin:1.5em;max-width:70em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;"
          "text-align:left;vertical-align:top}")


def page(title: str, body: dict[str, Any]) -> str:
    """An HTML page of an endpoint's JSON answer."""
    parts = [f"<h1>{escape(title)}</h1>"]
    if body.get("description"):
        parts.append(f"<p>{escape(str(body['description']))}</p>")
    if "numberMatched" in body:
        parts.append(f"<p>{int(body['numberReturned'])} of {int(body['numberMatched'])} "
                     "features</p>")
    parts.append(_links(body.get("links", [])))
    if "collections" in body:
        parts.append(_table([{"id": c["id"], "title": c.get("title", ""),
                              "items": _link_to(c, "items")} for c in body["collections"]],
                            raw={"items"}))
    if "conformsTo" in body:
        parts.append("<ul>" + "".join(f"<li>{escape(c)}</li>" for c in body["conformsTo"])
                     + "</ul>")
    if "properties" in body and body.get("type") == "object":  # queryables
        parts.append(_table([{"name": k, **{f: str(v.get(f, "")) for f in ("type", "format")}}
                             for k, v in body["properties"].items()]))
    if body.get("type") == "FeatureCollection":
        parts.append(_table([{"id": f.get("id"), **f.get("properties", {}),
                              "geometry": _short(f.get("geometry"))}
                             for f in body.get("features", [])]))
    if body.get("type") == "Feature":
        parts.append(_table([{"property": k, "value": v}
                             for k, v in {**body.get("properties", {}),
                                          "geometry": _short(body.get("geometry"))}.items()]))
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            + "".join(parts) + "</body></html>")


def _links(links: list[dict[str, Any]]) -> str:
    if not links:
        return ""
    items = "".join(f'<li><a href="{escape(str(link["href"]))}">'
                    f'{escape(str(link.get("title") or link["rel"]))}</a>'
                    f' ({escape(str(link.get("type", "")))})</li>' for link in links)
    return f"<ul>{items}</ul>"


def _link_to(collection: dict[str, Any], rel: str) -> str:
    for link in collection.get("links", []):
        if link.get("rel") == rel and link.get("type") == "text/html":
            return f'<a href="{escape(str(link["href"]))}">{rel}</a>'
    return ""


def _short(geometry: Any) -> str:
    if not geometry:
        return ""
    coords = str(geometry.get("coordinates", ""))
    return f"{geometry.get('type')} {coords[:80]}{'…' if len(coords) > 80 else ''}"


def _table(rows: list[dict[str, Any]], raw: frozenset[str] | set[str] = frozenset()) -> str:
    if not rows:
        return "<p>None.</p>"
    names = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(
        f"<td>{r.get(n, '') if n in raw else escape('' if r.get(n) is None else str(r[n]))}</td>"
        for n in names) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
