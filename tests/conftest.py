"""Shared test settings. The one input sampler lives in gelulab.accuracy.sampler."""

from __future__ import annotations

import gelulab as gl

ALL_NAMES = gl.names()
SMOOTH_NAMES = [n for n in ALL_NAMES if gl.get(n).smooth]
