# SPDX-License-Identifier: GPL-3.0-or-later
"""The reconciliation data generator (bench/reconcile_data.py, issue 17) makes what it says:
the proportions of a revised release and the coverage of three sources hold, the truth is
consistent with the data, and one seed gives one output, byte for byte."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

BENCH = Path(__file__).parents[2] / "bench"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reconcile_data", BENCH / "reconcile_data.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reconcile_data", module)
    spec.loader.exec_module(module)
    return module


rd = _load()


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return rd.load_register()


@pytest.fixture(scope="module")
def revised(raw: pd.DataFrame) -> tuple[pd.DataFrame, object]:
    return rd.revised_release(raw, 7)


@pytest.fixture(scope="module")
def sources(raw: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], object]:
    return rd.three_sources(raw, 7)


def test_register_is_the_shipped_one(raw: pd.DataFrame) -> None:
    assert raw.shape == (12062, 18)


def test_revised_release_proportions(raw: pd.DataFrame, revised: tuple) -> None:
    frame, truth = revised
    n = len(raw)
    added = truth.rows["original_row"].isna().sum()
    corrected = truth.rows["corrected_field"].notna().sum()
    assert abs(len(truth.removed) / n - 0.01) < 0.001
    assert abs(corrected / n - 0.02) < 0.001
    assert abs(added / n - 0.03) < 0.001
    assert len(frame) == n - len(truth.removed) + added == len(truth.rows)
    # Every corrected field is one of the four, and each of them is used.
    assert set(truth.rows["corrected_field"].dropna()) == {"rangoedad", "estado", "condicion",
                                                           "Actividad"}


def test_revised_release_truth_matches_the_data(raw: pd.DataFrame, revised: tuple) -> None:
    frame, truth = revised
    assert sorted(frame.columns) == sorted(raw.columns)
    assert list(frame.columns) != list(raw.columns)  # reordered
    matched = truth.rows.dropna(subset=["original_row"])
    originals = matched["original_row"].astype(int)
    assert originals.is_unique and originals.is_monotonic_increasing
    assert set(originals).isdisjoint(truth.removed)
    assert len(set(originals) | set(truth.removed)) == len(raw)
    out = frame.loc[matched["output_row"], raw.columns].reset_index(drop=True)
    out["ano"] = out["ano"].str.replace(",", "")
    out["codigodanemunicipio"] = out["codigodanemunicipio"].str.replace(",", "")
    before = raw.loc[originals].reset_index(drop=True)
    differs = out != before
    corrected = matched["corrected_field"].reset_index(drop=True)
    # Unchanged rows are identical after removing the separators; corrected rows differ in
    # exactly the named field, from old_value to new_value.
    assert not differs[corrected.isna()].to_numpy().any()
    for i in corrected.dropna().index:
        field = corrected[i]
        assert list(differs.columns[differs.loc[i]]) == [field]
        assert before.at[i, field] == matched["old_value"].iloc[i]
        assert out.at[i, field] == matched["new_value"].iloc[i]


def test_revised_release_writes_thousands_separators(revised: tuple, tmp_path: Path) -> None:
    frame, _ = revised
    assert frame["ano"].str.fullmatch(r"\d,\d{3}").all()  # "2,006"
    big = frame["codigodanemunicipio"].str.replace(",", "").astype(int) >= 1000
    assert frame.loc[big, "codigodanemunicipio"].str.contains(",").all()  # "5,313"
    assert (frame["codigodanemunicipio"] == "5,313").any()
    path = tmp_path / "release.csv"
    frame.to_csv(path, index=False)
    text = path.read_text(encoding="utf-8")
    assert '"2,006"' in text and '"5,313"' in text
    again = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert again.shape == frame.shape


def test_added_victims_are_plausible(raw: pd.DataFrame, revised: tuple) -> None:
    frame, truth = revised
    added = frame.loc[truth.rows["original_row"].isna().to_numpy()]
    for column in ("rangoedad", "estado", "condicion", "Actividad", "departamento",
                   "tipoevento"):
        assert set(added[column]) <= set(raw[column])
    years = added["ano"].str.replace(",", "").astype(int)
    assert years.between(1990, 2021).all()


def test_sources_coverage_and_truth(raw: pd.DataFrame, sources: tuple) -> None:
    frames, truth = sources
    assert set(frames) == {"centre", "ngo", "press"}
    assert truth.true_total == len(raw) == len(truth.persons)
    links = truth.links
    persons_per_source = links.groupby("source")["person_id"].nunique() / truth.true_total
    for name, share in {"centre": 0.70, "ngo": 0.50, "press": 0.25}.items():
        assert abs(persons_per_source[name] - share) < 0.02, (name, persons_per_source[name])
    # Some persons are in no source: what multiple systems estimation must estimate.
    unseen = truth.true_total - links["person_id"].nunique()
    assert 0.08 * truth.true_total < unseen < 0.15 * truth.true_total  # ~0.3*0.5*0.75
    for name, frame in frames.items():
        assert frame["record_id"].is_unique
        assert set(frame["record_id"]) == set(links.loc[links["source"] == name, "record_id"])
    victim_links = links[links["source"] != "press"]
    assert not victim_links.duplicated(["source", "person_id"]).any()
    # A person's accident in the links is the person's accident.
    accident_of = truth.persons.set_index("person_id")["accident_id"]
    assert (links["accident_id"].to_numpy()
            == accident_of.loc[links["person_id"]].to_numpy()).all()


def test_accident_source_reports_counts(raw: pd.DataFrame, sources: tuple) -> None:
    frames, truth = sources
    press = frames["press"]
    assert {"killed", "injured"} <= set(press.columns)
    assert not {"age_band", "age_years", "sex", "outcome"} & set(press.columns)
    assert ((press["killed"] + press["injured"]) >= 1).all()
    press_links = truth.links[truth.links["source"] == "press"]
    # One row per accident, and its counts are the outcomes of the victims it covers.
    assert press_links.groupby("record_id")["accident_id"].nunique().eq(1).all()
    assert not press_links.drop_duplicates("record_id")["accident_id"].duplicated().any()
    outcome = raw["estado"]
    covered = press_links.assign(killed=(outcome.loc[press_links["person_id"]]
                                         == "Muerto").to_numpy())
    expected = covered.groupby("record_id").agg(n=("person_id", "size"),
                                                killed=("killed", "sum"))
    got = press.set_index("record_id").loc[expected.index]
    assert (got["killed"] == expected["killed"]).all()
    assert (got["killed"] + got["injured"] == expected["n"]).all()
    assert (press["killed"] + press["injured"] > 1).any()  # some accidents with several


def test_sources_noise(raw: pd.DataFrame, sources: tuple) -> None:
    frames, truth = sources
    true_date = pd.to_datetime(truth.persons.set_index("person_id")["true_date"])
    for name, moved in (("centre", 0.10), ("ngo", 0.20)):
        links = truth.links[truth.links["source"] == name].set_index("record_id")
        frame = frames[name].set_index("record_id")
        given = pd.to_datetime(frame["event_date"].replace("", None))
        shift = (given - true_date.loc[links.loc[frame.index, "person_id"]].to_numpy()).dt.days
        shift = shift.dropna()
        assert shift.abs().max() <= 30
        assert abs((shift != 0).mean() - moved) < 0.02
        assert (frame == "").mean().max() > 0.02  # fields missing at random
    assert "municipality_name" in frames["ngo"] and "municipality_code" not in frames["ngo"]
    names = set(frames["ngo"]["municipality_name"])
    assert names - set(raw["municipio"])  # spelling and accent variants
    assert len(names & set(raw["municipio"])) > 300  # but mostly as written
    ages = frames["ngo"]["age_years"].replace("", None).dropna().astype(int)
    assert ages.between(5, 75).all()
    links = truth.links[truth.links["source"] == "ngo"].set_index("record_id")
    ngo = frames["ngo"].set_index("record_id")
    band = raw["rangoedad"].loc[links.loc[ngo.index, "person_id"]].to_numpy()
    known = ngo["age_years"] != ""
    is_child = ngo.loc[known, "age_years"].astype(int) < 18
    assert (is_child.to_numpy() == (band[known.to_numpy()] == "Menor de 18 años")).all()


def _written(write: object, raw: pd.DataFrame, seed: int, out: Path) -> dict[str, bytes]:
    paths = write(raw, seed, out)  # type: ignore[operator]
    return {p.name: p.read_bytes() for p in paths}


@pytest.mark.parametrize("what", ["revised", "sources"])
def test_same_seed_same_bytes_other_seed_other_data(raw: pd.DataFrame, tmp_path: Path,
                                                    what: str) -> None:
    write = rd.write_revised if what == "revised" else rd.write_sources
    first = _written(write, raw, 7, tmp_path / "a")
    assert first == _written(write, raw, 7, tmp_path / "b")
    other = _written(write, raw, 8, tmp_path / "c")
    assert first.keys() == other.keys()
    assert all(first[k] != other[k] for k in first if not k.endswith(".json"))
    # The command line writes the same files.
    subprocess.run([sys.executable, str(BENCH / "reconcile_data.py"), what, "--out",
                    str(tmp_path / "cli"), "--seed", "7"], check=True, capture_output=True,
                   timeout=120)
    assert first == {p.name: p.read_bytes() for p in (tmp_path / "cli").iterdir()}


def test_a_source_gives_all_victims_of_an_accident_one_date_and_site(raw: pd.DataFrame,
                                                                    sources: tuple) -> None:
    frames, truth = sources
    for name in ("centre", "ngo"):
        links = truth.links[truth.links["source"] == name].set_index("record_id")
        frame = frames[name].set_index("record_id")
        frame = frame.assign(accident_id=links.loc[frame.index, "accident_id"].to_numpy())
        per_accident = frame.groupby("accident_id")[["event_date", "site"]].nunique()
        assert (per_accident <= 1).all().all(), name
        assert (frame["event_date"] == "").mean() > 0.02  # some accidents' dates unknown
    # The older noise, victim by victim, is still there to compare.
    frames, _ = rd.three_sources(raw, 7, noise="record")
    assert len(frames["centre"]) == len(sources[0]["centre"])
    with pytest.raises(ValueError):
        rd.three_sources(raw, 7, noise="person")


def test_accident_coverage_lists_all_of_an_accident_s_victims_or_none(raw: pd.DataFrame
                                                                     ) -> None:
    frames, truth = rd.three_sources(raw, 7, coverage="accident")
    accident = rd.accidents_of(rd._as_text(raw)).to_numpy()
    sizes = np.bincount(accident)
    for name in ("centre", "ngo"):
        listed = truth.links[truth.links["source"] == name]
        per_accident = listed.groupby("accident_id")["person_id"].nunique()
        assert (per_accident.to_numpy() == sizes[per_accident.index.to_numpy()]).all(), name
        # about the source's share of the accidents
        assert abs(len(per_accident) / len(sizes) - rd.COVERAGE[name]) < 0.03, name
    with pytest.raises(ValueError):
        rd.three_sources(raw, 7, coverage="person")
