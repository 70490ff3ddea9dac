# SPDX-License-Identifier: GPL-3.0-or-later
"""Best-fit rigid transform (rotation and shift, no scale) in a plane between two point
sets whose correspondences are unknown and partly missing: RANSAC over minimal pairs,
refined by trimmed ICP with a least-squares (Kabsch/Umeyama) step.

Why rigid and not similarity or affine: a handed-over minefield record is mostly wrong by
where it was anchored (a misread benchmark, a wrong north), which moves and turns the whole
field; a free scale or shear would bend the record towards any outlier cluster and hide the
error we want to measure.

Why RANSAC first: mine rows are regular, so ICP started from the record as drawn locks on
to the nearest look-alike (one spacing along a row, one row across) when the error is
larger than half a spacing. Two finds fix a rigid transform, so each sampled pair of finds
is tried against every pair of expected mines at the same distance (and of compatible
device types); the hypothesis that explains the most finds wins. Finds outside every
recorded row are then only outliers that no hypothesis explains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from mineaction.analysis.point_matching import BoolArray, IntArray, match_one_to_one

Array = npt.NDArray[np.float64]

# How many points one vectorised RANSAC scoring call sends to the k-d tree at once.
_CHUNK_POINTS = 200_000
# Preemptive scoring of many hypotheses: how many finds the first pass samples and how
# many hypotheses it keeps for the full score.
_PRESCORE_FINDS = 64
# A tie-break far below any real difference of cost (squared metres): it only ever decides
# between fits that explain the finds equally well.
_TIE_BREAK = 1e-6
_TIE_RADIUS_M = 100.0  # a rotation weighs as the move it makes 100 m from the pivot
_SHORTLIST = 16
# Neighbours looked at per find when scoring, so an incompatible nearest mine (another
# device type) does not hide a compatible one just behind it.
_K_NEAREST = 4


@dataclass(frozen=True)
class Rigid2D:
    """y = R(theta) x + t; theta in radians, anticlockwise (east towards north)."""

    theta: float
    t: tuple[float, float]

    @property
    def matrix(self) -> Array:
        c, s = math.cos(self.theta), math.sin(self.theta)
        return np.array([[c, -s], [s, c]])

    def apply(self, xy: Array) -> Array:
        result: Array = xy @ self.matrix.T + np.asarray(self.t)
        return result

    def inverse_apply(self, xy: Array) -> Array:
        result: Array = (xy - np.asarray(self.t)) @ self.matrix
        return result


IDENTITY = Rigid2D(0.0, (0.0, 0.0))


def kabsch_2d(src: Array, dst: Array) -> Rigid2D:
    """Least-squares rotation and shift taking src onto dst (pairs in order; >= 2)."""
    if len(src) != len(dst) or len(src) < 2:
        raise ValueError("kabsch_2d needs at least two pairs of points")
    sc, dc = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - sc, dst - dc
    # The angle maximising sum(b . R a) in closed form: no SVD, no reflection to undo.
    theta = math.atan2(float(np.sum(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])),
                       float(np.sum(a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1])))
    moved = Rigid2D(theta, (0.0, 0.0)).apply(sc[None, :])[0]
    return Rigid2D(theta, (float(dc[0] - moved[0]), float(dc[1] - moved[1])))


def _wrap(angle: Array) -> Array:
    result: Array = (angle + np.pi) % (2 * np.pi) - np.pi
    return result


@dataclass(frozen=True)
class _Scored:
    transform: Rigid2D
    inliers: int
    cost: float


def _score(tree: cKDTree, n_src: int, dst: Array, compatible: BoolArray, tolerance: float,
           thetas: Array, ts: Array) -> tuple[npt.NDArray[np.intp], Array]:
    """Inlier counts and truncated squared costs (MSAC) of many hypotheses at once."""
    m = len(dst)
    k = min(_K_NEAREST, n_src)
    inliers = np.zeros(len(thetas), dtype=np.intp)
    costs = np.zeros(len(thetas))
    per_chunk = max(1, _CHUNK_POINTS // max(m, 1))
    for lo in range(0, len(thetas), per_chunk):
        th, t = thetas[lo:lo + per_chunk], ts[lo:lo + per_chunk]
        c, s = np.cos(th)[:, None], np.sin(th)[:, None]
        # Finds taken back into the record's frame: x = R^T (y - t).
        dx = dst[None, :, 0] - t[:, None, 0]
        dy = dst[None, :, 1] - t[:, None, 1]
        back = np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1).reshape(-1, 2)
        dist, idx = tree.query(back, k=k, distance_upper_bound=tolerance)
        dist = np.asarray(dist).reshape(len(th), m, k)
        idx = np.asarray(idx).reshape(len(th), m, k)
        found = idx < n_src
        finds = np.broadcast_to(np.arange(m)[None, :, None], idx.shape)
        ok = found & compatible[finds, np.minimum(idx, n_src - 1)]
        best = np.where(ok, dist, np.inf).min(axis=2)
        inliers[lo:lo + per_chunk] = np.isfinite(best).sum(axis=1)
        costs[lo:lo + per_chunk] = np.minimum(best, tolerance) ** 2 @ np.ones(m)
    return inliers, costs


def ransac_rigid(src: Array, dst: Array, compatible: BoolArray, tolerance_m: float,
                 max_rotation_rad: float, rng: np.random.Generator, *,
                 min_anchors: int = 8, max_anchors: int = 60,
                 confidence: float = 0.999) -> tuple[Rigid2D, int, int] | None:
    """The rigid transform src -> dst explaining most of dst within tolerance_m, with the
    number it explains and the number of anchor pairs tried; None when fewer than two dst
    points or no consistent pair.

    compatible[j, i]: dst j may correspond to src i. Rotations beyond max_rotation_rad are
    not tried: a regular field matches itself turned by 180 degrees, and a record off by
    more than the limit is better read as a different minefield than as a rotation.
    """
    n, m = len(src), len(dst)
    if n < 2 or m < 2:
        return None
    # Every pair of expected mines, in single precision: a hypothesis only has to be close
    # enough for the refinement to start from, and this halves the n x n memory (a field of
    # 2,000 mines takes about 50 MB here).
    dx = (src[None, :, 0] - src[:, None, 0]).astype(np.float32)
    dy = (src[None, :, 1] - src[:, None, 1]).astype(np.float32)
    src_dist = np.hypot(dx, dy)
    src_angle = np.arctan2(dy, dx)
    del dx, dy
    tree = cKDTree(src)
    dst_dist = np.hypot(*(dst[None, :, :] - dst[:, None, :]).transpose(2, 0, 1))
    # Pairs far enough apart to fix the rotation well; short ones only when nothing else.
    long_enough = 4 * tolerance_m
    aj, bj = np.nonzero(np.triu(dst_dist >= long_enough, 1))
    if len(aj) == 0:
        aj, bj = np.nonzero(np.triu(dst_dist > 2 * tolerance_m, 1))
    if len(aj) == 0:
        return None
    order = rng.permutation(len(aj))
    best: _Scored | None = None
    tried = 0
    for pick in order[:max_anchors]:
        a, b = int(aj[pick]), int(bj[pick])
        d = dst_dist[a, b]
        # The pair's two ends may be each other's mistake, so both orders are candidates.
        cand = (np.abs(src_dist - d) <= 2 * tolerance_m) & compatible[a][:, None] \
            & compatible[b][None, :]
        i, k = np.nonzero(cand)
        tried += 1
        if len(i):
            fa, fb = dst[a], dst[b]
            theta = _wrap(math.atan2(fb[1] - fa[1], fb[0] - fa[0])
                          - src_angle[i, k].astype(float))
            keep = np.abs(theta) <= max_rotation_rad
            i, k, theta = i[keep], k[keep], theta[keep]
            if len(i):
                mid_src = (src[i] + src[k]) / 2
                c, s = np.cos(theta), np.sin(theta)
                rotated = np.column_stack([c * mid_src[:, 0] - s * mid_src[:, 1],
                                           s * mid_src[:, 0] + c * mid_src[:, 1]])
                ts = (fa + fb) / 2 - rotated
                if len(theta) > _SHORTLIST and m > _PRESCORE_FINDS:
                    # Preemptive scoring: every hypothesis on a sample of the finds, the
                    # best few on all of them. A large field has thousands of look-alike
                    # pairs per anchor, and the right one stands out on a sample already.
                    sample = rng.choice(m, _PRESCORE_FINDS, replace=False)
                    _, pre = _score(tree, n, dst[sample], compatible[sample], tolerance_m,
                                    theta, ts)
                    short = np.argsort(pre, kind="stable")[:_SHORTLIST]
                    theta, ts = theta[short], ts[short]
                inliers, costs = _score(tree, n, dst, compatible, tolerance_m, theta, ts)
                # Ties are common in a regular field: finds that stop short of a row's end
                # fit as well one spacing further along. Between equal fits, the smaller
                # move wins: a record is read as drawn unless the finds say otherwise.
                costs = costs + _TIE_BREAK * (np.hypot(ts[:, 0], ts[:, 1])
                                              + _TIE_RADIUS_M * np.abs(theta))
                h = int(np.argmin(costs))
                if best is None or costs[h] < best.cost:
                    best = _Scored(Rigid2D(float(theta[h]), (float(ts[h, 0]),
                                                              float(ts[h, 1]))),
                                   int(inliers[h]), float(costs[h]))
        if best is not None and tried >= min_anchors:
            share = best.inliers / m
            if share >= 1.0:
                break
            # Classic RANSAC stopping rule: enough pairs that, with this inlier share, at
            # least one pair of two inliers was drawn with the given confidence.
            needed = math.log(1 - confidence) / math.log(1 - share**2) if share > 0 else math.inf
            if tried >= needed:
                break
    if best is None or best.inliers < 2:
        return None
    return best.transform, best.inliers, tried


def trimmed_icp(src: Array, dst: Array, compatible: BoolArray, tolerance_m: float,
                start: Rigid2D, *, trim: float = 0.95, min_pairs: int = 3,
                max_iterations: int = 50) -> tuple[Rigid2D, IntArray, IntArray] | None:
    """Refine `start`: match one to one within tolerance, fit the best `trim` share of the
    pairs by least squares, repeat until the transform stops moving. Returns the transform
    and its final pairs (src index, dst index), or None when fewer than min_pairs match.

    Why trimmed: a few finds that happen to fall within tolerance of the wrong mine (an
    unrecorded mine next to a recorded one) would otherwise pull every iteration."""
    if not 0 < trim <= 1:
        raise ValueError(f"trim must be in (0, 1], got {trim}")
    current = start
    for _ in range(max_iterations):
        si, dj = match_one_to_one(current.apply(src), dst, tolerance_m, compatible)
        if len(si) < max(min_pairs, 2):
            return None
        resid = np.hypot(*(current.apply(src[si]) - dst[dj]).T)
        keep = np.argsort(resid, kind="stable")[:max(2, math.ceil(trim * len(si)))]
        nxt = kabsch_2d(src[si[keep]], dst[dj[keep]])
        moved = math.hypot(nxt.t[0] - current.t[0], nxt.t[1] - current.t[1])
        turned = abs(nxt.theta - current.theta)
        current = nxt
        if moved < 1e-6 and turned < 1e-9:
            break
    si, dj = match_one_to_one(current.apply(src), dst, tolerance_m, compatible)
    if len(si) < max(min_pairs, 2):
        return None
    return current, si, dj
