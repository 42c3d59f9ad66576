"""Comparisons allow EPS for binary floating-point noise: it is far below the two decimals shown,
so a value exactly at its threshold passes (see docs/methods.md)."""

EPS = 1e-9
