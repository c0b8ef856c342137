"""Demo-county seeding hooks: apps above `students` add their demo rows after the core is built."""

from __future__ import annotations

from collections.abc import Callable

_SEEDERS: list[tuple[int, Callable]] = []


def register_seeder(func: Callable, order: int = 100) -> None:
    """`func(rng: random.Random, stdout) -> None`, run after the core demo county exists."""
    if all(f is not func for _, f in _SEEDERS):
        _SEEDERS.append((order, func))


def run_seeders(rng, stdout) -> None:
    for _, func in sorted(_SEEDERS, key=lambda s: s[0]):
        func(rng, stdout)
