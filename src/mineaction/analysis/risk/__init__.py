# SPDX-License-Identifier: GPL-3.0-or-later
"""Contamination-risk model (issue 19): where are the mines nobody recorded?

A grid of equal-area cells (`grid`), features per cell computed only from what was known
before a cut-off date (`features`, with its registry), a LightGBM model with calibrated
probabilities and per-prediction contributions (`model`), and validation that does not
flatter: out-of-time, spatial blocks, leave-one-admin-area-out, always beside two plain
baselines (`validate`). Events come from the store (`events.from_store`) or any frame with
kind, lon, lat and date columns (`events.from_frame`), so tests need no store.
"""
