"""The student page's panels contributed by apps above the one that owns the page.

Each app registers `func(request, student) -> dict | None` in the "student_panel" slot
(kongchuo.plugins); each dict has `title` and `template` (+ context). A lower app never imports a
higher one: the page asks the registry.
"""

from __future__ import annotations

from kongchuo import plugins


def panels_for_student(request, student) -> list[dict]:
    panels = (panel(request, student) for panel in plugins.items("student_panel"))
    return [panel for panel in panels if panel]
