"""How big and how often: the full benchmark and the quick (CI) mode."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts of one benchmark run.

    ``repeats`` interleaved samples are taken per case and the median is reported; each
    sample runs a case ``n`` times, with ``n`` chosen so that a sample lasts at least
    ``min_sample_s`` (so small sizes are not lost in the timer's resolution).
    A DANN-step sample (``macro_*``) runs the step until it lasts ``macro_sample_s``;
    ``import_repeats`` fresh processes import each module (:mod:`benchmarks.imports`).
    ``torch_backend`` is the ``torch.compile`` backend of the compiled mode; ``clock`` is
    what a sample measures (:data:`benchmarks.timing.CLOCKS`).
    """

    sizes: tuple[int, ...]
    dtypes: tuple[str, ...]
    modes: tuple[str, ...]
    repeats: int
    min_sample_s: float
    macro_repeats: int
    macro_sample_s: float
    schedule_steps: int
    memory_size: int
    import_repeats: int
    quick: bool
    torch_backend: str = "inductor"
    clock: str = "cpu"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Settings:
        fields = {**data}
        for key in ("sizes", "dtypes", "modes"):
            fields[key] = tuple(fields[key])
        return cls(**fields)


FULL = Settings(
    sizes=(1_000, 30_000, 1_000_000, 30_000_000),
    dtypes=("float32", "bfloat16"),
    modes=("eager", "compiled"),
    repeats=5,
    min_sample_s=0.02,
    macro_repeats=25,
    macro_sample_s=0.05,
    schedule_steps=1_000,
    memory_size=1_000_000,
    import_repeats=7,
    quick=False,
)

QUICK = Settings(
    sizes=(1_000, 20_000),
    dtypes=("float32", "bfloat16"),
    modes=("eager", "compiled"),
    repeats=2,
    min_sample_s=0.0,
    macro_repeats=1,
    macro_sample_s=0.0,
    schedule_steps=30,
    memory_size=20_000,
    import_repeats=1,
    quick=True,
    # Structure, not speed: aot_eager traces and differentiates exactly what inductor
    # would, without a C++ compile per graph.
    torch_backend="aot_eager",
)
