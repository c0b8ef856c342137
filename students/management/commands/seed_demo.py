import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext

from kongchuo import plugins
from kongchuo.calendar.schoolyear import school_year_of, today
from students.demo import create_demo_users, seed_county, seed_new_intake
from students.models import School, Student


class Command(BaseCommand):
    help = "Build a synthetic Huoqiu-like demo county (deterministic for --seed) and demo users."

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=20000)
        parser.add_argument("--seed", type=int, default=2023)
        parser.add_argument("--password", default="kongchuo-demo")
        parser.add_argument("--if-empty", action="store_true",
                            help="do nothing when the database already holds schools")

    def handle(self, *args, students, seed, password, if_empty, **opts):
        if School.objects.exists() or Student.objects.exists():
            if if_empty:
                self.stdout.write(gettext("数据库已有数据，跳过演示数据"))
                return
            raise CommandError(gettext("数据库已有学校或学生数据，请使用空数据库"))
        if students < 1:
            raise CommandError(gettext("--students 须为正数"))
        t0 = time.perf_counter()
        # Last school year first, closed by the real rollover (its figures frozen), then this
        # year's newcomers and this year's ledgers, alerts and cases: the demo shows both years.
        last = school_year_of(today()) - 1
        result = seed_county(students=students, seed=seed, stdout=self.stdout, year=last)
        rng = random.Random(seed + 2)
        for seed_year_end in plugins.items("year_end_seeder"):
            seed_year_end(rng, self.stdout, last)
        seed_new_intake(random.Random(seed + 3), year=last + 1, stdout=self.stdout)
        rng = random.Random(seed + 1)
        for seed_app in plugins.items("seeder"):
            seed_app(rng, self.stdout)
        users = create_demo_users(password)
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # What autovacuum would do soon after: planner statistics, and the visibility map
            # the dashboards' index-only scans need. The demo is fast from its first page.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        took = time.perf_counter() - t0
        self.stdout.write(self.style.SUCCESS(
            gettext("演示县已生成：%(townships)d 个乡镇，%(schools)d 所学校，%(students)d 名学生，"
                    "%(census)d 名户籍儿童，%(changes)d 条学籍变动，用时 %(seconds).1f 秒") % {
                "townships": result.townships, "schools": result.schools, "students": result.students,
                "census": result.census, "changes": result.status_changes, "seconds": took}))
        self.stdout.write(gettext("演示账号（密码：%(password)s）：") % {"password": password})
        for username, label in users:
            self.stdout.write(f"  {username:<14} {label}")
