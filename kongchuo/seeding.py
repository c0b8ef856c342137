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


_YEAR_END: list[tuple[int, Callable]] = []


def register_year_end_seeder(func: Callable, order: int = 100) -> None:
    """`func(rng, stdout, year) -> None`: run when `seed_demo` closes the demo county's previous
    school year `year` (the core county of that year exists; the new year's intake follows)."""
    if all(f is not func for _, f in _YEAR_END):
        _YEAR_END.append((order, func))


def run_year_end_seeders(rng, stdout, year: int) -> None:
    for _, func in sorted(_YEAR_END, key=lambda s: s[0]):
        func(rng, stdout, year)
