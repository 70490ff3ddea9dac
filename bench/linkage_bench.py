# SPDX-License-Identifier: GPL-3.0-or-later
"""Record linkage (issue 17), four figures, each beside peers run in the same process:

 (1) a revised AICMA release against the original register (bench/reconcile_data.py):
     unchanged / changed / added / no-longer-present against the truth, and whether the
     unchanged and changed rows keep their original row;
 (2) three overlapping sources (two of victims, one of accidents with counts): pairwise
     precision and recall and the canonical count against the truth, beside exact-key
     matching, a simple rule-based matcher and an oracle that knows everything but which
     twin is which (the ceiling); on the generator's default noise (a source's date and
     site errors made once per accident) and, in one line, on per-victim noise;
 (3) scale: a --rows release (default 1,000,000) against as many stored victims
     (bench/synthetic.py, seeded), wall time and peak memory, beside the exact-key peer;
 (4) the multiple-systems estimate (analysis/mse.py) on the three sources of (2), from capture
     histories derived from OUR linkage (MSE_DERIVATION says how, press counts included),
     and averaged over draws of our linkage (analysis/mse_linkage.py, LINKAGE_AVERAGED),
     beside the same derivation on the exact-key peer's clusters and on the true victim
     clusters, and the estimate from the true matching; per seed (--mse-seeds), whether the
     95% interval covers the true total (victims no source has included).

    python bench/linkage_bench.py [--rows 1000000] [--seed 7] [--workdir DIR] [--json F]
                                  [--reuse-scale] [--mse-seeds 7,8,9] [--mse-bootstrap 1000]

Records identical in every field all sources give cannot be told apart by any method (twins:
two soldiers of one patrol, both adult men, injured the same day in the same place). The
strict metrics count a twin swapped for its twin as an error; the twin-aware ones count it as
right: links and true pairs are counted per pair of twin classes and matched one to one
there (hits = the sum over class pairs of min(links, true pairs)), so linking two twins when
only one of them is in both sources stays an error. Both are printed, each named.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
import reconcile_data  # noqa: E402

NAME = "linkage_bench"
DEFAULT_ROWS = 1_000_000
MAPPING = common.REPO / "src" / "mineaction" / "io" / "mappings" / "aicma-victims.yaml"
UPPER, LOWER = 0.95, 0.6
RESULTS_FILE = common.RESULTS / f"{NAME}.json"


# -- raw AICMA columns to domain values, with the shipped mapping's own value tables -------
def value_tables() -> dict[str, dict[str, Any]]:
    """domain field -> {register word: domain value}, read from aicma-victims.yaml."""
    spec = yaml.safe_load(MAPPING.read_text())
    target = spec["targets"][0]
    tables = {}
    for section in (target["fields"], target["group"]["fields"]):
        for name, rule in section.items():
            if isinstance(rule, dict) and "values" in rule:
                tables[name] = {"from": rule["from"], "values": rule["values"],
                                "default": rule.get("default")}
    return tables


TABLES = value_tables()


def mapped(raw: pd.Series, field: str) -> pd.Series:
    table = TABLES[field]
    text = raw.astype(str).str.strip()
    out = text.map(table["values"])
    if table["default"] is not None:
        out = out.where(text.isin(list(table["values"])), table["default"])
    return out.where(text != "", None).astype(object)


def register_to_domain(raw: pd.DataFrame) -> pd.DataFrame:
    """Register rows (raw AICMA columns, any column order, numbers with or without
    thousands separators) as normalised victim records."""
    def number(column: str) -> pd.Series:
        return raw[column].astype(str).str.replace(",", "").str.strip()

    year, month = number("ano"), number("mes")
    return pd.DataFrame({
        "accident_date": pd.to_datetime(year + "-" + month.str.zfill(2) + "-01",
                                        errors="coerce"),
        "date_precision": "month",
        "admin_area_pcode": number("codigodanemunicipio"),
        "place_name": raw["sitio"].to_numpy(),
        "longitude": pd.to_numeric(raw["longitudcabecera"], errors="coerce"),
        "latitude": pd.to_numeric(raw["latitudcabecera"], errors="coerce"),
        **{f: mapped(raw[TABLES[f]["from"]], f) for f in
           ("outcome", "sex", "age_band", "role", "activity", "accident_kind",
            "device_category")},
    })


def gazetteer() -> pd.DataFrame:
    from synthetic import municipalities

    m = municipalities()
    return pd.DataFrame({"name": m["mun"], "department": m["dep"], "pcode": m["muncode"]})


def source_to_domain(frame: pd.DataFrame, gaz: pd.DataFrame) -> pd.DataFrame:
    """A generated source (centre or ngo) as normalised victim records."""
    from mineaction.linkage.fields import pcode_from_names

    if "municipality_code" in frame.columns:
        pcode = frame["municipality_code"].astype(str)
    else:
        pcode = pcode_from_names(frame["municipality_name"], gaz, frame["department_name"])
    blank = frame.replace("", None)
    out = pd.DataFrame({
        "id": frame["record_id"].to_numpy(),
        "accident_date": pd.to_datetime(blank["event_date"], errors="coerce"),
        "date_precision": "day",
        "admin_area_pcode": pcode.to_numpy(),
        "place_name": blank["site"].to_numpy(),
        "accident_kind": mapped(frame["device"].fillna(""), "accident_kind").to_numpy(),
        "device_category": mapped(frame["device"].fillna(""), "device_category").to_numpy(),
    })
    for field, column in (("outcome", "outcome"), ("sex", "sex"), ("role", "role"),
                          ("activity", "activity")):
        out[field] = mapped(frame[column].fillna(""), field).to_numpy()
    if "age_band" in frame.columns:
        out["age_band"] = mapped(frame["age_band"].fillna(""), "age_band").to_numpy()
    if "age_years" in frame.columns:
        out["age"] = pd.to_numeric(blank["age_years"], errors="coerce").to_numpy()
    return out


# -- (1) the revised release ----------------------------------------------------------------
def revised_release_figures(seed: int) -> dict[str, Any]:
    from mineaction.linkage.fields import prepare
    from mineaction.linkage.release import compared_columns, match_release

    raw = reconcile_data.load_register()
    revised, truth = reconcile_data.revised_release(raw, seed)
    current = register_to_domain(raw).assign(id=np.arange(len(raw)))
    incoming = register_to_domain(revised).assign(row=np.arange(len(revised)))
    started = time.perf_counter()
    result = match_release(current, incoming, "victim", upper=UPPER, lower=LOWER)
    seconds = time.perf_counter() - started

    t = truth.rows
    true_counts = {"unchanged": int((t["original_row"].notna()
                                     & t["corrected_field"].isna()).sum()),
                   "changed": int(t["corrected_field"].notna().sum()),
                   "new": int(t["original_row"].isna().sum()),
                   "no_longer_present": len(truth.removed)}
    ours = result.counts()
    rows = result.rows.merge(t, left_on="row", right_on="output_row")
    kept = rows[rows["status"].isin(["unchanged", "changed"])]
    strict_right = kept["id"].astype("Int64") == kept["original_row"]
    # Twin-aware: the id given is a row identical, in every compared field, to the true one.
    keys = prepare(current, "victim")[compared_columns("victim")]
    key = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    given = key[kept["id"].astype(int).to_numpy()]
    true_key = np.where(kept["original_row"].isna(), -1,
                        key[kept["original_row"].fillna(0).astype(int).to_numpy()])
    twin_right = given == true_key
    oracle = release_oracle(keys, prepare(incoming, "victim")[compared_columns("victim")],
                            true_counts["changed"])
    changed_ok = rows[(rows["status"] == "changed") & rows["corrected_field"].notna()]
    field_named = sum(
        1 for f, cf in zip(changed_ok["corrected_field"], changed_ok["changed_fields"],
                           strict=True) if _domain_field(f) in cf)
    n = len(revised)
    return {
        "rows_current": len(raw), "rows_release": n, "seconds": round(seconds, 2),
        "truth": true_counts, "ours": ours,
        "within_1_percent_of_release": {
            k: abs(ours[k] - v) <= 0.01 * n for k, v in true_counts.items()},
        "within_1_percent_of_count": {
            k: abs(ours[k] - v) <= 0.01 * max(v, 1) for k, v in true_counts.items()},
        "oracle": oracle,
        "oracle_within_1_percent_of_count": {
            k: abs(oracle[k] - v) <= 0.01 * max(v, 1) for k, v in true_counts.items()},
        "kept_rows": len(kept),
        "kept_right_original_strict": round(float(strict_right.mean()), 4),
        "kept_right_original_twin_aware": round(float(twin_right.mean()), 4),
        "changed_with_field_named": f"{field_named}/{len(changed_ok)}",
        "review": ours["review"], "notes": result.notes,
    }


def release_oracle(current: pd.DataFrame, incoming: pd.DataFrame, changed: int
                   ) -> dict[str, int]:
    """What a matcher that knows every compared field of every row, but not who is who,
    reports at best. Rows equal in every field (twins: a patrol's soldiers, a family) are
    matched up to the smaller of their counts in the register and in the release: when
    one of two identical victims is gone and an identical one is new, nothing tells that
    from no change. It names the corrected rows as the truth does; the rest of the
    release is new, the rest of the register no longer present."""
    old = pd.util.hash_pandas_object(current, index=False).value_counts()
    new = pd.util.hash_pandas_object(incoming, index=False).value_counts()
    shared = old.index.intersection(new.index)
    same = int(np.minimum(old[shared], new[shared]).sum())
    return {"unchanged": same, "changed": changed, "new": len(incoming) - same - changed,
            "no_longer_present": len(current) - same - changed}


def _domain_field(raw_column: str) -> str:
    return {"rangoedad": "age_band", "estado": "outcome", "condicion": "role",
            "Actividad": "activity"}.get(raw_column, raw_column)


# -- (2) three sources ----------------------------------------------------------------------
def pair_metrics(predicted: set[tuple[str, str]], true: set[tuple[str, str]]
                 ) -> dict[str, float]:
    hits = len(predicted & true)
    return {"pairs": len(predicted), "precision": round(hits / max(len(predicted), 1), 4),
            "recall": round(hits / max(len(true), 1), 4)}


def twin_metrics(predicted: set[tuple[str, str]], true: set[tuple[str, str]],
                 twin_of: dict[str, Any]) -> dict[str, float]:
    """A predicted pair counts as right when it joins two records indistinguishable (equal
    in every field both give) from a true pair's: matched one-to-one per twin class."""
    def cls(pairs: set[tuple[str, str]]) -> dict[tuple[Any, Any], int]:
        out: dict[tuple[Any, Any], int] = {}
        for a, b in pairs:
            k = (twin_of[a], twin_of[b])
            out[k] = out.get(k, 0) + 1
        return out

    p, t = cls(predicted), cls(true)
    hits = sum(min(n, t.get(k, 0)) for k, n in p.items())
    return {"pairs": len(predicted), "precision": round(hits / max(len(predicted), 1), 4),
            "recall": round(hits / max(len(true), 1), 4)}


def ambiguous_share(frames: dict[str, pd.DataFrame], true_pairs: set[tuple[str, str]],
                    twin_of: dict[str, Any]) -> float:
    """The share of true pairs whose centre record has, besides its true partner, another
    record of the other source that no field contradicts (same municipality, dates within
    31 days, every field both give equal) and that is not its partner's twin. Not a ceiling
    (the partner may agree on the very day, the other be weeks away), but the share of pairs
    where only closeness, not any contradiction, tells the right partner from a wrong one."""
    from mineaction.linkage.fields import prepare

    cols = ["id", "admin_area_pcode", "date_start", "age_band", "sex", "outcome", "role",
            "activity", "accident_kind", "place_name"]
    a, b = (prepare(f, "victim").assign(id=f["id"].to_numpy())[cols] for f in frames.values())
    pairs = a.merge(b, on="admin_area_pcode", suffixes=("", "_r"))
    gap = (pairs["date_start"] - pairs["date_start_r"]).dt.days.abs()
    fine = (gap <= 31) | gap.isna()
    for c in cols[3:]:
        fine &= (pairs[c] == pairs[f"{c}_r"]).fillna(False) | pairs[c].isna() | \
            pairs[f"{c}_r"].isna()
    compatible = pairs[fine].groupby("id")["id_r"].agg(list)
    ambiguous = sum(1 for x, y in true_pairs
                    if any(twin_of[z] != twin_of[y] for z in compatible.get(x, [])))
    return round(ambiguous / max(len(true_pairs), 1), 4)


def exact_key_peer(frames: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """Peer 1: records equal in every compared field (as normalised), one-to-one."""
    from mineaction.linkage.assign import exact_pairs
    from mineaction.linkage.fields import prepare
    a, b = (prepare(f, "victim").assign(id=f["id"].to_numpy()) for f in frames.values())
    # The fields both sources give (one gives ages, the other bands: the band compares).
    cols = ["accident_date", "admin_area_pcode", "age_band", "sex", "outcome", "role",
            "activity", "accident_kind", "device_category", "place_name"]
    pairs = exact_pairs(a, b.rename(columns={"id": "id_r"}), cols, "id", "id_r")
    return set(zip(pairs["id"], pairs["id_r"], strict=True))


def rule_peer(frames: dict[str, pd.DataFrame]) -> set[tuple[str, str]]:
    """Peer 2: same municipality, dates within 31 days, same sex and outcome; one-to-one,
    nearest date first."""
    from mineaction.linkage.assign import greedy_one_to_one
    from mineaction.linkage.fields import prepare

    a, b = (prepare(f, "victim").assign(id=f["id"].to_numpy()) for f in frames.values())
    pairs = a[["id", "admin_area_pcode", "date_start", "sex", "outcome"]].merge(
        b[["id", "admin_area_pcode", "date_start", "sex", "outcome"]],
        on=["admin_area_pcode", "sex", "outcome"], suffixes=("", "_r"))
    gap = (pairs["date_start"] - pairs["date_start_r"]).dt.days.abs()
    pairs = pairs[gap <= 31].assign(score=-gap[gap <= 31])
    chosen = greedy_one_to_one(pairs, "id", "id_r", score="score")
    return set(zip(chosen["id"], chosen["id_r"], strict=True))


def oracle_ceiling(frames: dict[str, pd.DataFrame], true_pairs: set[tuple[str, str]],
                   twin_of: dict[str, Any]) -> dict[str, float]:
    """What a linker that knew every record's true accident and every field of every victim,
    but not which of two twins is which, would score: it links, within each twin class,
    as many pairs as the smaller source has (min(a, b)); the twin-aware precision it reaches
    is the ceiling for any method that finds every true pair (recall 1)."""
    from collections import Counter

    a, b = (Counter(twin_of[r] for r in f["id"]) for f in frames.values())
    pairs = sum(min(n, b.get(k, 0)) for k, n in a.items())
    return {"pairs": pairs, "precision": round(len(true_pairs) / max(pairs, 1), 4),
            "recall": 1.0}


def oracle_frontier(frames: dict[str, pd.DataFrame], true_pairs: set[tuple[str, str]],
                    twin_of: dict[str, Any], class_size: dict[Any, int]) -> dict[str, Any]:
    """The best precision and recall together that any linker can expect here: an oracle
    that knows each record's accident, every field of every person, and how many persons
    of the register share each twin class (`class_size`, s), but not which twin a source
    lists. In a class where one source has a records and the other b, the overlap t is
    hypergeometric (the sources cover persons independently, as the generator draws them),
    so its k-th link is right with probability P(t >= k). Taking links in falling order of
    that probability traces the highest precision reachable at each recall in expectation;
    any real method knows less. Returns the expected frontier's recall at precision 0.98,
    its precision at recall 0.95 (the issue's two targets), and the same read on the
    realised hits of that order (which depend a little on the order of ties)."""
    from collections import Counter

    from scipy.stats import hypergeom

    a, b = (Counter(twin_of[r] for r in f["id"]) for f in frames.values())
    t = Counter(twin_of[x] for x, _ in true_pairs)
    chance, hit = [], []
    for key, na in a.items():
        nb = b.get(key, 0)
        for k in range(1, min(na, nb) + 1):
            chance.append(float(hypergeom(class_size[key], na, nb).sf(k - 1)))
            hit.append(1.0 if t.get(key, 0) >= k else 0.0)
    order = np.argsort(-np.asarray(chance), kind="stable")
    p, h = np.asarray(chance)[order], np.asarray(hit)[order]
    links = np.arange(1, len(p) + 1)

    def read(hits: np.ndarray[Any, Any], total: float) -> tuple[float, float]:
        precision, recall = hits / links, hits / max(total, 1e-9)
        at_p = recall[precision >= 0.98].max(initial=0.0)
        at_r = precision[recall >= 0.95].max(initial=0.0)
        return round(float(at_p), 4), round(float(at_r), 4)

    expected = read(np.cumsum(p), float(p.sum()))
    realised = read(np.cumsum(h), float(len(true_pairs)))
    return {"recall_at_precision_0_98": expected[0], "precision_at_recall_0_95": expected[1],
            "realised_recall_at_precision_0_98": realised[0],
            "realised_precision_at_recall_0_95": realised[1],
            "certain_share": round(float(h[p >= 1 - 1e-12].sum() / max(len(true_pairs), 1)),
                                   4),
            "both_targets_reachable": bool(expected[0] >= 0.95)}


def sources_figures(seed: int, noise: str = "accident", coverage: str = "victim"
                    ) -> dict[str, Any]:
    from mineaction.linkage.clusters import canonical, cluster_links
    from mineaction.linkage.sources import link_sources

    raw = reconcile_data.load_register()
    sources, truth = reconcile_data.three_sources(raw, seed, noise=noise, coverage=coverage)
    gaz = gazetteer()
    frames = {name: source_to_domain(sources[name], gaz) for name in ("centre", "ngo")}
    person = truth.links.set_index(["source", "record_id"])["person_id"]
    accident = truth.links.set_index(["source", "record_id"])["accident_id"]
    true_pairs = set()
    centre_person = {r: person[("centre", r)] for r in frames["centre"]["id"]}
    ngo_by_person = {person[("ngo", r)]: r for r in frames["ngo"]["id"]}
    for r, p in centre_person.items():
        if p in ngo_by_person:
            true_pairs.add((r, ngo_by_person[p]))
    distinct = len(set(centre_person.values()) | set(ngo_by_person))

    # Twin classes: persons of one accident equal in every field both victim sources give,
    # as the shipped mapping maps them (two activity words that both map to "other" are
    # one value). The register's accident (municipality, site, month, device) is in the key.
    domain = register_to_domain(raw)
    twin_fields = ["accident_date", "admin_area_pcode", "place_name", "accident_kind",
                   "age_band", "role", "outcome", "sex", "activity"]
    reg_key = pd.util.hash_pandas_object(domain[twin_fields], index=False).to_numpy()
    twin_of = {r: reg_key[p] for (_, r), p in person.items()}
    class_size = pd.Series(reg_key).value_counts().to_dict()

    started = time.perf_counter()
    links = link_sources(frames, "victim", upper=UPPER, lower=LOWER)
    seconds = time.perf_counter() - started
    status = links.links["status"]
    accepted = links.links[status == "accepted"]
    joined = links.links[status.isin(["accepted", "review"])]
    ours = set(zip(accepted["id_l"], accepted["id_r"], strict=True))  # centre < ngo by name
    ours_joined = set(zip(joined["id_l"], joined["id_r"], strict=True))
    canon = canonical(links, rule="newest",
                      information_dates={"centre": "2021-06-30", "ngo": "2021-03-31"})
    # As the store counts (store/links.py): review links join records until decided.
    _, as_stored = cluster_links(links.prepared, links.links.assign(
        status=np.where(status == "review", "accepted", status)))
    stored_count = (sum(len(f) for f in frames.values())
                    - int((as_stored["status"] == "accepted").sum()))
    exact, rules = exact_key_peer(frames), rule_peer(frames)
    n_records = sum(len(f) for f in frames.values())

    def row(pairs: set[tuple[str, str]], count: int) -> dict[str, Any]:
        return {"strict": pair_metrics(pairs, true_pairs),
                "twin_aware": twin_metrics(pairs, true_pairs, twin_of),
                "same_accident_share": round(float(np.mean(
                    [accident[("centre", x)] == accident[("ngo", y)] for x, y in pairs]
                    or [0.0])), 4),
                "same_twin_class_share": round(float(np.mean(
                    [twin_of[x] == twin_of[y] for x, y in pairs] or [0.0])), 4),
                "canonical_count": count,
                "count_error_percent": round(100 * (count - distinct) / distinct, 2)}

    figures = {
        "noise": noise, "coverage": coverage,
        "records": {n: len(f) for n, f in frames.items()} | {"press": len(sources["press"])},
        "true_pairs": len(true_pairs), "true_distinct_victims_in_sources": distinct,
        "true_total_persons": truth.true_total, "seconds": round(seconds, 2),
        "splink": row(ours, len(canon)) | {
            "review_links": int((status == "review").sum()),
            "split_links": int((status == "split").sum())},
        "splink_with_review": row(ours_joined, stored_count),
        "exact_key_peer": row(exact, n_records - len(exact)),
        "rule_peer": row(rules, n_records - len(rules)),
        "oracle_ceiling": oracle_ceiling(frames, true_pairs, twin_of),
        "oracle_frontier": oracle_frontier(frames, true_pairs, twin_of, class_size),
        "notes": links.notes,
        "true_pairs_with_an_uncontradicted_rival": ambiguous_share(frames, true_pairs, twin_of),
    }
    figures["press_accidents"] = press_figures(sources["press"], canon, links, truth)
    return figures


def press_figures(press: pd.DataFrame, canon: pd.DataFrame, links: Any,
                  truth: Any) -> dict[str, Any]:
    """The accidents-only source linked to the canonical victims' accidents (date + place);
    right when the accident it takes holds a victim of the press row's true accident."""
    from mineaction.linkage.accidents import link_accident_counts, victim_accidents

    counts = pd.DataFrame({
        "id": press["record_id"].to_numpy(),
        "accident_date": pd.to_datetime(press["event_date"].replace("", None), errors="coerce"),
        "date_precision": "day",
        "admin_area_pcode": press["municipality_code"].astype(str).to_numpy(),
        "accident_kind": mapped(press["device"].fillna(""), "accident_kind").to_numpy(),
        "killed": press["killed"].astype(int).to_numpy(),
        "injured": press["injured"].astype(int).to_numpy(),
    })
    linked = link_accident_counts(canon, counts)
    accidents = victim_accidents(canon)
    # Which true accidents each canonical accident holds (through its records' persons).
    person = truth.links.set_index(["source", "record_id"])["accident_id"]
    canon_acc = canon.merge(accidents, on=["admin_area_pcode", "accident_date",
                                           "date_precision", "accident_kind"], how="left",
                            suffixes=("", "_acc"))
    holds: dict[int, set[int]] = {}
    key_cols = ["admin_area_pcode", "accident_date", "date_precision", "accident_kind"]
    acc_of = {tuple(k): a for k, a in zip(accidents[key_cols].itertuples(index=False),
                                          accidents["accident"], strict=True)}
    for rec_tuple, *key in zip(canon["records"], *(canon[c] for c in key_cols), strict=True):
        kk = tuple("" if (c == "accident_kind" and v is None) else
                   ("day" if (c == "date_precision" and v is None) else v)
                   for c, v in zip(key_cols, key, strict=True))
        a = acc_of.get(kk)
        if a is None:
            continue
        holds.setdefault(int(a), set()).update(int(person[r]) for r in rec_tuple)
    del canon_acc
    press_acc = truth.links[truth.links["source"] == "press"].drop_duplicates(
        "record_id").set_index("record_id")["accident_id"]
    matched = linked[linked["accident"].notna()]
    right = sum(1 for r, a in zip(matched["id"], matched["accident"], strict=True)
                if press_acc[r] in holds.get(int(a), set()))
    return {"press_accidents": len(linked), "linked": len(matched),
            "linked_right": right,
            "counts_agree": int(((matched["killed"] == matched["killed_victims"])
                                 & (matched["injured"] == matched["injured_victims"])).sum())}


# -- (4) multiple-systems estimate from our linkage ------------------------------------------
MSE_SOURCES = ("centre", "ngo", "press")
INFORMATION_DATES = {"centre": "2021-06-30", "ngo": "2021-03-31"}
MSE_DERIVATION = (
    "Capture histories from OUR linkage, not the truth: a canonical victim is a cluster of "
    "the centre/NGO linkage (accepted links), in 'centre' and/or 'ngo' by its cluster's "
    "records. The press lists accidents only, with counts: each press accident is linked "
    "(linkage.accidents.link_accident_counts: same municipality, dates within 31 days, "
    "nearest date then closest counts, one to one) to an accident of the canonical victims "
    "(victims sharing municipality, date, precision and kind); a press accident counting k "
    "killed and j injured marks 'in press' up to k of that accident's canonical victims "
    "whose outcome is killed and up to j whose outcome is injured; ties (more victims of an "
    "outcome than the count) are broken by a seeded random draw (numpy, the bench seed), "
    "never by which sources hold the victim; counts left over then mark victims of that "
    "accident with no outcome, and what is still left over (and every count of an unlinked "
    "press accident) is a person in the press only. The same derivation is applied to the "
    "exact-key peer's clusters; the 'true matching' row takes the generator's person ids.")


def _accident_of(victims: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Each victim's accident number as linkage.accidents.victim_accidents numbers them."""
    from mineaction.linkage.accidents import accident_numbers, victim_accidents

    accidents = victim_accidents(victims)
    return accident_numbers(victims, accidents), accidents


def press_counts(press: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "id": press["record_id"].to_numpy(),
        "accident_date": pd.to_datetime(press["event_date"].replace("", None), errors="coerce"),
        "date_precision": "day",
        "admin_area_pcode": press["municipality_code"].astype(str).to_numpy(),
        "accident_kind": mapped(press["device"].fillna(""), "accident_kind").to_numpy(),
        "killed": press["killed"].astype(int).to_numpy(),
        "injured": press["injured"].astype(int).to_numpy(),
    })


def derived_membership(victims: pd.DataFrame, counts: pd.DataFrame, seed: int
                       ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Membership rows (entity, source) from canonical victims (columns in_centre, in_ngo,
    the accident key and outcome) and the press counts, by MSE_DERIVATION."""
    from mineaction.linkage.accidents import ACCIDENT_KEY, link_accident_counts
    from mineaction.linkage.fields import clean_category

    victims = victims.reset_index(drop=True)
    accident, _ = _accident_of(victims)
    linked = link_accident_counts(victims[[*ACCIDENT_KEY, "outcome"]], counts)
    outcome = clean_category(victims["outcome"])
    rng = np.random.default_rng(seed)
    by_accident = {a: idx.to_numpy() for a, idx in
                   victims.groupby(accident.to_numpy(), sort=True).groups.items()}
    in_press = np.zeros(len(victims), dtype=bool)
    press_only = 0
    for a, k, j in zip(linked["accident"], linked["killed"], linked["injured"], strict=True):
        if a is None:
            press_only += int(k) + int(j)
            continue
        members = rng.permutation(by_accident.get(int(a), np.array([], dtype=int)))
        left = 0
        for want, value in ((int(k), "killed"), (int(j), "injured")):
            of_outcome = members[(outcome.to_numpy()[members] == value)]
            in_press[of_outcome[:want]] = True
            left += want - min(want, len(of_outcome))
        unknown = members[outcome.isna().to_numpy()[members]]
        in_press[unknown[:left]] = True
        press_only += left - min(left, len(unknown))
    rows = [pd.DataFrame({"entity": np.flatnonzero(flag), "source": name})
            for name, flag in (("centre", victims["in_centre"].to_numpy(bool)),
                               ("ngo", victims["in_ngo"].to_numpy(bool)),
                               ("press", in_press))]
    rows.append(pd.DataFrame({"entity": len(victims) + np.arange(press_only),
                              "source": "press"}))
    stats = {"canonical_victims": len(victims), "press_marked": int(in_press.sum()),
             "press_only": press_only,
             "press_accidents_linked": int(linked["accident"].notna().sum()),
             "press_accidents": len(linked)}
    return pd.concat(rows, ignore_index=True), stats


ACCIDENT_MODEL = (
    "The accident model (analysis/mse_counts.py): each canonical victim's list history "
    "(centre, NGO) is counted per accident (victims sharing municipality, date, precision "
    "and kind); each press accident is linked to one of these accidents as above and its "
    "killed + injured is that accident's press count; press accidents linked to none are "
    "accidents the press alone reported. Accident sizes are latent; the lists may depend "
    "on each other; the press records each casualty independently of the lists; fitted by "
    "EM, interval by bootstrap over accidents.")


def accident_model_row(victims: pd.DataFrame, counts: pd.DataFrame, true_total: int,
                       bootstrap: int, seed: int) -> dict[str, Any]:
    """The application's estimate with a count source (analysis/by_source_counts.py) on
    canonical victims of the centre and the NGO and the press's counted accidents."""
    from mineaction.analysis.by_source_counts import estimate_from_frames

    # How many of each source's records a canonical victim joins (more than one: twins the
    # linkage joined, counted as persons again by the accident model).
    if "records" in victims.columns:
        per_source = {name: [sum(1 for src, _ in recs if src == name)
                             for recs in victims["records"]] for name in ("centre", "ngo")}
    else:
        per_source = {"centre": victims["in_centre"].astype(int).tolist(),
                      "ngo": victims["in_ngo"].astype(int).tolist()}
    frame = victims.reset_index(drop=True).assign(**per_source)
    r = estimate_from_frames(frame, counts, list_sources=["centre", "ngo"],
                             count_source="press", bootstrap=bootstrap, seed=seed)
    lo, hi = r["interval"]
    return {"observed": r["observed"], "estimate": r["estimate"], "interval": [lo, hi],
            "error_percent": round(100 * (r["estimate"] - true_total) / true_total, 2),
            "covers_true_total": bool(lo <= true_total <= hi),
            "model": "accident sizes latent; lists saturated; press independent",
            "capture": r["capture"], "accidents_seen": r["accidents_seen"],
            "accidents_unseen": r["accidents_unseen"], "iterations": r["iterations"]}


LINKAGE_AVERAGED = (
    "Linkage-averaged accident model (analysis/mse_linkage.py): the linkage's uncertainty "
    "carried into the estimate by multiple imputation of the linkage. The linker is run "
    "again keeping its links down to a probability of {floor} (not only the accepted and "
    "review ones). {k} configurations of these centre/NGO links are drawn: a link is kept "
    "with its probability, except the links between persons of one accident alike in every "
    "person field (twins), of which o are kept, o drawn from its distribution given how "
    "many alike persons each source lists and the list histories' probabilities of the "
    "accident model fitted on our clusters (the row above). Each draw's canonical victims "
    "go through the same accident model (press counts linked again); the estimate is the "
    "mean over draws, the interval the percentiles of the bootstrap replicates pooled over "
    "the draws ({each} per draw).")
MSE_IMPUTATIONS = 20
# Links the linker scores at least this likely are candidates for a draw (chosen on seeds
# 11 to 14, docs/benchmarks.md): the draws then miss links as the linker may, not only
# make false ones.
DRAW_FLOOR = 0.05


def per_draw(bootstrap: int) -> int:
    from mineaction.analysis.mse_linkage import per_draw_bootstrap

    return per_draw_bootstrap(bootstrap, imputations_for(bootstrap))


def imputations_for(bootstrap: int) -> int:
    """MSE_IMPUTATIONS draws of at least 15 replicates each; fewer for a smoke run."""
    return int(np.clip(bootstrap // 15, 2, MSE_IMPUTATIONS))


def linkage_averaged_row(links: Any, counts: pd.DataFrame, true_total: int,
                         capture: dict[str, float], bootstrap: int, seed: int
                         ) -> dict[str, Any]:
    """The accident model averaged over draws of our linkage (analysis/mse_linkage.py)."""
    from dataclasses import replace

    from mineaction.analysis.mse_linkage import (
        accident_counts_estimate,
        linkage_averaged,
        list_odds,
        per_draw_bootstrap,
        with_alike_classes,
    )
    from mineaction.linkage.clusters import canonical, cluster_links
    from mineaction.linkage.hierarchy import PERSON_FIELDS

    imputations = imputations_for(bootstrap)
    each = per_draw_bootstrap(bootstrap, imputations)
    pairs = with_alike_classes(links.links, links.prepared, PERSON_FIELDS)

    def fit(drawn: pd.DataFrame, draw_seed: int) -> tuple[float, np.ndarray[Any, Any]]:
        records, joined = cluster_links(links.prepared, drawn)
        canon = canonical(replace(links, records=records, links=joined), rule="newest",
                          information_dates=INFORMATION_DATES)
        victims = canon.assign(**{name: [sum(1 for src, _ in recs if src == name)
                                         for recs in canon["records"]]
                                  for name in ("centre", "ngo")})
        r = accident_counts_estimate(victims, counts, list_sources=["centre", "ngo"],
                                     count_source="press", bootstrap=each, seed=draw_seed)
        return r.estimate, r.replicates

    theta = list_odds(capture)
    r = linkage_averaged(pairs, fit, imputations=imputations, seed=seed, theta=theta)
    lo, hi = r.interval
    bias, bias_error = accident_model_bias(links, counts, seed,
                                           min(BIAS_SIMULATIONS, bootstrap))
    return {"estimate": round(r.estimate, 1), "interval": [round(lo, 1), round(hi, 1)],
            "error_percent": round(100 * (r.estimate - true_total) / true_total, 2),
            "covers_true_total": bool(lo <= true_total <= hi),
            "model": f"accident model over {imputations} linkage draws",
            "imputations": imputations, "replicates_per_draw": each,
            "list_odds_theta": round(theta, 3),
            "draws": [round(d, 1) for d in r.draws],
            "links_kept_mean": round(r.links_kept, 1),
            "links_accepted": int((links.links["status"] == "accepted").sum()),
            "within_sd": round(float(np.sqrt(r.within)), 1),
            "between_sd": round(float(np.sqrt(r.between)), 1),
            "rubin_interval": [round(v, 1) for v in r.rubin_interval],
            # Measured, not applied: a fifth of a percent (docs/benchmarks.md).
            "model_bias": {"persons": round(bias, 1), "standard_error": round(bias_error, 1),
                           "simulations": min(BIAS_SIMULATIONS, bootstrap)}}


BIAS_SIMULATIONS = 100


def accident_model_bias(links: Any, counts: pd.DataFrame, seed: int, simulations: int
                        ) -> tuple[float, float]:
    """The accident model's own bias on its parameters fitted to our accepted clusters
    (analysis/mse_linkage.model_bias, a parametric bootstrap)."""
    from mineaction.analysis.mse_linkage import accident_counts_estimate, model_bias
    from mineaction.linkage.clusters import canonical

    canon = canonical(links, rule="newest", information_dates=INFORMATION_DATES)
    accepted = canon.assign(**{name: [sum(1 for src, _ in recs if src == name)
                                      for recs in canon["records"]]
                               for name in ("centre", "ngo")})
    fitted = accident_counts_estimate(accepted, counts, list_sources=["centre", "ngo"],
                                      count_source="press", bootstrap=0, seed=seed)
    return model_bias(fitted, labels=["01", "10", "11"], list_sources=["centre", "ngo"],
                      simulations=simulations, seed=seed)


def mse_row(membership: pd.DataFrame, true_total: int, bootstrap: int, seed: int
            ) -> dict[str, Any]:
    from mineaction.analysis.mse import capture_histories, multiple_systems_estimate

    histories = capture_histories(membership, entity="entity", source="source",
                                  sources=MSE_SOURCES)
    result = multiple_systems_estimate(histories, criterion="bic", confidence=0.95,
                                       bootstrap=bootstrap, seed=seed)
    lo, hi = result.interval
    return {"observed": int(result.observed), "estimate": round(float(result.estimate), 1),
            "interval": [round(float(lo), 1), round(float(hi), 1)],
            "error_percent": round(100 * (result.estimate - true_total) / true_total, 2),
            "covers_true_total": bool(lo <= true_total <= hi),
            "model": " + ".join(result.model_terms),
            "patterns": {"".join(str(int(v)) for v in r[list(MSE_SOURCES)]): int(r["count"])
                         for _, r in histories.iterrows()}}


def mse_seed(seed: int, bootstrap: int) -> dict[str, Any]:
    """(4) for one seed: the three sources made, linked (ours and the exact-key peer), the
    histories derived, the estimate from each beside the one from the true matching."""
    from mineaction.linkage.clusters import canonical
    from mineaction.linkage.fields import prepare
    from mineaction.linkage.sources import link_sources

    raw = reconcile_data.load_register()
    sources, truth = reconcile_data.three_sources(raw, seed)
    gaz = gazetteer()
    frames = {name: source_to_domain(sources[name], gaz) for name in ("centre", "ngo")}
    counts = press_counts(sources["press"])
    out: dict[str, Any] = {"true_total": int(truth.true_total),
                           "true_observed": int(truth.links["person_id"].nunique())}
    started = time.perf_counter()
    links = link_sources(frames, "victim", upper=UPPER, lower=LOWER)
    canon = canonical(links, rule="newest", information_dates=INFORMATION_DATES)
    ours = canon.assign(in_centre=["centre" in s for s in canon["sources"]],
                        in_ngo=["ngo" in s for s in canon["sources"]])
    membership, stats = derived_membership(ours, counts, seed)
    out["splink"] = mse_row(membership, truth.true_total, bootstrap, seed) | stats
    out["splink_accident_model"] = accident_model_row(ours, counts, truth.true_total,
                                                      min(bootstrap, 300), seed)
    # The same linker, its links kept down to DRAW_FLOOR: the candidates a draw may take.
    candidates = link_sources(frames, "victim", upper=UPPER, lower=DRAW_FLOOR)
    out["splink_linkage_averaged"] = linkage_averaged_row(
        candidates, counts, truth.true_total, out["splink_accident_model"]["capture"],
        min(bootstrap, 300), seed)
    # The exact-key peer: its pairs are its clusters; the rest are single records.
    a, b = (prepare(f, "victim").assign(id=f["id"].to_numpy()) for f in frames.values())
    pairs = exact_key_peer(frames)
    paired_ngo = {y for _, y in pairs}
    paired_centre = {x for x, _ in pairs}
    peer = pd.concat([a.assign(in_centre=True, in_ngo=a["id"].isin(paired_centre)),
                      b[~b["id"].isin(paired_ngo)].assign(in_centre=False, in_ngo=True)],
                     ignore_index=True)
    membership, stats = derived_membership(peer, counts, seed)
    out["exact_key_peer"] = mse_row(membership, truth.true_total, bootstrap, seed) | stats
    # The derivation on the TRUE victim clusters: what the press counts alone cost.
    person = truth.links.set_index(["source", "record_id"])["person_id"]
    pa = a.assign(person=[person[("centre", r)] for r in a["id"]])
    pb = b.assign(person=[person[("ngo", r)] for r in b["id"]])
    true_clusters = pd.concat([pa.assign(in_centre=True, in_ngo=pa["person"].isin(pb["person"])),
                               pb[~pb["person"].isin(pa["person"])].assign(in_centre=False,
                                                                          in_ngo=True)],
                              ignore_index=True)
    membership, stats = derived_membership(true_clusters, counts, seed)
    out["true_victims_press_counts"] = (mse_row(membership, truth.true_total, bootstrap, seed)
                                        | stats)
    out["true_victims_accident_model"] = accident_model_row(
        true_clusters, counts, truth.true_total, min(bootstrap, 300), seed)
    true_membership = truth.links.rename(columns={"person_id": "entity"})
    out["true_matching"] = mse_row(true_membership, truth.true_total, bootstrap, seed)
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def mse_figures(seeds: list[int], bootstrap: int) -> dict[str, Any]:
    runs = {str(s): mse_seed(s, bootstrap) for s in seeds}
    return {"derivation": MSE_DERIVATION, "accident_model": ACCIDENT_MODEL,
            "linkage_averaged": LINKAGE_AVERAGED.format(
                floor=DRAW_FLOOR, k=imputations_for(min(bootstrap, 300)),
                each=per_draw(min(bootstrap, 300))),
            "criterion": "bic", "confidence": 0.95,
            "bootstrap": bootstrap, "seeds": runs,
            "covered": {k: f"{sum(r[k]['covers_true_total'] for r in runs.values())}/"
                           f"{len(runs)}"
                        for k in MSE_ROWS}}


MSE_ROWS = {
    "splink_linkage_averaged": "ours: accident model averaged over linkage draws",
    "splink_accident_model": "ours: Splink clusters, accident model",
    "splink": "Splink clusters, press marked first-come (log-linear)",
    "exact_key_peer": "exact key (peer), press marked first-come",
    "true_victims_accident_model": "true victim clusters, accident model",
    "true_victims_press_counts": "true victim clusters, press marked first-come",
    "true_matching": "true matching (generator's person ids)",
}


def print_mse(f: dict[str, Any]) -> None:
    print(f"\n(4) multiple-systems estimate on (b), from our linkage ({f['criterion'].upper()} "
          f"model choice, {f['confidence']:.0%} parametric-bootstrap interval, "
          f"{f['bootstrap']} replicates)")
    print("first-come marking: " + f["derivation"])
    print("accident model: " + f.get("accident_model", ""))
    if "linkage_averaged" in f:
        print("linkage-averaged: " + f["linkage_averaged"])
    rows = []
    for seed, r in f["seeds"].items():
        for key, label in MSE_ROWS.items():
            if key not in r:
                continue
            m = r[key]
            rows.append((seed, label, m.get("observed", "-"), m["estimate"],
                         f"{m['interval'][0]:,.0f} - {m['interval'][1]:,.0f}",
                         round(m["interval"][1] - m["interval"][0]),
                         r["true_total"], f"{m['error_percent']:+}",
                         common.verdict(m["covers_true_total"]), m["model"]))
    print(common.table(["seed", "matching", "observed", "estimate", "95% interval", "width",
                        "true total", "err %", "covers", "model"], rows))
    print("covered: " + "; ".join(f"{k} {v}" for k, v in f["covered"].items()))


# -- (3) scale ------------------------------------------------------------------------------
def scale_data(rows: int, seed: int, work: Path) -> tuple[Path, Path, dict[str, int]]:
    """`rows` synthetic stored victims and a release of them: 1% removed, 2% with one field
    corrected, 3% added (fields drawn from other victims, in other months), shuffled;
    written as pickles so that each measured child reads them the same way."""
    from synthetic import victims

    stored_path, release_path = work / f"stored_{rows}.pkl", work / f"release_{rows}.pkl"
    rng = np.random.default_rng(seed)
    stored = register_to_domain(victims(rows, seed)).assign(id=np.arange(rows))
    order = rng.permutation(rows)
    n_removed, n_corrected, n_added = rows // 100, rows // 50, 3 * rows // 100
    release = stored.drop(index=order[:n_removed]).drop(columns="id")
    corrected = order[n_removed:n_removed + n_corrected]
    alternatives = {"age_band": ["child", "adult"], "outcome": ["killed", "injured"],
                    "role": ["civilian", "security_forces"],
                    "activity": ["agriculture", "travelling", "playing", "herding", "other"]}
    which = rng.integers(0, len(alternatives), n_corrected)
    for k, (field, values) in enumerate(alternatives.items()):
        rows_k = corrected[which == k]
        current = release.loc[rows_k, field].to_numpy()
        choice = np.array(values, dtype=object)[rng.integers(0, len(values), len(rows_k))]
        # A correction changes the value: where the draw repeats it, take the next one.
        same = choice == current
        choice[same] = [values[(values.index(c) + 1) % len(values)] for c in choice[same]]
        release.loc[rows_k, field] = choice
    added = stored.iloc[rng.integers(0, rows, n_added)].drop(columns="id").reset_index(drop=True)
    for field in ("age_band", "outcome", "role", "activity", "sex"):
        added[field] = stored[field].to_numpy()[rng.integers(0, rows, n_added)]
    added["accident_date"] = stored["accident_date"].to_numpy()[rng.integers(0, rows, n_added)]
    release = pd.concat([release, added], ignore_index=True)
    release = release.iloc[rng.permutation(len(release))].reset_index(drop=True)
    release["row"] = np.arange(len(release))
    stored.to_pickle(stored_path)
    release.to_pickle(release_path)
    truth = {"stored": rows, "release": len(release), "removed": n_removed,
             "corrected": n_corrected, "added": n_added,
             "unchanged": rows - n_removed - n_corrected}
    return stored_path, release_path, truth


def child_scale(which: str, stored_path: Path, release_path: Path) -> dict[str, Any]:
    """In a fresh process: read both frames, then link (ours) or exact-key match (peer);
    wall time of the linkage alone, peak RSS of the whole process (reading included)."""
    stored, release = pd.read_pickle(stored_path), pd.read_pickle(release_path)
    read_rss = common.peak_rss_mib()
    started = time.perf_counter()
    if which == "splink":
        from mineaction.linkage.release import match_release

        result = match_release(stored, release, "victim", upper=UPPER, lower=LOWER)
        out: dict[str, Any] = {"counts": result.counts(), "notes": result.notes}
    else:
        from mineaction.linkage.assign import exact_pairs
        from mineaction.linkage.fields import prepare
        from mineaction.linkage.release import compared_columns

        cols = compared_columns("victim")
        cur = prepare(stored, "victim").assign(id=stored["id"].to_numpy())
        inc = prepare(release, "victim").assign(row=release["row"].to_numpy())
        pairs = exact_pairs(cur, inc, cols, "id", "row")
        out = {"counts": {"unchanged": len(pairs), "new": len(inc) - len(pairs),
                          "no_longer_present": len(cur) - len(pairs)}}
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["peak_rss_mib"] = round(common.peak_rss_mib(), 0)
    out["peak_rss_mib_after_reading"] = round(read_rss, 0)
    out["cpu_seconds"] = round(common.cpu_seconds(), 1)
    return out


def scale_figures(rows: int, seed: int, work: Path) -> dict[str, Any]:
    started = time.perf_counter()
    stored_path, release_path, truth = scale_data(rows, seed, work)
    generated = time.perf_counter() - started
    figures: dict[str, Any] = {"rows": rows, "truth": truth,
                               "data_seconds": round(generated, 1)}
    for which in ("exact_key_peer", "splink"):
        print(f"  scale: {which} on {rows:,} x {truth['release']:,} ...", flush=True)
        figures[which] = common.run_child(Path(__file__), [
            "--child", which, str(stored_path), str(release_path)])
    s = figures["splink"]
    s["target_met"] = s["seconds"] < 600 and s["peak_rss_mib"] < 4096
    s["x_exact_key_peer"] = round(s["seconds"] / max(figures["exact_key_peer"]["seconds"],
                                                     0.1), 1)
    return figures


# -- main -----------------------------------------------------------------------------------
def print_release(f: dict[str, Any]) -> None:
    print(f"\n(1) revised release: {f['rows_current']:,} current victims, {f['rows_release']:,}"
          f" rows in the release, {f['seconds']} s")
    rows = []
    for key in ("unchanged", "changed", "new", "no_longer_present"):
        true, ours, oracle = f["truth"][key], f["ours"][key], f["oracle"][key]
        rows.append((key, true, ours, ours - true,
                     round(100 * (ours - true) / f["rows_release"], 2),
                     common.verdict(f["within_1_percent_of_release"][key]),
                     round(100 * (ours - true) / max(true, 1), 1),
                     common.verdict(f["within_1_percent_of_count"][key]),
                     oracle, round(100 * (oracle - true) / max(true, 1), 1)))
    rows.append(("review (pending)", None, f["ours"]["review"], None, None, "", None, "",
                 None, None))
    print(common.table(["", "truth", "ours", "diff", "% of release", "within 1%",
                        "% of count", "within 1%", "oracle", "oracle % of count"], rows))
    print("oracle: knows every field of every row, not who is who (twins gone and come "
          "look like no change)")
    print(f"unchanged+changed rows given their true original row: strict "
          f"{f['kept_right_original_strict']:.2%}, twin-aware "
          f"{f['kept_right_original_twin_aware']:.2%} (a row identical in every field to "
          f"the true one counts as right); changed rows naming the corrected field: "
          f"{f['changed_with_field_named']}")


def print_sources(f: dict[str, Any]) -> None:
    print(f"\n(2) three sources ({f['noise']} noise): {f['records']}; true linked pairs "
          f"{f['true_pairs']:,}; true distinct victims in the victim sources "
          f"{f['true_distinct_victims_in_sources']:,} (of {f['true_total_persons']:,}); "
          f"Splink {f['seconds']} s")
    rows = []
    for key, label in (("splink", "Splink two-stage (ours), accepted"),
                       ("splink_with_review", "  accepted + review (as the store counts)"),
                       ("exact_key_peer", "exact key (peer)"),
                       ("rule_peer", "rule: pcode, 31 days, sex, outcome (peer)")):
        r = f[key]
        rows.append((label, r["strict"]["precision"], r["strict"]["recall"],
                     r["twin_aware"]["precision"], r["twin_aware"]["recall"],
                     r["same_accident_share"], r["canonical_count"],
                     r["count_error_percent"]))
    o = f["oracle_ceiling"]
    rows.append(("oracle (knows all but twins apart)", None, None, o["precision"],
                 o["recall"], 1.0, None, None))
    print(common.table(["", "precision", "recall", "twin-aware P", "twin-aware R",
                        "same accident", "canonical", "count err %"], rows))
    fr = f["oracle_frontier"]
    print("oracle frontier (knows each record's accident, every field and each twin "
          "class's size in the register; links in falling order of the chance they are "
          f"right): twin-aware recall {fr['recall_at_precision_0_98']} at precision 0.98, "
          f"precision {fr['precision_at_recall_0_95']} at recall 0.95 (realised: "
          f"{fr['realised_recall_at_precision_0_98']}, {fr['realised_precision_at_recall_0_95']});"
          " precision >= 0.98 with recall >= 0.95 reachable by any method: "
          f"{'yes' if fr['both_targets_reachable'] else 'NO'}")
    s, j = f["splink"], f["splink_with_review"]
    print("targets (accepted links): precision >= 0.98: strict "
          f"{common.verdict(s['strict']['precision'] >= 0.98)}, twin-aware "
          f"{common.verdict(s['twin_aware']['precision'] >= 0.98)}; recall >= 0.95: strict "
          f"{common.verdict(s['strict']['recall'] >= 0.95)}, twin-aware "
          f"{common.verdict(s['twin_aware']['recall'] >= 0.95)}; canonical count within 1%: "
          f"accepted {common.verdict(abs(s['count_error_percent']) <= 1)}, as the store "
          f"counts {common.verdict(abs(j['count_error_percent']) <= 1)}; "
          f"{s['review_links']} links left for review, {s['split_links']} refused by the "
          "one-record-per-source guard")
    p = f["press_accidents"]
    print(f"press (accidents with counts only): {p['linked']:,} of {p['press_accidents']:,} "
          f"linked to an accident of the linked victims, {p['linked_right']:,} to the right "
          f"one; killed and injured agree for {p['counts_agree']:,}")
    print(f"{f['true_pairs_with_an_uncontradicted_rival']:.1%} of the true pairs have a rival: the "
          "centre's record has another ngo record, not its partner's twin, that no field "
          "contradicts (same municipality, within 31 days, fields equal or missing); only "
          "closeness tells them apart")
    print("definitions: strict = a link is right only if both records are the same person. "
          "Twins = persons of one accident equal in every field both victim sources give "
          "(half of the register's victims have one: a patrol's soldiers, a family); "
          "twin-aware = the links and the true pairs are counted per pair of twin classes "
          "and matched one to one there (hits = sum over class pairs of min(ours, true)), "
          "so taking a twin for its twin is right, but linking two twins when only one of "
          "them is in both sources is still an error (it changes the count). 'same "
          "accident' = share of the links joining victims of one true accident. The "
          "oracle knows each record's accident and fields and links min(a, b) per twin "
          "class: its twin-aware precision is the ceiling at recall 1 for any method.")


def print_sources_other_noise(f: dict[str, Any]) -> None:
    s, j = f["splink"], f["splink_with_review"]
    e, r = f["exact_key_peer"], f["rule_peer"]
    print(f"with {f['noise']} noise (each victim's date moved and fields blanked on its own): "
          f"ours P/R strict {s['strict']['precision']}/{s['strict']['recall']}, twin-aware "
          f"{s['twin_aware']['precision']}/{s['twin_aware']['recall']}, count "
          f"{s['count_error_percent']:+}% ({j['count_error_percent']:+}% with review); "
          f"exact key twin-aware {e['twin_aware']['precision']}/{e['twin_aware']['recall']}; "
          f"rule twin-aware {r['twin_aware']['precision']}/{r['twin_aware']['recall']}; "
          f"oracle twin-aware P {f['oracle_ceiling']['precision']}")


def print_sources_accident_coverage(f: dict[str, Any]) -> None:
    s, j = f["splink"], f["splink_with_review"]
    e, r = f["exact_key_peer"], f["rule_peer"]
    fr = f["oracle_frontier"]
    print(f"with accident coverage (a source that hears of an accident lists all its victims;"
          f" {f['true_pairs']:,} true pairs): ours P/R strict {s['strict']['precision']}/"
          f"{s['strict']['recall']}, twin-aware {s['twin_aware']['precision']}/"
          f"{s['twin_aware']['recall']}, count {s['count_error_percent']:+}% "
          f"({j['count_error_percent']:+}% with review); exact key twin-aware "
          f"{e['twin_aware']['precision']}/{e['twin_aware']['recall']}; rule twin-aware "
          f"{r['twin_aware']['precision']}/{r['twin_aware']['recall']}; oracle frontier "
          f"recall {fr['recall_at_precision_0_98']} at precision 0.98")


def printed_sources_figures(seed: int) -> dict[str, Any]:
    """(2), printed as it goes: the sources as drawn, and in one line each, with the older
    per-victim noise and with per-accident coverage."""
    sources = sources_figures(seed)
    print_sources(sources)
    sources["record_noise"] = sources_figures(seed, noise="record")
    print_sources_other_noise(sources["record_noise"])
    sources["accident_coverage"] = sources_figures(seed, coverage="accident")
    print_sources_accident_coverage(sources["accident_coverage"])
    return sources


def print_scale(f: dict[str, Any]) -> None:
    s, p = f["splink"], f["exact_key_peer"]
    print(f"\n(3) scale: a {f['truth']['release']:,}-row release against {f['rows']:,} stored"
          f" victims (synthetic, seeded; data made in {f['data_seconds']} s)")
    print(common.table(["", "seconds", "peak RSS MiB", "x exact key", "target <600 s, <4 GiB"],
                       [("Splink release match (ours)", s["seconds"], s["peak_rss_mib"],
                         s["x_exact_key_peer"], common.verdict(s["target_met"])),
                        ("exact-key matching (peer)", p["seconds"], p["peak_rss_mib"], 1.0,
                         "")]))
    print(f"counts (ours): {s['counts']}; truth: {f['truth']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS,
                        help="stored victims and release rows for the scale run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", help="where data goes (kept); default a temporary dir")
    parser.add_argument("--json", help="where to write the figures (default "
                        "bench/results/linkage_bench.json at full size)")
    parser.add_argument("--reuse-scale", action="store_true",
                        help="do not run (3); take its figures from the committed "
                        "bench/results/linkage_bench.json (for a change that leaves the "
                        "release path as it was: the 1M run takes the machine for minutes)")
    parser.add_argument("--mse-seeds", default=None,
                        help="seeds for (4), comma-separated (default: --seed and the next two)")
    parser.add_argument("--mse-bootstrap", type=int, default=1000,
                        help="bootstrap replicates for the intervals of (4)")
    parser.add_argument("--only-mse", action="store_true",
                        help="run (4) only; the other figures are those of the committed "
                        "bench/results/linkage_bench.json")
    parser.add_argument("--only-release", action="store_true",
                        help="run (1) only; the other figures are those of the committed "
                        "bench/results/linkage_bench.json")
    parser.add_argument("--only-sources", action="store_true",
                        help="run (2) only; the other figures are those of the committed "
                        "bench/results/linkage_bench.json")
    parser.add_argument("--child", nargs=3, metavar=("WHICH", "STORED", "RELEASE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        import json

        which, stored, release = args.child
        print(json.dumps(child_scale(which.removesuffix("_peer").replace("exact_key", "exact"),
                                     Path(stored), Path(release))))
        return 0

    import logging

    logging.getLogger("splink").setLevel(logging.ERROR)
    if args.only_mse:
        import json

        previous = json.loads(RESULTS_FILE.read_text())
        seeds = ([int(x) for x in args.mse_seeds.split(",")] if args.mse_seeds
                 else [args.seed, args.seed + 1, args.seed + 2])
        previous["multiple_systems_estimate"] = mse_figures(seeds, args.mse_bootstrap)
        previous["multiple_systems_estimate"]["when"] = common.stamp()
        print_mse(previous["multiple_systems_estimate"])
        common.write_results(Path(args.json) if args.json else RESULTS_FILE, previous)
        return 0
    if args.only_release:
        import json

        previous = json.loads(RESULTS_FILE.read_text())
        previous["revised_release"] = revised_release_figures(args.seed)
        previous["revised_release"]["when"] = common.stamp()
        print_release(previous["revised_release"])
        common.write_results(Path(args.json) if args.json else RESULTS_FILE, previous)
        return 0
    if args.only_sources:
        import json

        previous = json.loads(RESULTS_FILE.read_text())
        sources = printed_sources_figures(args.seed)
        sources["when"] = common.stamp()
        previous["three_sources"] = sources
        common.write_results(Path(args.json) if args.json else RESULTS_FILE, previous)
        return 0
    with common.workdir(args.workdir, NAME) as work:
        print(f"machine speed {common.machine_speed_ms()} ms; load {common.load_average()}")
        release = revised_release_figures(args.seed)
        print_release(release)
        sources = printed_sources_figures(args.seed)
        if args.reuse_scale:
            import json

            previous = json.loads(RESULTS_FILE.read_text())
            scale = previous["scale"]
            scale["reused_from"] = {"when": previous["when"],
                                    "commit": previous["machine"].get("mineaction_commit")}
            print(f"\n(3) scale: not run (--reuse-scale); the figures of the run of "
                  f"{previous['when']} (commit {scale['reused_from']['commit']}):")
        else:
            scale = scale_figures(args.rows, args.seed, work)
        print_scale(scale)
        seeds = ([int(x) for x in args.mse_seeds.split(",")] if args.mse_seeds
                 else [args.seed, args.seed + 1, args.seed + 2])
        estimate = mse_figures(seeds, args.mse_bootstrap)
        print_mse(estimate)
        out = common.results_path(NAME, args.json, args.rows == DEFAULT_ROWS, work)
        common.write_results(out, {
            "benchmark": NAME, "when": common.stamp(), "machine": common.machine(),
            "seed": args.seed, "thresholds": {"upper": UPPER, "lower": LOWER},
            "revised_release": release, "three_sources": sources, "scale": scale,
            "multiple_systems_estimate": estimate,
        })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
