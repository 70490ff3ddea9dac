# SPDX-License-Identifier: GPL-3.0-or-later
"""The feature registry: every feature the risk model can use, what it means, how it is
computed, from which kind of record, and with which time cut-off.

Names are patterns: `{kind}` is one of accident, find, hazard, released or `any` (all kinds
together); `{r}` a radius in km from the configuration (default 1, 5, 10); `{layer}` the
name of a covariate layer in the configuration. `describe()` renders the table that
docs/risk-model.md carries; a test checks that every column `features.compute` makes matches
an entry here, so the registry cannot drift from the code.

The cut-off rule, for every history feature: an event counts only if its date is strictly
before the cut-off T (decimal years; a year-only date is 1 January). Covariate layers carry
no dates: they are taken as they are, which is a leak only if a layer was drawn *because* of
later events (say, a map of cleared roads); the user picks the layers and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FeatureSpec:
    pattern: str
    description: str
    computed: str
    source: str
    cutoff: str


HISTORY = "events dated before the cut-off T only"

REGISTRY: tuple[FeatureSpec, ...] = (
    FeatureSpec("dist_{kind}_km", "distance from the cell centre to the nearest known event "
                "of that kind", "KD-tree nearest neighbour in the grid's equal-area "
                "projection; capped at `max_distance_km` (default 300) when none is known",
                "accidents, finds, hazards (their representative point), released parts",
                HISTORY),
    FeatureSpec("count_{kind}_{r}km", "number of known events of that kind within r km",
                "pairs of (event, cell centre) within the largest radius from a KD-tree, "
                "summed per cell", "as above", HISTORY),
    FeatureSpec("wcount_{kind}_{r}km", "recency-weighted count within r km: each event "
                "weighs 0.5 ** (age / half-life), age = T - event date in years "
                "(half-life default 3 years), so an event of last year counts about 0.8 "
                "and one of 10 years ago about 0.1", "as count, weighted", "as above",
                HISTORY),
    FeatureSpec("recent_{kind}_{r}km", "number of events within r km in the last "
                "`recent_years` (default 2) before T: is the area active now?",
                "as count, on events with T - recent_years <= date < T", "as above",
                HISTORY),
    FeatureSpec("years_since_{kind}_{r}km", "years between the latest event within r km "
                "and T; `max_age_years` (default 30) when there is none",
                "max event date per cell over the pairs", "as above", HISTORY),
    FeatureSpec("active_{y}y_{kind}_{r}km", "number of events within r km in the last y "
                "years before T, for each y of `activity_years` (none by default; the bench: "
                "1 and 3): how active the neighbourhood is at several time scales",
                "as count, on events with T - y <= date < T", "as above", HISTORY),
    FeatureSpec("decay_{h}y_{kind}_{r}km", "recency-weighted count within r km with a "
                "half-life of h years, for each h of `decay_half_lives_years` (none by "
                "default): wcount at other time scales", "as wcount", "as above", HISTORY),
    FeatureSpec("years_with_events_{kind}_{r}km", "number of calendar years with at least "
                "one event within r km (configuration `event_years: true`): a place hit "
                "year after year is hit again more surely than one with a single burst",
                "one bit per year over the last 64 years per cell, OR-ed over the pairs, "
                "then counted", "as above", HISTORY),
    FeatureSpec("dist_recent_{kind}_km", "distance to the nearest event of the last "
                "`recent_years` before T (configuration `recent_distance: true`): where "
                "the activity is now", "as dist, on the recent events; the cap when none",
                "as above", HISTORY),
    FeatureSpec("admin_code", "the cell's admin area one level up (department), as a "
                "categorical code: a fixed, target-free label, not an encoding of outcomes",
                "point-in-polygon of the cell centre in the admin layer; one extra code "
                "for outside",
                "admin-area polygons (configuration `admin:`)", "none needed: no outcome"),
    FeatureSpec("admin_wdensity", "recency-weighted events per km2 in the cell's lower "
                "admin area (municipality): how active the area as a whole was",
                "events located in the same polygons, weighted as wcount, divided by the "
                "polygon's equal-area km2", "events as above, admin-area polygons",
                HISTORY),
    FeatureSpec("admin_recent_density", "events per km2 in the cell's municipality in the "
                "last `recent_years` before T", "as admin_wdensity, unweighted, recent only",
                "as above", HISTORY),
    FeatureSpec("admin_trend", "log((events in the cell's municipality in the last "
                "`trend_years` (default 5) before T + 1) / (events in the `trend_years` before "
                "those + 1)): is the municipality heating up or cooling down? (configuration "
                "`admin_trend: true`)", "counts per polygon of the two windows",
                "as admin_wdensity", HISTORY),
    FeatureSpec("kde_{kind}_{r}km", "recency-weighted Gaussian kernel density of past "
                "events (any kind) with bandwidth r km, events per km2 (weights as wcount): "
                "reaches 20-50 km, where counts of pairs would be too many",
                "events summed on a raster of r/4 (at least 250 m), smoothed by a Gaussian "
                "of sigma r (scipy.ndimage, truncated at 4 sigma), read at the cell "
                "(configuration `kde_bandwidths_km`)", "accidents, finds, hazards", HISTORY),
    FeatureSpec("kde_recent_{kind}_{r}km", "as kde, unweighted, on the events of the last "
                "`trend_years` (default 5) before T only", "as kde", "as above", HISTORY),
    FeatureSpec("trend_{kind}_{r}km", "log((density of the last `trend_years` + 0.001) / "
                "(density of the `trend_years` before those + 0.001)), densities as "
                "kde_recent, per km2: is the neighbourhood heating up or cooling down?",
                "as kde, two windows", "as above", HISTORY),
    FeatureSpec("cov_{layer}_km", "distance to the nearest feature of a user-supplied "
                "vector layer (roads, settlements, rivers, ...); with `measure: boundary`, to "
                "the nearest outline of its polygons (the coast from a land layer, the nearest "
                "municipal border from admin areas)",
                "points: KD-tree; lines and polygon boundaries: vertices after densifying to "
                "`densify_m` (default 250 m; error at most half that); 0 inside a polygon "
                "(not with `measure: boundary`); only the part within the events' box widened "
                "by the cap and 1,000 km is read",
                "any vector file pyogrio reads (gzipped too), named in the YAML "
                "`covariates:` list", "the layer as given (undated)"),
    FeatureSpec("cov_{layer}_count_{r}km", "number of features of a point layer within r km "
                "(measure: count; the layer's own `radii_km`, else the history's)",
                "KD-tree ball counts", "a point layer, as above",
                "the layer as given (undated)"),
)


def _regex(pattern: str) -> re.Pattern[str]:
    body = re.escape(pattern)
    for token, rx in (("\\{kind\\}", "[a-z]+"), ("\\{r\\}", "[0-9.]+"),
                      ("\\{y\\}", "[0-9.]+"), ("\\{h\\}", "[0-9.]+"),
                      ("\\{layer\\}", "[A-Za-z0-9_]+")):
        body = body.replace(token, rx)
    return re.compile(f"^{body}$")


def spec_for(name: str) -> FeatureSpec | None:
    """The registry entry a concrete column name belongs to."""
    for spec in REGISTRY:
        if _regex(spec.pattern).match(name):
            return spec
    return None


# The features of the event history around the cell alone (distances, counts, recency):
# the rank mix's second member (model.train_mix) sees only these. The admin areas', the
# kernel densities', the trends' and the covariate layers' columns are left out.
EVENT_HISTORY = ("dist_{kind}_km", "count_{kind}_{r}km", "wcount_{kind}_{r}km",
                 "recent_{kind}_{r}km", "years_since_{kind}_{r}km", "active_{y}y_{kind}_{r}km",
                 "decay_{h}y_{kind}_{r}km", "years_with_events_{kind}_{r}km",
                 "dist_recent_{kind}_km")


def event_history(columns: list[str]) -> list[str]:
    """The columns of `columns` that describe the event history around the cell alone."""
    return [c for c in columns if (spec := spec_for(c)) is not None
            and spec.pattern in EVENT_HISTORY]


def describe() -> str:
    """The registry as a Markdown table."""
    lines = ["| feature | meaning | how computed | from | time cut-off |",
             "|---|---|---|---|---|"]
    for s in REGISTRY:
        lines.append(f"| `{s.pattern}` | {s.description} | {s.computed} | {s.source} | "
                     f"{s.cutoff} |")
    return "\n".join(lines)
