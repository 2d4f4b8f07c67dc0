"""Thin per-framework implementations of the spec in :mod:`grl.core`.

Import them through the public entry points :mod:`grl.torch`, :mod:`grl.tf` and
:mod:`grl.jax`, which give a clear ImportError when the framework is missing.
"""
