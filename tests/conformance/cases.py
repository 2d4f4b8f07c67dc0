"""Shared parameters of the conformance suite; the bit comparisons are the shipped kit's."""

from __future__ import annotations

from grl.conformance.checks import FLOAT_DTYPES, GRAD_DTYPES, LAMBDAS, SHAPES
from grl.conformance.numerics import as_dtype, assert_conforms, assert_same_bits, bits

__all__ = [
    "FLOAT_DTYPES",
    "GRAD_DTYPES",
    "LAMBDAS",
    "SHAPES",
    "as_dtype",
    "assert_conforms",
    "assert_same_bits",
    "bits",
]
