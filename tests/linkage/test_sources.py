# SPDX-License-Identifier: GPL-3.0-or-later
"""Linking the victims of several sources, clusters and canonical records (issue 17)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mineaction.linkage.accidents import link_accident_counts
from mineaction.linkage.clusters import canonical
from mineaction.linkage.fields import age_to_band, date_range, pcode_from_names
from mineaction.linkage.sources import link_sources

PEOPLE = pd.DataFrame({
    "accident_date": ["2006-01-12", "2006-03-02", "2007-05-20", "2008-09-09"],
    "date_precision": ["day"] * 4,
    "admin_area_pcode": ["05313", "05001", "18410", "50590"],
    "sex": ["male", "female", "male", "male"],
    "outcome": ["injured", "killed", "injured", "injured"],
    "role": ["civilian", "civilian", "security_forces", "civilian"],
    "activity": ["agriculture", "playing", "military_duty", "travelling"],
    "age_band": ["adult", "child", "adult", "adult"],
})


def sources() -> dict[str, pd.DataFrame]:
    """centre: all four people; ngo: three of them, dates a few days off, ages in years,
    one sex missing; press: one of them, the month only."""
    centre = PEOPLE.assign(id=["c1", "c2", "c3", "c4"])
    ngo = PEOPLE.iloc[[0, 1, 3]].assign(
        id=["n1", "n2", "n4"], accident_date=["2006-01-14", "2006-03-02", "2008-09-01"],
        age=[34, 9, 51], age_band=None, sex=["male", None, "male"])
    press = PEOPLE.iloc[[2]].assign(id=["p3"], accident_date=["2007-05-01"],
                                    date_precision=["month"], activity=[None])
    return {"centre": centre, "ngo": ngo, "press": press}


def clusters_of(links: object) -> dict[str, set[tuple[str, object]]]:
    records = links.records  # type: ignore[attr-defined]
    by_cluster: dict[int, set[tuple[str, object]]] = {}
    for s, i, c in zip(records["source"], records["id"], records["cluster"], strict=True):
        by_cluster.setdefault(c, set()).add((s, i))
    return {min(str(i) for _, i in members): members for members in by_cluster.values()}


def test_the_same_victims_of_three_sources_cluster_together() -> None:
    links = link_sources(sources(), "victim")
    clusters = clusters_of(links)
    assert clusters["c1"] == {("centre", "c1"), ("ngo", "n1")}
    assert clusters["c2"] == {("centre", "c2"), ("ngo", "n2")}
    assert clusters["c3"] == {("centre", "c3"), ("press", "p3")}
    assert clusters["c4"] == {("centre", "c4"), ("ngo", "n4")}
    assert links.cluster_count == 4
    assert (links.links["status"] == "accepted").sum() == 4


def test_links_are_only_between_sources_and_one_per_other_source() -> None:
    # The ngo lists two identical victims; the centre one: at most one link from c1 to ngo.
    frames = sources()
    frames["ngo"] = pd.concat([frames["ngo"], frames["ngo"].iloc[[0]].assign(id="n1b")],
                              ignore_index=True)
    links = link_sources(frames, "victim", lower=0.0)
    lk = links.links
    assert (lk["source_l"] != lk["source_r"]).all()
    from_c1 = lk[(lk["id_l"] == "c1") & (lk["source_r"] == "ngo")]
    assert len(from_c1) == 1
    for source in ("centre", "ngo"):
        ids = pd.concat([lk[lk["source_l"] == source]["id_l"].rename("id"),
                         lk[lk["source_r"] == source]["id_r"].rename("id")])
        pairs = pd.concat([lk[lk["source_l"] == source][["id_l", "source_r"]].set_axis(
            ["id", "other"], axis=1), lk[lk["source_r"] == source][["id_r", "source_l"]]
            .set_axis(["id", "other"], axis=1)])
        assert not pairs.duplicated().any(), (source, ids.tolist())


def test_a_cluster_never_holds_two_records_of_one_source() -> None:
    # A chain: centre c1 ~ ngo n1 ~ press p1 ~ centre c1b (c1 and c1b both the centre's).
    person = PEOPLE.iloc[[0]]
    frames = {
        "centre": pd.concat([person.assign(id="c1"),
                             person.assign(id="c1b", age_band="child")], ignore_index=True),
        "ngo": person.assign(id="n1", age_band=None),
        "press": person.assign(id="p1", age_band=None, sex=None),
    }
    links = link_sources(frames, "victim", upper=0.5, lower=0.1)
    records = links.records
    per_cluster = records.groupby("cluster")["source"].agg(lambda s: s.duplicated().any())
    assert not per_cluster.any()
    assert (links.links["status"] == "split").any() or links.cluster_count >= 2


def test_canonical_newest_takes_the_newer_report_field_by_field() -> None:
    links = link_sources(sources(), "victim")
    newest = canonical(links, rule="newest", information_dates={
        "centre": "2020-01-01", "ngo": "2021-06-30", "press": "2019-01-01"})
    row = newest[newest["records"].map(lambda r: ("centre", "c1") in r)].iloc[0]
    assert row["accident_date"] == "2006-01-14"  # the ngo's, newer
    assert row["provenance"]["accident_date"] == "ngo"
    assert row["age"] == 34
    assert row["sources"] == ("centre", "ngo")
    assert row["match_probability"] > 0.95
    # The ngo left the second victim's sex empty: the older centre's value fills it.
    row2 = newest[newest["records"].map(lambda r: ("centre", "c2") in r)].iloc[0]
    assert row2["sex"] == "female" and row2["provenance"]["sex"] == "centre"
    assert len(newest) == links.cluster_count


def test_canonical_by_reliability_takes_the_best_ranked_source() -> None:
    links = link_sources(sources(), "victim")
    ranked = canonical(links, rule="reliability", reliability={"centre": 1, "ngo": 2,
                                                              "press": 3})
    row = ranked[ranked["records"].map(lambda r: ("centre", "c1") in r)].iloc[0]
    assert row["accident_date"] == "2006-01-12"
    assert row["provenance"]["accident_date"] == "centre"
    with pytest.raises(ValueError, match="rule"):
        canonical(links, rule="loudest")


def test_source_model_json_round_trips() -> None:
    first = link_sources(sources(), "victim")
    again = link_sources(sources(), "victim", model=json.loads(json.dumps(first.model)))
    pd.testing.assert_frame_equal(first.links, again.links)
    pd.testing.assert_frame_equal(first.records, again.records)


def test_accidents_with_counts_only_link_to_the_victims_accidents() -> None:
    links = link_sources(sources(), "victim")
    victims = canonical(links, rule="reliability", reliability={"centre": 1})
    counts = pd.DataFrame({"id": ["k1", "k2", "k3"],
                           "accident_date": ["2006-01-20", "2006-03-01", "2015-01-01"],
                           "date_precision": ["day", "month", "day"],
                           "admin_area_pcode": ["5313", "05001", "05001"],
                           "killed": [0, 1, 0], "injured": [1, 0, 2]})
    linked = link_accident_counts(victims, counts).set_index("id")
    assert linked.loc["k1", "killed_victims"] == 0 and linked.loc["k1", "injured_victims"] == 1
    assert linked.loc["k1", "days_apart"] == 8
    assert linked.loc["k2", "killed_victims"] == 1 and linked.loc["k2", "days_apart"] == 0
    assert linked.loc["k3", "accident"] is None


def test_normalisers() -> None:
    start, end = date_range(pd.Series(["2006-02-10", "2006-02-10", "2006-02-10", None]),
                            pd.Series(["day", "month", "year", "day"]))
    assert [str(d.date()) for d in start[:3]] == ["2006-02-10", "2006-02-01", "2006-01-01"]
    assert [str(d.date()) for d in end[:3]] == ["2006-02-10", "2006-02-28", "2006-12-31"]
    assert pd.isna(start[3])
    assert list(age_to_band(pd.Series([5, 17, 18, None]))) == ["child", "child", "adult",
                                                                None]
    gazetteer = pd.DataFrame({"name": ["Granada", "Granada", "Medellín"],
                              "department": ["Antioquia", "Meta", "Antioquia"],
                              "pcode": ["05313", "50313", "5001"]})
    names = pd.Series(["GRANADA", "granada", "Medelin", "Granada"])
    departments = pd.Series(["ANTIOQUIA", "Meta", "antioquia", None])
    # Ambiguous without a department: unknown, not guessed; misspelt: the closest name.
    assert list(pcode_from_names(names, gazetteer, departments)) == [
        "05313", "50313", "05001", None]


def test_short_forms_of_official_names_resolve_within_their_department() -> None:
    gazetteer = pd.DataFrame({
        "name": ["SAN ANDRÉS DE TUMACO", "PASTO", "GUADALAJARA DE BUGA", "BUGALAGRANDE",
                 "EL CARMEN DE CHUCURÍ", "EL CARMEN DE BOLÍVAR", "SAN VICENTE FERRER",
                 "SAN VICENTE DEL CAGUÁN", "SAN JOSÉ DE LA MONTAÑA", "SAN JOSÉ DE CÚCUTA"],
        "department": ["NARIÑO", "NARIÑO", "VALLE DEL CAUCA", "VALLE DEL CAUCA", "SANTANDER",
                       "BOLÍVAR", "ANTIOQUIA", "CAQUETÁ", "ANTIOQUIA", "NORTE DE SANTANDER"],
        "pcode": ["52835", "52001", "76111", "76113", "68235", "13244", "5674", "18753",
                  "5658", "54001"]})
    names = pd.Series(["Tumaco", "TUMACCO", "Buga", "EL CARMEN", "San Vicente", "SAN JOSÉ",
                       "Cúcuta"])
    departments = pd.Series(["Nariño", "NARINO", "VALLE DEL CAUCA", "Santander", "ANTIOQUIA",
                             "ANTIOQUIA", "NORTE DE SANTANDER"])
    # "San José" is the start of one Antioquia name only here, yet two words of four:
    # resolved; a name matching several names of its department would stay unknown.
    assert list(pcode_from_names(names, gazetteer, departments)) == [
        "52835", "52835", "76111", "68235", "05674", "05658", "54001"]
    ambiguous = pd.Series(["EL CARMEN"])
    two = pd.concat([gazetteer, pd.DataFrame({"name": ["EL CARMEN DE VIBORAL"],
                                              "department": ["SANTANDER"],
                                              "pcode": ["68999"]})], ignore_index=True)
    assert list(pcode_from_names(ambiguous, two, pd.Series(["SANTANDER"]))) == [None]


def test_accidents_of_two_sources_link_on_date_place_and_device() -> None:
    accidents = pd.DataFrame({
        "accident_date": ["2006-01-12", "2007-05-20", "2008-09-09"],
        "date_precision": ["day"] * 3,
        "admin_area_pcode": ["05313", "18410", "50590"],
        "accident_kind": ["mine", "erw", "mine"],
        "device_category": ["ap_mine", "uxo", "ap_mine"],
        "narrative": ["Mina en la vereda El Páramo", "Artefacto sin explotar en escuela",
                      "Pisó una mina cerca del río"],
    })
    other = accidents.iloc[[0, 2]].assign(
        id=["o1", "o3"], accident_date=["2006-01-14", "2008-09-01"], date_precision="day",
        narrative=["mina, vereda el paramo", "piso una mina cerca al rio"])
    links = link_sources({"a": accidents.assign(id=["a1", "a2", "a3"]), "b": other},
                         "accident")
    accepted = links.links[links.links["status"] == "accepted"]
    assert set(zip(accepted["id_l"], accepted["id_r"], strict=True)) == {("a1", "o1"),
                                                                          ("a3", "o3")}


def test_optimal_assignment_gives_each_record_the_partner_only_it_fits() -> None:
    from mineaction.linkage.assign import greedy_one_to_one, optimal_one_to_one

    # c1 (a field missing) fits n1 and n2 alike and a shade better; c2 fits only n1.
    pairs = pd.DataFrame({"l": ["c1", "c1", "c2"], "r": ["n1", "n2", "n1"],
                          "s": [5.0, 4.9, 4.8]})
    greedy = greedy_one_to_one(pairs, "l", "r", score="s")
    assert set(zip(greedy["l"], greedy["r"], strict=True)) == {("c1", "n1")}
    best = optimal_one_to_one(pairs, "l", "r", "s")
    assert set(zip(best["l"], best["r"], strict=True)) == {("c1", "n2"), ("c2", "n1")}


def test_victims_group_into_their_source_s_accidents() -> None:
    from mineaction.linkage.fields import prepare
    from mineaction.linkage.hierarchy import accident_groups

    frame = pd.DataFrame({
        "accident_date": ["2006-01-12", "2006-01-12", "2006-01-12", None, None],
        "date_precision": "day", "admin_area_pcode": ["05313", "5313", "05313", "05313",
                                                      "05313"],
        "place_name": ["Vereda El Páramo", "vereda el paramo", "Vereda Alta", None, None],
        "accident_kind": "mine"})
    groups = accident_groups(prepare(frame, "victim"))
    assert groups[0] == groups[1]  # the same site, written differently
    assert len(set(groups)) == 4  # another site; no date nor site: each alone


def test_victims_of_two_accidents_of_one_municipality_and_month_are_not_rivals() -> None:
    # Two accidents in one municipality nine days apart; the centre has each one's
    # victims, the ngo the same four with the first accident's date two days off and one
    # victim's sex and role missing (it would fit a victim of either accident).
    base = {"date_precision": "day", "admin_area_pcode": "18410", "accident_kind": "mine",
            "outcome": "injured", "age_band": "adult"}
    centre = pd.DataFrame([
        {**base, "id": "a1", "accident_date": "2007-05-03", "place_name": "Vereda Alta",
         "sex": "male", "role": "security_forces", "activity": "military_duty"},
        {**base, "id": "a2", "accident_date": "2007-05-03", "place_name": "Vereda Alta",
         "sex": "female", "role": "civilian", "activity": "agriculture"},
        {**base, "id": "b1", "accident_date": "2007-05-12", "place_name": "Vereda Baja",
         "sex": "male", "role": "security_forces", "activity": "military_duty"},
        {**base, "id": "b2", "accident_date": "2007-05-12", "place_name": "Vereda Baja",
         "sex": "male", "role": "civilian", "activity": "travelling"},
    ])
    ngo = centre.assign(id=["na1", "na2", "nb1", "nb2"],
                        accident_date=["2007-05-05", "2007-05-05", "2007-05-12",
                                       "2007-05-12"])
    ngo.loc[2, ["sex", "role"]] = None
    links = link_sources({"centre": centre, "ngo": ngo}, "victim", lower=0.01)
    found = set(zip(links.links["id_l"], links.links["id_r"], strict=True))
    assert found == {("a1", "na1"), ("a2", "na2"), ("b1", "nb1"), ("b2", "nb2")}
    # The accident pair's probability travels with its victims' links, for the reviewer.
    assert links.links["accident_probability"].between(0, 1).all()
