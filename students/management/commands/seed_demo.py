import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

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
                self.stdout.write("数据库已有数据，跳过演示数据 / database not empty, demo seed skipped")
                return
            raise CommandError("数据库已有学校或学生数据，请使用空数据库 / the database already holds "
                               "schools or students; seed an empty database")
        if students < 1:
            raise CommandError("--students must be positive")
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
            f"演示县已生成 / demo county seeded: {result.townships} 乡镇, {result.schools} 学校, "
            f"{result.students} 学生, {result.census} 户籍儿童, {result.status_changes} 学籍变动 "
            f"in {took:.1f}s"))
        self.stdout.write(f"演示账号 / demo logins (password: {password}):")
        for username, label in users:
            self.stdout.write(f"  {username:<14} {label}")
