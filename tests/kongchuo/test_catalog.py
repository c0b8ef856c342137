"""The English catalog is complete: every source string is in it, translated, none fuzzy, and the
compiled .mo says the same as the .po. A new string without its English fails here, not in a
user's browser."""

from __future__ import annotations

import ast
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
SOURCES = ("kongchuo", "students", "ledgers", "retrieval", "dashboards", "templates")


def _entries(po: Path) -> list[dict]:
    """The entries of a PO file (msgctxt, msgid, msgid_plural, msgstr/msgstr[n], flags)."""
    entries, entry, key = [], {}, None
    for line in [*po.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry["flags"] = {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _sep, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return [e for e in entries if e["msgid"] and not e.get("obsolete")]


def _label(entry: dict) -> str:
    return entry["msgid"][:60]


def test_every_entry_is_translated_and_none_is_fuzzy():
    entries = _entries(PO)
    assert len(entries) > 1000  # the parser read the catalog
    fuzzy = [_label(e) for e in entries if "fuzzy" in e.get("flags", ())]
    untranslated = [_label(e) for e in entries
                    if not all(v for k, v in e.items() if k.startswith("msgstr"))]
    assert not fuzzy, f"fuzzy entries in {PO.name}: check and clear the flag: {fuzzy}"
    assert not untranslated, f"untranslated entries in {PO.name}: {untranslated}"


def test_compiled_catalog_matches_the_po():
    with PO.with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for e in _entries(PO):
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            got = compiled.ngettext(msgid, e["msgid_plural"], 1)
            want = e["msgstr[0]"]
        else:
            got, want = compiled.gettext(msgid), e["msgstr"]
        if got != want:
            stale.append(_label(e))
    assert not stale, f"django.mo is older than django.po; run compilemessages: {stale[:10]}"


def test_catalog_holds_every_source_string(tmp_path):
    """makemessages on a copy of the sources (the tracked catalog is never rewritten) adds no
    msgid the tracked catalog lacks."""
    root = Path(settings.BASE_DIR)
    for name in SOURCES:
        shutil.copytree(root / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(root / "manage.py", tmp_path / "manage.py")
    (tmp_path / PO.parent.relative_to(root)).mkdir(parents=True)
    shutil.copy(PO, tmp_path / PO.relative_to(root))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", "makemessages", "-l", "en", "--no-obsolete"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    fresh = {(e.get("msgctxt"), e["msgid"]) for e in _entries(tmp_path / PO.relative_to(root))}
    tracked = {(e.get("msgctxt"), e["msgid"]) for e in _entries(PO)}
    missing = sorted(m for _ctx, m in fresh - tracked)
    assert not missing, (
        "strings missing from the English catalog: run `make messages` and translate them: "
        f"{[m[:60] for m in missing]}")


def test_no_template_glues_a_translated_phrase_to_a_value():
    """A phrase and the value it speaks of are one catalog entry (blocktranslate), so each
    language orders and spaces them itself: `{{ county }}{% translate "控辍保学管理平台" %}`
    read "霍邱县Dropout Control …" in English and "7Grade" for 7年级."""
    import re

    glued = re.compile(r'\{% translate "[^"]*" %\}\{\{|\}\}\{% (block)?translate |endblocktranslate %\}\{\{')
    found = [f"{path.relative_to(settings.BASE_DIR)}:{n}"
             for path in sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if glued.search(line)]
    assert found == []
