"""Student-page panels contributed by higher apps (ledgers, retrieval) without students importing them.

An app registers `func(request, student) -> dict | None` in its AppConfig.ready(); each dict has
`title` and `template` (+ context). Lower apps never import higher ones; the page asks.
"""

from __future__ import annotations

from collections.abc import Callable

_PANELS: list[tuple[int, Callable]] = []


def register_student_panel(func: Callable, order: int = 100) -> None:
    if all(f is not func for _, f in _PANELS):
        _PANELS.append((order, func))


def panels_for_student(request, student) -> list[dict]:
    out = []
    for _, func in sorted(_PANELS, key=lambda p: p[0]):
        panel = func(request, student)
        if panel:
            out.append(panel)
    return out
