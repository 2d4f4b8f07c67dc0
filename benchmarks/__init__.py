"""Side-by-side benchmarks of grl against identity, the single-multiply floor and peer GRLs.

Run everything with ``python -m benchmarks.run`` (see ``docs/performance.md``). Each
framework runs in its own process (:mod:`benchmarks.worker`), so that no framework's
threads, allocator or import cost disturbs another's timings.
"""
