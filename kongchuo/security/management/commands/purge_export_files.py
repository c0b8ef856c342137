from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kongchuo.security.services import export_files_purge, orphan_files_purge


class Command(BaseCommand):
    help = ("Delete the files of export jobs finished more than --days ago (default "
            "KONGCHUO_EXPORT_RETENTION_DAYS; the job rows and their audit trail stay), and evidence or "
            "attachment files older than a day that no row refers to. Beat runs it daily.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None)
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args, days=None, dry_run=False, **opts):
        days = settings.KONGCHUO_EXPORT_RETENTION_DAYS if days is None else days
        if days < 0:
            self.stderr.write(_("--days 不能为负数"))
            raise SystemExit(2)
        n = export_files_purge(days=days, dry_run=dry_run)
        orphans = orphan_files_purge(dry_run=dry_run)
        if dry_run:
            self.stdout.write(_("将删除：%(n)s 个超过 %(days)s 天的导出文件") % {"n": n, "days": days})
            self.stdout.write(_("将删除：%(n)s 个无主附件") % {"n": orphans})
        else:
            self.stdout.write(_("已删除：%(n)s 个超过 %(days)s 天的导出文件") % {"n": n, "days": days})
            self.stdout.write(_("已删除：%(n)s 个无主附件") % {"n": orphans})
