# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeded test data for reconciliation (issue 17), made from the real AICMA register.

The shipped register `data/colombia/aicma_victims_register_2021-06.csv` has one row per
victim and no ids. From it this module makes, with a known truth:

`revised_release(raw, seed) -> (frame, RevisedTruth)`
    the register as a later AICMA release would publish it: numbers of four digits or more
    written with thousands separators ("5,313", "2,006"), the columns in another order,
    2% of the victims with one corrected field (rangoedad, estado, condicion or Actividad),
    1% removed and 3% added (new, plausible victims, some in known accidents, some in new
    ones, inserted among the others). `frame.to_csv(index=False)` is a CSV like the real one.
    The truth says, per output row, which original row it is (NA if added) and which field
    was corrected (NA if none), and which original rows were removed.

`three_sources(raw, seed) -> (dict[name, frame], SourcesTruth)`
    three overlapping sources about the same people. Each register row is one person
    (person_id = its row index); an accident is the register's rows sharing municipality
    code, sitio, ano, mes and tipoevento (accident_id = that group's number). Every accident
    gets an invented true day within its month. Each source covers each person
    independently (70%, 50%, 25%), so some persons are in no source, which is what a
    multiple-systems estimate must find; `SourcesTruth.true_total` is the number of persons.

    - "centre" (70%, victims): full date, moved by 1-30 days either way in 10% of its
      accidents; municipality by DANE code; age band; fields missing at random (4% each).
    - "ngo" (50%, victims): full date moved in 20% of its accidents; municipality and
      department by NAME, with accent, case and spelling variations; age in years (drawn
      within the band: 5-17 for "Menor de 18 años", 18-75 for "Mayor de 18 años"), fields
      missing at random (8% each).

    `noise="accident"` (the default): a source's error about an accident is its report's,
    made once: the date moved, the date left out or the site left out (at the shares
    above) for the accident, so all its victims in that source share them, as in a
    register where a victim row carries its accident's date and site; the person fields
    go missing victim by victim. `noise="record"` (the generator before the two-stage
    linker, kept to compare): every field, the date's move included, drawn victim by
    victim, so one source may give the victims of one accident different dates.
    - "press" (25%, accidents only): one row per accident of which it knows at least one
      victim, with counts of killed and injured among the victims it knows; date moved in 15%.

    Every source row has a `record_id`. `SourcesTruth.links` has one row per (source,
    record_id, person_id) with the accident_id too; a press row has one link per person it
    counts. `SourcesTruth.persons` has every person with accident_id and true date.

Seed contract: the output depends only on the input frame and the seed (one
`numpy.random.default_rng(seed)` per call, draws in a fixed order); the same seed, input,
version of this file and of numpy give byte-identical CSVs. Another seed gives other data
with the same proportions.

    python bench/reconcile_data.py revised --out DIR [--seed 7] [--register CSV]
    python bench/reconcile_data.py sources --out DIR [--seed 7] [--register CSV]
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REGISTER = Path(__file__).parents[1] / "data" / "colombia" / "aicma_victims_register_2021-06.csv"
ACCIDENT_KEY = ["codigodanemunicipio", "sitio", "ano", "mes", "tipoevento"]
CORRECTABLE = ["rangoedad", "estado", "condicion", "Actividad"]
# Numbers the later releases print with a thousands separator (codes and years >= 1000).
INTEGER_COLUMNS = ["codigodanedepartamento", "codigodanemunicipio", "ano", "mes"]
PERSON_FIELDS = ["rangoedad", "grupoetnico", "condicion", "estado", "genero", "Actividad"]
CHILD = "Menor de 18 años"

SHARE_CORRECTED, SHARE_REMOVED, SHARE_ADDED = 0.02, 0.01, 0.03
COVERAGE = {"centre": 0.70, "ngo": 0.50, "press": 0.25}
DATE_MOVED = {"centre": 0.10, "ngo": 0.20, "press": 0.15}
MISSING = {"centre": 0.04, "ngo": 0.08, "press": 0.05}
MAX_DAYS_MOVED = 30


@dataclass(frozen=True)
class RevisedTruth:
    """rows: one per output row (output_row, original_row or NA if added, corrected_field
    or NA, old_value, new_value); removed: the original row indices left out."""

    rows: pd.DataFrame
    removed: list[int]


@dataclass(frozen=True)
class SourcesTruth:
    """links: (source, record_id, person_id, accident_id), one row per person a record is
    about; persons: every person (person_id, accident_id, true_date); true_total: number of
    distinct persons, including those no source has."""

    links: pd.DataFrame
    persons: pd.DataFrame
    true_total: int


def load_register(path: Path = REGISTER) -> pd.DataFrame:
    """The register as text, exactly as written (no type guessing, no NA guessing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _as_text(raw: pd.DataFrame) -> pd.DataFrame:
    # Callers may read the CSV with type guessing; the generators work on the text.
    out = raw.reset_index(drop=True).copy()
    for column in out.columns:
        if column in INTEGER_COLUMNS:
            out[column] = out[column].astype(str).str.replace(",", "").str.strip()
        out[column] = out[column].astype(str)
    return out


def _with_thousands(values: pd.Series) -> pd.Series:
    return values.map(lambda v: f"{int(v):,}" if v.lstrip("-").isdigit() else v)


# ---------------------------------------------------------------------------- revised


def revised_release(raw: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, RevisedTruth]:
    rng = np.random.default_rng(seed)
    reg = _as_text(raw)
    n = len(reg)
    n_removed, n_corrected = round(SHARE_REMOVED * n), round(SHARE_CORRECTED * n)
    n_added = round(SHARE_ADDED * n)

    order = rng.permutation(n)
    removed = np.sort(order[:n_removed])
    corrected = np.sort(order[n_removed:n_removed + n_corrected])
    kept = reg.drop(index=removed)

    kept = kept.copy()
    truth_kept = pd.DataFrame({"original_row": pd.array(kept.index.to_numpy(), dtype="Int64")},
                              index=kept.index)
    for column in ("corrected_field", "old_value", "new_value"):
        truth_kept[column] = pd.Series(pd.NA, index=kept.index, dtype="string")
    values = {field: reg[field].to_numpy() for field in CORRECTABLE}
    changes = []
    for row in corrected:
        field = CORRECTABLE[rng.integers(len(CORRECTABLE))]
        current = values[field][row]
        # Drawn from the register's own other values, weighted as they occur there.
        choices = values[field][values[field] != current]
        changes.append((row, field, current, choices[rng.integers(len(choices))]))
    for row, field, _, value in changes:
        kept.at[row, field] = value
    for i, column in enumerate(("corrected_field", "old_value", "new_value"), start=1):
        truth_kept.loc[corrected, column] = [change[i] for change in changes]

    added = _new_victims(reg, n_added, rng)
    truth_added = pd.DataFrame({"original_row": pd.array([pd.NA] * n_added, dtype="Int64")})
    for column in ("corrected_field", "old_value", "new_value"):
        truth_added[column] = pd.Series(pd.NA, index=truth_added.index, dtype="string")
    # New victims are slotted in among the others (each before the kept row at its drawn
    # position), as a release sorted by some field the publisher does not tell would do.
    positions = np.sort(rng.integers(0, len(kept) + 1, n_added))
    place = np.concatenate([np.arange(len(kept)), positions - 0.5])
    order = np.argsort(place, kind="stable")
    frame = pd.concat([kept, added], ignore_index=True).iloc[order].reset_index(drop=True)
    truth_rows = pd.concat([truth_kept, truth_added], ignore_index=True).iloc[order]
    truth_rows = truth_rows.reset_index(drop=True)
    truth_rows.insert(0, "output_row", np.arange(len(truth_rows)))

    for column in ("codigodanemunicipio", "ano"):
        frame[column] = _with_thousands(frame[column])
    frame = frame[list(rng.permutation(frame.columns))]
    return frame, RevisedTruth(rows=truth_rows, removed=[int(r) for r in removed])


def _new_victims(reg: pd.DataFrame, count: int, rng: np.random.Generator) -> pd.DataFrame:
    """Plausible victims reported late: half in an accident the register has (its place,
    site and month), half in a new accident at a known place in another month; every
    personal field drawn from another register row, so the marginals match."""
    base = reg.iloc[rng.integers(0, len(reg), count)].reset_index(drop=True).copy()
    in_new_accident = rng.random(count) < 0.5
    when = reg.iloc[rng.integers(0, len(reg), count)].reset_index(drop=True)
    base.loc[in_new_accident, "ano"] = when.loc[in_new_accident, "ano"]
    base.loc[in_new_accident, "mes"] = when.loc[in_new_accident, "mes"]
    for field in PERSON_FIELDS:
        base[field] = reg[field].to_numpy()[rng.integers(0, len(reg), count)]
    return base


# ---------------------------------------------------------------------------- sources


def accidents_of(reg: pd.DataFrame) -> pd.Series:
    """accident_id per register row: the rows sharing municipality, site, year, month and
    device are one accident (numbered in the sorted order of those keys)."""
    return reg.groupby(ACCIDENT_KEY, sort=True).ngroup().rename("accident_id")


def _true_dates(reg: pd.DataFrame, accident: pd.Series, rng: np.random.Generator) -> pd.Series:
    keys = reg.assign(accident_id=accident).drop_duplicates("accident_id")
    keys = keys.sort_values("accident_id")
    first = pd.to_datetime(pd.DataFrame({"year": keys["ano"].astype(int),
                                         "month": keys["mes"].astype(int), "day": 1}))
    days_in_month = first.dt.days_in_month.to_numpy()
    day = (rng.random(len(keys)) * days_in_month).astype(int)
    dates = first + pd.to_timedelta(day, unit="D")
    return pd.Series(dates.to_numpy(), index=keys["accident_id"].to_numpy())


def _moved(dates: pd.Series, share: float, rng: np.random.Generator) -> pd.Series:
    moves = rng.random(len(dates)) < share
    days = rng.integers(1, MAX_DAYS_MOVED + 1, len(dates)) * rng.choice([-1, 1], len(dates))
    return dates + pd.to_timedelta(np.where(moves, days, 0), unit="D")


def _blank_at_random(frame: pd.DataFrame, columns: list[str], share: float,
                     rng: np.random.Generator) -> pd.DataFrame:
    for column in columns:
        missing = rng.random(len(frame)) < share
        frame[column] = frame[column].astype("object").where(~missing, "")
    return frame


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def _spelling_variant(name: str, rng: np.random.Generator) -> str:
    """How a name typed by someone else comes out: accents dropped, title case, or a
    letter dropped or doubled."""
    draw = rng.random()
    if draw < 0.25:
        return _strip_accents(name)
    if draw < 0.45:
        return name.title()
    if draw < 0.50 and len(name) > 4:
        i = int(rng.integers(1, len(name) - 1))
        return name[:i] + name[i + 1:] if rng.random() < 0.5 else name[:i] + name[i] + name[i:]
    return name


def _age_in_years(bands: pd.Series, rng: np.random.Generator) -> pd.Series:
    child = (bands == CHILD).to_numpy()
    ages = np.where(child, rng.integers(5, 18, len(bands)), rng.integers(18, 76, len(bands)))
    return pd.Series(ages.astype(str), index=bands.index)


def _iso(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d")


def _shuffled_with_ids(frame: pd.DataFrame, name: str,
                       rng: np.random.Generator) -> pd.DataFrame:
    # Shuffled so that the order of a source says nothing about who is who.
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    frame.insert(0, "record_id", [f"{name}-{i + 1:06d}" for i in range(len(frame))])
    return frame


# The accident's fields a source blanks record by record under the "record" noise (under
# "accident" noise they are blanked, and the date moved, once per accident and source).
_ACCIDENT_FIELDS = {"accident": [], "record": ["event_date", "site"]}


def _accident_noise(true_date_of_accident: pd.Series, accident: pd.Series, rows: pd.Index,
                    name: str, noise: str, rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The dates a source gives its `rows` (ISO text, "" when it does not know it) and
    whether it leaves their site blank. Under "accident" noise a source's error is its
    report's: the date is moved, or left out, or the site left out, once for the accident,
    so all its victims in that source share it (as in a register where a victim row
    carries its accident's date and site). Under "record" noise each victim row is moved
    on its own (blanks then come from _blank_at_random)."""
    if noise == "record":
        true_date = true_date_of_accident.loc[accident.to_numpy()[rows]].reset_index(drop=True)
        return (_iso(_moved(true_date, DATE_MOVED[name], rng)).to_numpy(),
                np.zeros(len(rows), dtype=bool))
    moved = _iso(_moved(true_date_of_accident.reset_index(drop=True), DATE_MOVED[name], rng))
    no_date = rng.random(len(moved)) < MISSING[name]
    no_site = rng.random(len(moved)) < MISSING[name]
    # accident ids are 0..n-1 in true_date_of_accident's (sorted) order.
    of_row = accident.to_numpy()[rows]
    when = np.where(no_date[of_row], "", moved.to_numpy()[of_row])
    return when, no_site[of_row]


def three_sources(raw: pd.DataFrame, seed: int, noise: str = "accident",
                  coverage: str = "victim") -> tuple[dict[str, pd.DataFrame], SourcesTruth]:
    """`coverage`: "victim", each source lists each person with its own chance (a victim
    assistance NGO lists the persons it assisted, a hospital those it treated), so one
    source may list one soldier of a patrol and another source another; or "accident",
    a source that hears of an accident lists all its victims."""
    if noise not in _ACCIDENT_FIELDS:
        raise ValueError(f"noise must be 'accident' or 'record', not {noise!r}")
    if coverage not in ("victim", "accident"):
        raise ValueError(f"coverage must be 'victim' or 'accident', not {coverage!r}")
    rng = np.random.default_rng(seed)
    reg = _as_text(raw)
    n = len(reg)
    accident = accidents_of(reg)
    true_date_of_accident = _true_dates(reg, accident, rng)
    true_date = pd.Series(true_date_of_accident.loc[accident.to_numpy()].to_numpy())
    if coverage == "victim":
        covered = {name: rng.random(n) < share for name, share in COVERAGE.items()}
    else:
        of_victim = accident.to_numpy()
        covered = {name: (rng.random(int(of_victim.max()) + 1) < share)[of_victim]
                   for name, share in COVERAGE.items()}

    sources: dict[str, pd.DataFrame] = {}
    links: list[pd.DataFrame] = []

    rows = reg[covered["centre"]]
    when, where = _accident_noise(true_date_of_accident, accident, rows.index, "centre",
                                  noise, rng)
    centre = pd.DataFrame({
        "person": rows.index,
        "event_date": when,
        "department_code": rows["codigodanedepartamento"].values,
        "municipality_code": rows["codigodanemunicipio"].values,
        "site": np.where(where, "", rows["sitio"].to_numpy()),
        "device": rows["tipoevento"].values, "age_band": rows["rangoedad"].values,
        "sex": rows["genero"].values,
        "outcome": rows["estado"].values, "role": rows["condicion"].values,
        "activity": rows["Actividad"].values, "ethnic_group": rows["grupoetnico"].values,
    })
    centre = _blank_at_random(centre, [*_ACCIDENT_FIELDS[noise], "age_band", "sex",
                                       "outcome", "role", "activity", "ethnic_group"],
                              MISSING["centre"], rng)
    sources["centre"] = _shuffled_with_ids(centre, "centre", rng)

    rows = reg[covered["ngo"]]
    when, where = _accident_noise(true_date_of_accident, accident, rows.index, "ngo", noise,
                                  rng)
    ngo = pd.DataFrame({
        "person": rows.index,
        "event_date": when,
        "department_name": [_spelling_variant(v, rng) for v in rows["departamento"]],
        "municipality_name": [_spelling_variant(v, rng) for v in rows["municipio"]],
        "site": np.where(where, "", rows["sitio"].to_numpy()),
        "device": rows["tipoevento"].values,
        "age_years": _age_in_years(rows["rangoedad"], rng).values,
        "sex": rows["genero"].values, "outcome": rows["estado"].values,
        "role": rows["condicion"].values, "activity": rows["Actividad"].values,
    })
    ngo = _blank_at_random(ngo, [*_ACCIDENT_FIELDS[noise], "age_years", "sex", "outcome",
                                 "role", "activity"], MISSING["ngo"], rng)
    sources["ngo"] = _shuffled_with_ids(ngo, "ngo", rng)

    for name in ("centre", "ngo"):
        frame = sources[name]
        links.append(pd.DataFrame({"source": name, "record_id": frame["record_id"],
                                   "person_id": frame["person"].to_numpy(),
                                   "accident_id": accident.to_numpy()[frame["person"]]}))
        sources[name] = frame.drop(columns="person")

    seen = reg[covered["press"]].assign(accident_id=accident[covered["press"]])
    seen["killed"] = (seen["estado"] == "Muerto").astype(int)
    seen["injured"] = (seen["estado"] == "Herido").astype(int)
    per_accident = seen.groupby("accident_id", sort=True).agg(
        department_code=("codigodanedepartamento", "first"),
        municipality_code=("codigodanemunicipio", "first"), site=("sitio", "first"),
        device=("tipoevento", "first"), killed=("killed", "sum"), injured=("injured", "sum"),
    ).reset_index()
    dates = true_date_of_accident.loc[per_accident["accident_id"].to_numpy()].reset_index(drop=True)
    per_accident.insert(1, "event_date", _iso(_moved(dates, DATE_MOVED["press"], rng)).values)
    per_accident = _blank_at_random(per_accident, ["site", "device"], MISSING["press"], rng)
    press = _shuffled_with_ids(per_accident, "press", rng)
    press_links = seen[["accident_id"]].rename_axis("person_id").reset_index().merge(
        press[["record_id", "accident_id"]], on="accident_id")
    links.append(press_links.assign(source="press")[
        ["source", "record_id", "person_id", "accident_id"]].sort_values(
        ["record_id", "person_id"], ignore_index=True))
    sources["press"] = press.drop(columns="accident_id")

    truth_links = pd.concat(links, ignore_index=True)
    truth_links["person_id"] = truth_links["person_id"].astype("int64")
    truth_links["accident_id"] = truth_links["accident_id"].astype("int64")
    persons = pd.DataFrame({"person_id": np.arange(n), "accident_id": accident.to_numpy(),
                            "true_date": _iso(true_date).to_numpy()})
    return sources, SourcesTruth(links=truth_links, persons=persons, true_total=n)


# ---------------------------------------------------------------------------- CLI


def write_revised(raw: pd.DataFrame, seed: int, out: Path) -> list[Path]:
    frame, truth = revised_release(raw, seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "revised_release.csv", out / "revised_truth_rows.csv",
             out / "revised_truth_removed.csv"]
    frame.to_csv(paths[0], index=False)
    truth.rows.to_csv(paths[1], index=False)
    pd.DataFrame({"original_row": truth.removed}).to_csv(paths[2], index=False)
    return paths


def write_sources(raw: pd.DataFrame, seed: int, out: Path) -> list[Path]:
    sources, truth = three_sources(raw, seed)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, frame in sources.items():
        paths.append(out / f"source_{name}.csv")
        frame.to_csv(paths[-1], index=False)
    paths += [out / "truth_links.csv", out / "truth_persons.csv", out / "truth_summary.json"]
    truth.links.to_csv(paths[-3], index=False)
    truth.persons.to_csv(paths[-2], index=False)
    summary = {"seed": seed, "true_total": truth.true_total,
               "records": {name: len(frame) for name, frame in sources.items()}}
    paths[-1].write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("what", choices=["revised", "sources"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--register", type=Path, default=REGISTER)
    args = parser.parse_args(argv)
    raw = load_register(args.register)
    write = write_revised if args.what == "revised" else write_sources
    for path in write(raw, args.seed, args.out):
        print(path)


if __name__ == "__main__":
    main()
