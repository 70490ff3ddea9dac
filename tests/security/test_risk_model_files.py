# SPDX-License-Identifier: GPL-3.0-or-later
"""A risk model directory travels between machines (`risk train --out`, then `predict`
elsewhere). A crafted one must not make the loader read a file outside the directory,
nor run anything: the manifest's file names are plain names in the directory, the rank
references are plain arrays (no pickle), and a malformed manifest is refused by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mineaction.analysis.risk import artifact, features, model


@pytest.fixture(scope="module")
def mix_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(5)
    n = 2_000
    X = pd.DataFrame({"dist_any_km": rng.exponential(10.0, n),
                      "count_any_5km": rng.poisson(2.0, n).astype(float),
                      "cov_road_km": rng.uniform(0.0, 20.0, n)})
    label = rng.random(n) < 1.0 / (1.0 + np.exp(X["dist_any_km"].to_numpy() / 3 - 1))
    mix = model.train_mix(X, label, [list(X.columns), ["dist_any_km", "count_any_5km"]],
                          calibrate=rng.random(n) < 0.2, rounds=10, seed=0,
                          params={"num_threads": 1, "min_child_samples": 20})
    out = tmp_path_factory.mktemp("mix") / "model"
    artifact.save(mix, out, {"config": features.FeatureConfig(), "crs": "LOCAL"})
    return out


def _crafted(mix_dir: Path, tmp_path: Path, change: dict[str, object]) -> Path:
    crafted = tmp_path / "crafted"
    shutil.copytree(mix_dir, crafted)
    manifest = json.loads((crafted / "manifest.json").read_text())
    (crafted / "manifest.json").write_text(json.dumps({**manifest, **change}))
    return crafted


def test_the_shared_model_loads(mix_dir: Path) -> None:
    loaded, meta = artifact.load(mix_dir)
    assert isinstance(loaded, model.RankMix) and meta["format"] == 2


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/passwd", "sub/booster.txt", "..",
                                  "", "..\\booster.txt"])
def test_a_manifest_cannot_name_a_file_outside_the_directory(mix_dir: Path, tmp_path: Path,
                                                             name: str) -> None:
    (tmp_path / "outside.txt").write_text("tree\nnot a model of this directory\n")
    manifest = json.loads((mix_dir / "manifest.json").read_text())
    members = [dict(m) for m in manifest["members"]]
    members[1]["booster"] = name
    for change in ({"members": members}, {"references": name}, {"config": name}):
        crafted = _crafted(mix_dir, tmp_path, change)
        with pytest.raises(artifact.ArtifactError, match="not a file name in the model "
                                                         "directory"):
            artifact.load(crafted)
        shutil.rmtree(crafted)


def test_pickled_rank_references_are_refused_without_running(mix_dir: Path,
                                                             tmp_path: Path) -> None:
    crafted = _crafted(mix_dir, tmp_path, {})
    ran = tmp_path / "ran"

    class Boom:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (Path.touch, (str(ran),))  # type: ignore[return-value]

    np.savez(crafted / "references.npz", score_0=np.array([Boom()], dtype=object),
             share_0=np.array([0.5]), score_1=np.array([1.0]), share_1=np.array([0.5]))
    with pytest.raises(artifact.ArtifactError, match="members cannot be read"):
        artifact.load(crafted)
    assert not ran.exists()


@pytest.mark.parametrize("members", [None, "booster.txt", [{"booster": "booster.txt"}], [7]])
def test_a_malformed_members_list_is_refused_by_name(mix_dir: Path, tmp_path: Path,
                                                     members: object) -> None:
    crafted = _crafted(mix_dir, tmp_path, {"members": members})
    with pytest.raises(artifact.ArtifactError,
                       match=rf"{crafted / 'manifest.json'}: the rank mix's members"):
        artifact.load(crafted)
