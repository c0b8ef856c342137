from django.conf import settings
from django.core.management.base import BaseCommand

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
            self.stderr.write("--days 不能为负数 / --days must not be negative")
            raise SystemExit(2)
        n = export_files_purge(days=days, dry_run=dry_run)
        orphans = orphan_files_purge(dry_run=dry_run)
        verb = "将删除 / would delete" if dry_run else "已删除 / deleted"
        self.stdout.write(f"{verb}: {n} 个导出文件 / export files older than {days} days")
        self.stdout.write(f"{verb}: {orphans} 个无主附件 / evidence or attachment files with no row")
