"""grl: the reference gradient reversal layer for PyTorch, TensorFlow/Keras and JAX.

Importing ``grl`` imports no deep-learning framework. Pick a backend explicitly::

    import grl.torch   # or grl.tf, grl.jax

The backend-agnostic specification (NumPy reference numerics, λ validation and λ
schedules) lives in :mod:`grl.core`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
