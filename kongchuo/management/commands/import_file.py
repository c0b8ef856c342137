"""`python manage.py import_file KIND FILE [--dry-run] [--skip-invalid] [--term 2024-spring]
[--list NAME] [--year YYYY] [--json]`: the operator's import, the same engine as the browser.

Exit codes: 0 written (or a clean dry run), 1 rows rejected and nothing written, 2 the file
cannot be read or is not of that kind (or the kind/options are wrong).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from kongchuo.imports.base import ImportRefused, all_kinds
from kongchuo.imports.cells import Text
from kongchuo.imports.pipeline import ImportResult, import_run
from kongchuo.imports.runner import import_job_create


class Command(BaseCommand):
    help = gettext_lazy("导入 Excel/CSV 文件（类型：schools、roster、returns、status_changes、census、"
                        "support、feedback）")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", help="schools | roster | returns | status_changes | census | support | feedback")
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="write the valid rows, skip the rest")
        parser.add_argument("--term", help="returns: term such as 2024-spring")
        parser.add_argument("--list", dest="list_name", help="support: poor | monitored | dibao | tekun | disability")
        parser.add_argument("--year", help="census: year (default: this year)")
        parser.add_argument("--due", help="feedback: verification due date (default: 30 days)")
        parser.add_argument("--user", help="import as this user (with that user's scope); default: operator")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        translation.activate(settings.LANGUAGE_CODE)
        lang = "en" if settings.LANGUAGE_CODE.startswith("en") else "zh"
        user = None
        if opts["user"]:
            from django.contrib.auth import get_user_model

            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(gettext("用户不存在：%(user)s") % {"user": opts["user"]})
        options = {k: v for k, v in {"term": opts["term"], "list": opts["list_name"],
                                     "year": opts["year"], "due": opts["due"]}.items() if v}
        path = Path(opts["file"])
        try:
            if not path.is_file():
                raise ImportRefused("file_missing", Text(gettext_noop("文件不存在：%(path)s"), path=str(path)))
            job = import_job_create(kind=opts["kind"], user=user, source=path, filename=path.name,
                                    options=options, origin="cli")
            result = import_run(kind=opts["kind"], path=job.file.path, user=user, options=options,
                                dry_run=opts["dry_run"], skip_invalid=opts["skip_invalid"], job=job,
                                filename=path.name, lang=lang)
        except ImportRefused as exc:
            self._refused(exc, opts, lang)
            sys.exit(exc.exit_code)
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_json(lang), ensure_ascii=False, default=str))
        else:
            self._report(result, lang)
        if result.exit_code:
            sys.exit(result.exit_code)

    def _refused(self, exc: ImportRefused, opts: dict[str, Any], lang: str) -> None:
        if opts["json"]:
            self.stdout.write(json.dumps({"kind": opts["kind"], "file_error": {
                "code": exc.code, "message": exc.message(lang)}, "written": False,
                "kinds": [k.slug for k in all_kinds()]}, ensure_ascii=False))
        else:
            self.stderr.write(exc.message(lang))

    def _report(self, r: ImportResult, lang: str) -> None:
        """The plain report, in the language `handle` activated (the site's)."""
        if r.file_error:
            self.stderr.write(r.file_error[1].render(lang))
            return
        extra = " ".join(f"{k}={v}" for k, v in r.extra.items() if isinstance(v, int))
        self.stdout.write(
            (f"{r.kind}: rows={r.rows} created={r.created} updated={r.updated} unchanged={r.unchanged} "
             f"skipped={r.skipped} rejected={r.rejected} {extra}").rstrip())
        for e in r.errors[:50]:
            where = gettext("第%(row)s行") % {"row": e.row}
            self.stdout.write(f"  {where} [{e.column}] {e.code}: {e.message(lang)}")
        if len(r.errors) > 50:
            self.stdout.write("  " + gettext("…另有 %(count)s 条") % {"count": len(r.errors) - 50})
        if r.written:
            note = gettext("已写入")
            if r.same_as and not r.created and not r.updated:
                note += gettext("（与导入记录 #%(job)s 为同一文件，无变化）") % {"job": r.same_as}
        elif r.dry_run:
            note = gettext("试运行：未写入")
        else:
            note = gettext("有错误行：未写入任何数据")
        self.stdout.write(note)
