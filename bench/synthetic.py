"""Seeded synthetic data shaped like Colombia's AICMA victims register, for benchmarks.

Municipalities, their DANE codes and seats come from the real DANE layer shipped in data/;
everything else is drawn from distributions close to the real register's (about 1.75
victims an accident, 19% killed, 40% civilians, 10% children). The same seed gives the same
file, byte for byte.

    python bench/synthetic.py victims 1000000 out.csv [--seed 7]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

DATA = Path(__file__).parents[1] / "data"
COLUMNS = ["departamento", "codigodanedepartamento", "municipio", "codigodanemunicipio",
           "tipoarea", "sitio", "ano", "mes", "rangoedad", "grupoetnico", "condicion",
           "estado", "genero", "latitudcabecera", "longitudcabecera", "tipoevento",
           "Ubicación", "Actividad"]
ACTIVITIES = ["Fuerza pública", "Sin Información", "Pasando, estando cerca", "Agricultura",
              "Erradicador manual - PCI", "Manipulación", "Jugando", "Cuidado de animales"]


def municipalities() -> pd.DataFrame:
    data = json.loads((DATA / "colombia/admin/municipalities_dane_mgn2021.geojson").read_text())
    rows = []
    for f in data["features"]:
        p = f["properties"]
        pt = shape(f["geometry"]).representative_point()
        rows.append((p["DPTO_CNMBR"], int(p["DPTO_CCDGO"]), p["MPIO_CNMBR"],
                     int(p["MPIO_CDPMP"]), round(pt.y, 6), round(pt.x, 6)))
    return pd.DataFrame(rows, columns=["dep", "depcode", "mun", "muncode", "lat", "lon"])


def victims(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    muni = municipalities()
    n_acc = int(n / 1.75)
    acc_muni = rng.integers(0, len(muni), n_acc)
    m = muni.iloc[acc_muni].reset_index(drop=True)
    # Sites: jitter around the seat so that most accidents have their own place.
    acc = pd.DataFrame({
        "departamento": m["dep"], "codigodanedepartamento": m["depcode"],
        "municipio": m["mun"], "codigodanemunicipio": m["muncode"],
        "tipoarea": np.where(rng.random(n_acc) < 0.98, "Rural", "Urbana"),
        "sitio": np.where(rng.random(n_acc) < 0.3, "Sin información",
                          "Vereda " + pd.Series(rng.integers(1, 400, n_acc)).astype(str)),
        "ano": rng.integers(1990, 2022, n_acc), "mes": rng.integers(1, 13, n_acc),
        "latitudcabecera": (m["lat"] + rng.normal(0, 0.05, n_acc)).round(6),
        "longitudcabecera": (m["lon"] + rng.normal(0, 0.05, n_acc)).round(6),
        "tipoevento": np.where(rng.random(n_acc) < 0.95, "Accidente por MAP",
                               "Accidente por MUSE"),
    })
    which = np.sort(np.concatenate([np.arange(n_acc), rng.integers(0, n_acc, n - n_acc)]))
    v = acc.iloc[which].reset_index(drop=True)
    v["rangoedad"] = np.where(rng.random(n) < 0.1, "Menor de 18 años", "Mayor de 18 años")
    v["grupoetnico"] = rng.choice(["No", "Indigena", "Afrodescendiente"], n, p=[.95, .04, .01])
    v["condicion"] = np.where(rng.random(n) < 0.4, "Civil", "Fuerza pública")
    v["estado"] = np.where(rng.random(n) < 0.19, "Muerto", "Herido")
    v["genero"] = rng.choice(["Masculino", "Femenino", "Sin Información"], n, p=[.94, .05, .01])
    v["Ubicación"] = ("(" + v["latitudcabecera"].astype(str) + ", "
                      + v["longitudcabecera"].astype(str) + ")")
    v["Actividad"] = rng.choice(ACTIVITIES, n)
    return v[COLUMNS]


def accident_points(n: int, seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """n points spread over Colombia's municipalities (for query benchmarks)."""
    rng = np.random.default_rng(seed)
    muni = municipalities()
    pick = rng.integers(0, len(muni), n)
    lon = muni["lon"].to_numpy()[pick] + rng.normal(0, 0.08, n)
    lat = muni["lat"].to_numpy()[pick] + rng.normal(0, 0.08, n)
    return lon, lat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["victims"])
    parser.add_argument("n", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    victims(args.n, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()

__all__ = ["accident_points", "shapely", "victims"]
