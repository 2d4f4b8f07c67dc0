"""One adapter per framework that wraps a user's ``f(x, lambda_)``.

Each module imports its framework, so import only the one you check. To check an
implementation with another signature, subclass ``CallableAdapter`` and override
``apply(x, lambda_)``; every check goes through it.
"""
