# SPDX-License-Identifier: GPL-3.0-or-later
"""The API definition of the OGC API endpoints (/ogc/api, issue 23): the app's own
OpenAPI document (generated from the routes, never written by hand), cut to the /ogc
paths and the schemas they use, in OpenAPI 3.0 as the `oas30` conformance class asks.

FastAPI writes OpenAPI 3.1, whose nullable values (`anyOf` with `{"type": "null"}`),
`examples` lists and `const` OpenAPI 3.0 spells otherwise; clients of OGC APIs (GDAL,
QGIS, the OGC test suites) read 3.0. Query parameters get the form style the standard
writes out, and `limit` its integer schema with the server's largest page (the router
takes it as text to answer a bad one with 400, as the standard asks, not FastAPI's 422).
"""

from __future__ import annotations

import copy
import json
from typing import Any

PREFIX = "/ogc"


def ogc_openapi(full: dict[str, Any], *, server: str, collections: list[str],
                default_limit: int, max_limit: int) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the /ogc paths of `full` (the app's 3.1 document),
    relative to `server` (the landing page's URL), each collection's paths written out
    as pygeoapi writes them (clients look up /collections/hazards/items, not the
    template)."""
    paths: dict[str, Any] = {}
    for path, ops in full["paths"].items():
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            continue
        relative = path.removeprefix(PREFIX) or "/"
        if "{collectionId}" not in relative:
            paths[relative] = copy.deepcopy(ops)
            continue
        for name in collections:
            written = copy.deepcopy(ops)
            for op in written.values():
                op["parameters"] = [p for p in op.get("parameters", [])
                                    if p.get("name") != "collectionId"]
                op["operationId"] = f"{op.get('operationId', 'op')}_{name}"
            paths[relative.replace("{collectionId}", name)] = written
    schemas = full.get("components", {}).get("schemas", {})
    used = _referenced(paths, schemas)
    components: dict[str, Any] = {"schemas": {n: copy.deepcopy(schemas[n])
                                              for n in sorted(used)}}
    if "securitySchemes" in full.get("components", {}):
        components["securitySchemes"] = copy.deepcopy(full["components"]["securitySchemes"])
    for ops in paths.values():
        for op in ops.values():
            for param in op.get("parameters", []):
                if param.get("in") == "query":
                    param["style"], param["explode"] = "form", False
                if param.get("name") == "limit" and param.get("in") == "query":
                    param["schema"] = {"type": "integer", "minimum": 1,
                                       "maximum": max_limit, "default": default_limit}
                if param.get("name") == "bbox" and param.get("in") == "query":
                    param["schema"] = {"type": "array", "minItems": 4, "maxItems": 6,
                                       "items": {"type": "number"}}
    doc = {"openapi": "3.0.3", "info": full["info"], "servers": [{"url": server}],
           "paths": paths, "components": components}
    return _as_30(doc)  # type: ignore[no-any-return]


def _referenced(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The component schemas `paths` refer to, directly or through each other."""
    found: set[str] = set()
    pending = [paths]
    while pending:
        text = json.dumps(pending.pop())
        for part in text.split('"#/components/schemas/')[1:]:
            name = part.split('"', 1)[0]
            if name not in found and name in schemas:
                found.add(name)
                pending.append(schemas[name])
    return found


def _as_30(node: Any) -> Any:
    """A 3.1 schema tree spelt as 3.0."""
    if isinstance(node, list):
        return [_as_30(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _as_30(v) for k, v in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1:
            out = {**rest[0], **out}
        elif rest:
            out["anyOf"] = rest
        out["nullable"] = True
    if isinstance(out.get("examples"), list) and "in" not in out:
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out
