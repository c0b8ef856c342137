"""kongchuo/'s machinery names no app, not even in a string: apps plug in (kongchuo/plugins.py).

Only the configuration names them (settings.py: INSTALLED_APPS; urls.py: the URL map).
Every other file under kongchuo/ is read, whatever its kind (code, templates, data), migrations
included: a migration that needed an app would tie kongchuo/ to it too.
"""

from __future__ import annotations

import re
from pathlib import Path

import kongchuo

ROOT = Path(kongchuo.__file__).parent
APP_NAMES = re.compile(r"\b(students|ledgers|retrieval|dashboards)\b")
CONFIGURATION = {"settings.py", "urls.py"}


def _machinery() -> list[Path]:
    return [path for path in sorted(ROOT.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".mo"}
            and path.relative_to(ROOT).as_posix() not in CONFIGURATION]


def test_the_machinery_names_no_app():
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in _machinery()
             for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if APP_NAMES.search(line)]
    assert found == []


def test_the_top_of_kongchuo_is_configuration():
    """Machinery lives in named subpackages; the top holds the project and Django's app root."""
    allowed = {"__init__.py", "settings.py", "urls.py", "celery.py", "wsgi.py", "apps.py", "models.py",
               "admin.py", "plugins.py"}
    assert {p.name for p in ROOT.glob("*.py")} <= allowed
