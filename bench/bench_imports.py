#!/usr/bin/env python
"""Roster import speed at county scale (issue 3), on PostgreSQL.

A generated 学籍 roster (default 200,000 rows, 22 columns, title rows, a 合计 footer, blank
rows and the quirks of real exports: full-width digits, U+3000, apostrophes, lower-case x,
every date/grade/是否 spelling) is imported

- by this portal's engine (`manage.py import_file roster …`: sniff, row guard, read in the
  reader process, validate, diff, upsert with simple_history rows, Job row, audit) — first import (into the emptied
  table, by the same staging and merge as every re-import: students/imports/roster_pg.py), then a
  re-import of the same roster with 1% of the rows changed, then the same file again (a no-op);
- by django-import-export's fastest documented configuration (ModelResource with use_bulk,
  batch_size, skip_diff and force_init_instance for the first import; use_bulk with
  skip_unchanged and CachedInstanceLoader for the re-import) on the same rows. It is handed
  the rows already read by python-calamine (its own xlsx reader takes row 1 as the header) and
  widgets calling the same normalisers, so it produces the same students — but writes no
  history rows (bulk_create sends no signals). Measured on IE_ROWS rows (default 20,000: at
  200,000 it takes minutes) next to this engine on the same smaller file, so the ratio compares
  equal work; the 200,000-row figure is extrapolated linearly and marked so;
- by the floor: python-calamine reading the sheet and COPY of every cell as text into a bare
  UNLOGGED table (no row guard, no validation, no indexes, no history).
- and the database alone writing the first import's students and history rows again from a copy
  in the database (bench/write_floor.py): with calamine's read of the sheet, what any first load
  through staging and merge pays before it checks a row.

The floor and the two first imports (200,000 rows, and ours against import-export's at 20,000)
run IMPORT_BENCH_REPEAT times (default 5), interleaved, and the ratios are taken on their
medians: on this 2-core machine one run of the same import varies by ±0.3 s, and the machine's
speed drifts (seen: a floor of 4.25 s next to 3.47 s in the same bench run). Each floor run is
followed by a first import, so the ratio within each such pair is printed as well.

Each measurement runs in its own process, so peak memory (VmHWM) is the phase's own; an import
of a big workbook also forks a reader process (kongchuo/imports/reader.py), whose peak and CPU
are reported with it. Beside wall time it reports CPU time = this process + its reader + its
PostgreSQL backend (read from /proc; the parallel workers of an index build are not counted),
which a busy shared machine inflates much less; ratios are given for both. The import's peak
memory with all its readers (Pss) is sampled in a run of its own and in the re-imports, never in
the timed first imports: reading smaps_rollup of three processes every 250 ms costs the import
~0.2 s of CPU, which the floor would not pay.

Runs on its own database IMPORT_BENCH_URL (default
postgres://postgres@127.0.0.1:5432/kongchuo_import_bench), created and migrated on first use;
the generated files are cached in IMPORT_BENCH_CACHE (default $TMPDIR/kongchuo_import_bench).
Pinyin initials for name search are part of the import (written with the rows); the bench
checks that none is left empty.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb import database_create  # bench/ is the script's folder: on sys.path
from browser_roster import SCHOOL_ROWS, phase_browser, school_students
from meters import Meter, PssSampler
from write_floor import phase_write_floor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_URL = os.environ.get("IMPORT_BENCH_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_import_bench")
ROWS = int(os.environ.get("IMPORT_BENCH_ROWS", "200000"))
IE_ROWS = int(os.environ.get("IMPORT_BENCH_IE_ROWS", "20000"))
REPEAT = int(os.environ.get("IMPORT_BENCH_REPEAT", "5"))  # runs of the floor and of each first import
CACHE = Path(os.environ.get("IMPORT_BENCH_CACHE", Path(tempfile.gettempdir()) / "kongchuo_import_bench"))
SQLITE_URL = f"sqlite:///{CACHE / 'bench.sqlite3'}"
# A phase on the embedded default (SQLite) runs with IMPORT_BENCH_ON_SQLITE=1.
os.environ["DATABASE_URL"] = SQLITE_URL if os.environ.get("IMPORT_BENCH_ON_SQLITE") else BENCH_URL
os.environ.pop("REDIS_URL", None)  # nothing is queued; the cache stays in local memory
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# A 200,000-row roster with these 22 columns is ~26 MB zipped (the default cap is 20 MB).
os.environ.setdefault("KONGCHUO_UPLOAD_MAX_BYTES", str(64 * 1024 * 1024))
os.environ.setdefault("MEDIA_ROOT", str(CACHE / "media"))
GEN_VERSION = 3
GOALS = {"first_vs_ie": 5.0, "first_vs_floor": 2.5, "reimport_vs_floor": 2.0, "reimport_vs_ie": 10.0,
         "peak_mb": 600}

HEADER = ["序号", "学校标识码", "学校名称", "年级", "班级", "姓名", "性别", "出生日期", "身份证件类型",
          "身份证件号", "全国学籍号", "户口所在地", "现住址", "监护人姓名", "监护人联系电话",
          "是否建档立卡贫困户", "是否低保", "是否特困供养", "残疾人类型", "是否留守儿童",
          "是否进城务工人员随迁子女", "入学年月"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲真环雪荣爱香月媛瑞凡佳嘉琼勤珍莉叶璐娅琦晶妍茜秋珊莎锦青倩婷婉娴瑾颖露瑶怡雁蓓仪荷丹蓉君琴蕊薇菁梦岚婕馨韵园艺卿聪澜悦昭冰爽茗羽希宁欣育滢筠柔竹凝晓欢霄枫芸菲寒伊亚宜可舒思子轩浩宇梓涵"
GRADE_SPELLINGS = [["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级"],
                   [1, 2, 3, 4, 5, 6, "初一", "初二", "初三"], ["1", "2", "3", "4", "5", "6", "7", "8", "9"]]
YES, NO = ["是", "√", "Y", "1", 1], ["否", "×", "N", "0", 0, "", ""]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


# --------------------------------------------------------------------------- the roster files


def schools() -> list[tuple[str, str, int]]:
    return [(f"21341{t:02d}{s:03d}", f"霍邱县第{t}镇第{s}学校", t) for t in range(30) for s in range(10)]


def make_students(n: int, seed: int = 1) -> list[dict]:
    from kongchuo.access.idnumbers import make_id

    rng, sch, seen, out = random.Random(seed), schools(), set(), []
    while len(out) < n:
        school, grade = rng.choice(sch), rng.randint(1, 9)
        birth = dt.date(2024 - 6 - grade, 9, 1) + dt.timedelta(days=rng.randint(0, 364))
        idn = make_id("341522", birth, rng.randint(0, 999))
        if idn in seen:
            continue
        seen.add(idn)
        out.append({
            "school": school, "grade": grade, "cls": f"{rng.randint(1, 6)}班",
            "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2]))),
            "sex": "男" if int(idn[16]) % 2 else "女", "birth": birth, "id": idn, "sn": "G" + idn,
            "hukou": f"安徽省霍邱县第{school[2]}镇{rng.choice(GIVEN)}{rng.choice(GIVEN)}村",
            "addr": f"霍邱县第{school[2]}镇{rng.randint(1, 300)}号",
            "guardian": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            "phone": f"1{rng.randint(3000000000, 9999999999)}",
            "poor": rng.random() < 0.08, "dibao": rng.random() < 0.05, "tekun": rng.random() < 0.01,
            "dis": rng.choice(["视力残疾", "听力残疾", "智力残疾"]) if rng.random() < 0.01 else "",
            "left": rng.random() < 0.2, "migrant": rng.random() < 0.05, "entry": (2024 - grade, 9),
        })
    return out


def change_one_percent(students: list[dict], seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    out = [dict(s) for s in students]
    for i in rng.sample(range(len(out)), max(1, len(out) // 100)):
        out[i]["phone"] = f"1{rng.randint(3000000000, 9999999999)}"
        out[i]["cls"] = f"{rng.randint(7, 9)}班"
    return out


def write_roster(path: Path, students: list[dict], seed: int = 2) -> None:
    import xlsxwriter

    rng = random.Random(seed)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    ws = wb.add_worksheet("Sheet1")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_string(0, 0, "霍邱县2024年秋季学期义务教育学生名册")
    ws.write_string(1, 0, "导出单位：霍邱县教育局 学籍管理系统  导出日期：2024-10-08")
    for c, h in enumerate(HEADER):
        ws.write_string(2, c, h)
    r = 3
    for k, s in enumerate(students):
        if rng.random() < 0.002:
            r += 1  # a blank row
        idv, birth = s["id"], s["birth"]
        q = rng.random()
        if q < 0.01:
            idv = idv.translate(FULL_WIDTH)
        elif q < 0.02:
            idv = "'" + idv
        elif q < 0.03:
            idv = idv[:6] + "\u3000" + idv[6:]
        elif q < 0.04:
            idv = idv.lower()
        q = rng.random()
        if q < 0.05:
            birth = f"{birth.year}/{birth.month}/{birth.day}"
        elif q < 0.08:
            birth = birth.strftime("%Y%m%d")
        elif q < 0.10:
            birth = f"{birth.year}年{birth.month}月{birth.day}日"
        elif q < 0.12:
            birth = birth.strftime("%Y.%m.%d")
        ey, em = s["entry"]

        def yn(flag):
            return rng.choice(YES) if flag else rng.choice(NO)

        values = [k + 1, s["school"][0], s["school"][1], rng.choice(GRADE_SPELLINGS)[s["grade"] - 1],
                  s["cls"], s["name"], s["sex"], birth, "居民身份证", idv, s["sn"], s["hukou"], s["addr"],
                  s["guardian"], s["phone"], yn(s["poor"]), yn(s["dibao"]), yn(s["tekun"]), s["dis"],
                  yn(s["left"]), yn(s["migrant"]),
                  rng.choice([f"{ey}-{em:02d}", f"{ey}{em:02d}", f"{ey}年{em}月"])]
        for c, v in enumerate(values):
            if isinstance(v, dt.date):
                ws.write_datetime(r, c, v, date_fmt)
            elif isinstance(v, int | float):
                ws.write_number(r, c, v)
            elif v != "":
                ws.write_string(r, c, v)
        r += 1
    ws.write_string(r, 0, "合计")
    ws.write_string(r, 5, f"{len(students)}人")
    wb.close()


def roster_files(n: int) -> tuple[Path, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    first, changed = CACHE / f"roster_{n}_v{GEN_VERSION}.xlsx", CACHE / f"roster_{n}_v{GEN_VERSION}_1pct.xlsx"
    if not (first.exists() and changed.exists()):
        print(f"generating {n:,}-row rosters in {CACHE} (once) …", flush=True)
        students = make_students(n)
        write_roster(first, students)
        write_roster(changed, change_one_percent(students))
    return first, changed


# --------------------------------------------------------------------------- the database


def ensure_database(sqlite: bool = False) -> None:

    if sqlite:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
                       check=True, cwd=ROOT, env={**os.environ, "DATABASE_URL": SQLITE_URL})
        return

    database_create(BENCH_URL)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"], check=True,
                   cwd=ROOT, env=os.environ.copy())


def setup_django():
    import django

    django.setup()
    from django.db import connection

    return connection


def reset_students() -> None:
    """Empty the student tables (and whatever references them) and make the 300 schools."""
    from django.db import connection

    from students.models import School, Township

    tables = ["students_statuschange", "students_historicalstudent", "students_rostergap", "students_termroster",
              "students_student", "kongchuo_job"]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cur.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
    if School.objects.count() != 300:
        with connection.cursor() as cur:
            for table in ("students_school", "students_township"):
                cur.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        towns = Township.objects.bulk_create([Township(code=f"3415222{t:02d}", name=f"第{t}镇")
                                              for t in range(30)])
        School.objects.bulk_create([School(code=code, name=name, township=towns[t], kind="primary")
                                    for code, name, t in schools()])


# --------------------------------------------------------------------------- phases (subprocesses)


def phase_floor(path: str) -> dict:
    """python-calamine + COPY of every cell as text into a bare UNLOGGED table."""
    connection = setup_django()
    from python_calamine import CalamineWorkbook

    from kongchuo.imports.bulk import pg_copy_lines

    width = len(HEADER)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_bare_roster")
        cur.execute("CREATE UNLOGGED TABLE bench_bare_roster ("
                    + ", ".join(f"c{i} text" for i in range(width)) + ")")
    meter = Meter(connection)
    with meter:
        sheet = CalamineWorkbook.from_path(path).get_sheet_by_name("Sheet1")
        read = time.perf_counter() - meter.w0  # calamine holds the whole sheet before a row is yielded
        pad = [""] * width

        def lines():
            for row in sheet.iter_rows():
                if len(row) < width:
                    row = row + pad[len(row):]
                yield "\t".join([v if v.__class__ is str else str(v) for v in row[:width]]
                                ).replace("\\", "\\\\") + "\n"

        pg_copy_lines("bench_bare_roster", [f"c{i}" for i in range(width)], lines(),
                      options="(FORMAT text, NULL '')")
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM bench_bare_roster")
        rows = cur.fetchone()[0]
        cur.execute("DROP TABLE bench_bare_roster")
    return {**meter.as_dict(), "rows": rows, "read": round(read, 2)}


def phase_ours(path: str, reset: bool, sample: bool = False) -> dict:
    """The operator path: manage.py import_file roster FILE --json; with `sample`, its memory
    sampled (PssSampler), which the timed runs leave out: the sampling costs the import ~0.2 s
    of CPU and 0.06-0.15 s of wall time on a county roster (3 interleaved pairs), a cost the
    floor does not pay."""
    connection = setup_django()
    import io

    from django.core.management import call_command

    if reset:
        reset_students()
    meter = Meter(connection)
    out = io.StringIO()
    sampler = PssSampler() if sample else None
    with meter, sampler or contextlib.nullcontext():
        try:
            call_command("import_file", "roster", path, "--json", stdout=out)
        except SystemExit as exc:
            if exc.code:
                raise
    data = json.loads(out.getvalue())
    from students.models import Student

    return {**meter.as_dict(), "pss_peak_mb": round(sampler.peak / 1024) if sampler else None,
            "rows": data["rows"], "created": data["created"], "updated": data["updated"],
            "unchanged": data["unchanged"], "rejected": data["rejected"], "students": Student.objects.count(),
            "history": Student.history.count(),
            "no_initials": Student.objects.filter(name_initials="").count()}


def _ie_resource(first: bool):
    from import_export import fields, resources, widgets
    from import_export.instance_loaders import CachedInstanceLoader

    from kongchuo.imports import cells
    from students.models import School, Student

    codes = dict(School.objects.values_list("code", "pk"))

    class Fn(widgets.Widget):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def clean(self, value, row=None, **kwargs):
            return self.fn(value)

    class SchoolByCode(widgets.Widget):
        def clean(self, value, row=None, **kwargs):
            return School(pk=codes[str(value)])

    def text(v):
        return cells.parse_text(v)

    def ym(v):
        got = cells.parse_year_month(v)
        return dt.date(got[0], got[1], 1) if got else None

    spec = {"school": ("学校标识码", SchoolByCode()), "grade": ("年级", Fn(cells.parse_grade)),
            "class_name": ("班级", Fn(text)), "name": ("姓名", Fn(text)), "sex": ("性别", Fn(cells.parse_sex)),
            "birth_date": ("出生日期", Fn(cells.parse_date)), "id_number": ("身份证件号", Fn(cells.parse_id)),
            "student_number": ("全国学籍号", Fn(text)), "hukou_address": ("户口所在地", Fn(text)),
            "address": ("现住址", Fn(text)), "guardian_name": ("监护人姓名", Fn(text)),
            "guardian_phone": ("监护人联系电话", Fn(text)), "is_poor": ("是否建档立卡贫困户", Fn(cells.parse_bool)),
            "is_dibao": ("是否低保", Fn(cells.parse_bool)), "is_tekun": ("是否特困供养", Fn(cells.parse_bool)),
            "disability_category": ("残疾人类型", Fn(text)), "is_left_behind": ("是否留守儿童", Fn(cells.parse_bool)),
            "is_migrant": ("是否进城务工人员随迁子女", Fn(cells.parse_bool)), "entry_month": ("入学年月", Fn(ym))}
    attrs = {name: fields.Field(attribute=name, column_name=col, widget=w) for name, (col, w) in spec.items()}
    meta = {"model": Student, "import_id_fields": ("id_number",), "fields": tuple(spec),
            "use_bulk": True, "batch_size": 1000, "skip_html_diff": True, "use_transactions": True}
    if first:
        meta.update(skip_diff=True, force_init_instance=True)
    else:
        meta.update(skip_unchanged=True, skip_diff=False, instance_loader_class=CachedInstanceLoader)
    attrs["Meta"] = type("Meta", (), meta)
    return type("StudentResource", (resources.ModelResource,), attrs)()


def phase_ie(path: str, first: bool) -> dict:
    """django-import-export on the same rows, handed over already read by python-calamine;
    its own reading of the file (tablib + openpyxl, skip_lines for the title rows) is timed
    separately in the same process."""
    connection = setup_django()
    import tablib
    from python_calamine import CalamineWorkbook

    if first:
        reset_students()
    resource_ = _ie_resource(first)
    meter = Meter(connection)
    with meter:
        rows = CalamineWorkbook.from_path(path).get_sheet_by_name("Sheet1").to_python()
        header = [str(h) for h in rows[2]]
        data = tablib.Dataset(headers=header)
        for row in _ie_data_rows(rows[3:]):
            data.append(list(row) + [""] * (len(header) - len(row)))
        result = resource_.import_data(data, dry_run=False, raise_errors=True)
    own = Meter(connection)
    with own, open(path, "rb") as fh:  # its own reader, for the record
        loaded = tablib.Dataset().load(fh, format="xlsx", skip_lines=2)
        kept = list(_ie_data_rows(loaded))
    totals = result.totals
    from students.models import Student

    return {**meter.as_dict(), "rows": len(data), "created": totals.get("new", 0),
            "updated": totals.get("update", 0), "unchanged": totals.get("skip", 0),
            "students": Student.objects.count(), "history": Student.history.count(),
            "own_reader_wall": round(own.wall, 2), "own_reader_cpu": round(own.cpu, 2),
            "own_reader_rows": len(kept)}


def _ie_data_rows(rows):
    """Drop what import-export would choke on: blank rows and the 合计 footer."""
    from kongchuo.imports import tabular

    for row in rows:
        first_cell = next((v for v in row if v not in ("", None)), None)
        if first_cell is None or tabular.normalize_label(first_cell).startswith("合计"):
            continue
        yield row


def run_phase(*args: str, sqlite: bool = False) -> dict:
    env = os.environ.copy()
    if sqlite:
        env["IMPORT_BENCH_ON_SQLITE"] = "1"
    proc = subprocess.run([sys.executable, __file__, "--phase", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"phase {args} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report


def median_of(runs: list[dict]) -> dict:
    """The figures of a repeated phase: the median wall time and the median CPU time (each
    taken on its own), the rest from the run with the median wall time."""
    by_wall = sorted(runs, key=lambda d: d["wall"])
    out = dict(by_wall[len(by_wall) // 2])
    for key in ("wall", "cpu", "db_cpu", "total_cpu"):
        out[key] = statistics.median(d[key] for d in runs)
    return out


def _spread(runs: list[dict]) -> str:
    walls = [d["wall"] for d in runs]
    return f"{min(walls):.2f}–{max(walls):.2f}"


def line(label: str, d: dict, extra: str = "") -> None:
    reader = f" + reader {d['reader_peak_mb']:4d}" if d.get("reader_peak_mb") else ""
    print(f"  {label:44s} wall {d['wall']:7.2f} s   cpu {d['cpu']:6.2f} + db {d['db_cpu']:6.2f} = "
          f"{d['total_cpu']:6.2f} s   peak {d['peak_mb']:4d}{reader} MB  {extra}", flush=True)


def ratio(a: dict, b: dict) -> str:
    return f"{b['wall'] / a['wall']:.1f}× wall, {b['total_cpu'] / a['total_cpu']:.1f}× cpu"


def main() -> int:
    print(f"roster import bench: {ROWS:,} rows (import-export on {IE_ROWS:,}), PostgreSQL "
          f"{BENCH_URL.rsplit('/', 1)[-1]}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
          flush=True)
    ensure_database()
    big, big_changed = roster_files(ROWS)
    small, small_changed = roster_files(IE_ROWS)
    print(f"  files: {big.name} {big.stat().st_size / 2**20:.1f} MB, {small.name} "
          f"{small.stat().st_size / 2**20:.1f} MB", flush=True)

    # The two contested comparisons run REPEAT times, interleaved, and are judged on medians.
    floors, firsts = [], []
    for _ in range(REPEAT):
        floors.append(run_phase("floor", str(big)))
        line(f"floor: calamine + COPY ({ROWS:,})", floors[-1], f"rows {floors[-1]['rows']:,}")
        firsts.append(run_phase("ours", str(big), "reset"))
        line(f"ours: first import ({ROWS:,})", firsts[-1], f"created {firsts[-1]['created']:,} rejected "
             f"{firsts[-1]['rejected']} history {firsts[-1]['history']:,}")
    floor, first = median_of(floors), median_of(firsts)
    writes = [run_phase("write_floor") for _ in range(REPEAT)]  # on the last first import's rows
    write = median_of(writes)
    line(f"the database alone: write {write['rows']:,} again", write,
         f"students {write['students']:.2f} + history {write['history']:.2f} + commit {write['commit']:.2f} s")
    sampled = run_phase("ours", str(big), "reset", "pss")
    line(f"ours: first import ({ROWS:,}), memory sampled", sampled, f"Pss {sampled['pss_peak_mb']} MB")
    again = run_phase("ours", str(big_changed), "keep", "pss")
    line("ours: re-import, 1% changed", again, f"updated {again['updated']:,} unchanged {again['unchanged']:,}")
    same = run_phase("ours", str(big_changed), "keep", "pss")
    line("ours: the same file again", same, f"updated {same['updated']} unchanged {same['unchanged']:,}")

    ie_firsts, small_firsts = [], []
    for _ in range(REPEAT):
        ie_firsts.append(run_phase("ie", str(small), "first"))
        line(f"import-export: first import ({IE_ROWS:,})", ie_firsts[-1],
             f"created {ie_firsts[-1]['created']:,} history {ie_firsts[-1]['history']:,}")
        small_firsts.append(run_phase("ours", str(small), "reset"))
        line(f"ours: first import ({IE_ROWS:,})", small_firsts[-1], f"created {small_firsts[-1]['created']:,}")
    ie_first, small_first = median_of(ie_firsts), median_of(small_firsts)
    print(f"  {'  (+ import-export reading with tablib/openpyxl)':44s} wall {ie_first['own_reader_wall']:7.2f} s   "
          f"cpu {ie_first['own_reader_cpu']:6.2f}", flush=True)
    small_again = run_phase("ours", str(small_changed), "keep")  # on our last first import
    line(f"ours: re-import 1% ({IE_ROWS:,})", small_again, f"updated {small_again['updated']:,}")
    ie_state = run_phase("ie", str(small), "first")  # import-export's re-import starts from its own
    ie_again = run_phase("ie", str(small_changed), "again")
    line(f"import-export: re-import 1% ({IE_ROWS:,})", ie_again,
         f"updated {ie_again['updated']:,} skipped {ie_again['unchanged']:,}")
    print(f"  medians of {REPEAT}: floor {floor['wall']:.2f} s ({_spread(floors)}), first import "
          f"{first['wall']:.2f} s ({_spread(firsts)}); at {IE_ROWS:,}: import-export {ie_first['wall']:.2f} s "
          f"({_spread(ie_firsts)}), ours {small_first['wall']:.2f} s ({_spread(small_firsts)})", flush=True)
    del ie_state
    sqlite_first = sqlite_again = None
    if os.environ.get("IMPORT_BENCH_SQLITE", "1") == "1":
        ensure_database(sqlite=True)
        sqlite_first = run_phase("ours", str(big), "reset", sqlite=True)
        line(f"SQLite: first import ({ROWS:,})", sqlite_first, f"created {sqlite_first['created']:,}")
        sqlite_again = run_phase("ours", str(big_changed), "keep", sqlite=True)
        line("SQLite: re-import, 1% changed", sqlite_again, f"updated {sqlite_again['updated']:,}")

    school_file = CACHE / f"roster_school_{SCHOOL_ROWS}_v{GEN_VERSION}.xlsx"
    if not school_file.exists():
        write_roster(school_file, school_students(make_students, schools()[0]))
    school_floor = run_phase("floor", str(school_file))
    browser = {"PostgreSQL": run_phase("browser", str(school_file))}
    if os.environ.get("IMPORT_BENCH_SQLITE", "1") == "1":
        browser["SQLite"] = run_phase("browser", str(school_file), sqlite=True)
    print(f"  a school's roster through the browser ({SCHOOL_ROWS:,} rows, {browser['PostgreSQL']['file_kb']} KB;"
          f" floor {school_floor['wall']:.2f} s):")
    for name, b in browser.items():
        print(f"    {name:10s} upload → preview {b['preview']:5.2f} s ({b['preview'] / school_floor['wall']:.1f}×"
              f" floor)   confirm → done {b['done']:5.2f} s ({b['done'] / school_floor['wall']:.1f}× floor)"
              f"   created {b['created']:,} of {b['rows']:,}   (goal each < 1 s)", flush=True)

    scale = ROWS / IE_ROWS
    print("\nratios (higher is better for us; wall time / CPU time):")
    print(f"  first import vs import-export, same {IE_ROWS:,} rows:  {ratio(small_first, ie_first)}"
          f"   (goal ≥ {GOALS['first_vs_ie']:.0f}×)")
    with_reader = {"wall": ie_first["wall"] + ie_first["own_reader_wall"],
                   "total_cpu": ie_first["total_cpu"] + ie_first["own_reader_cpu"]}
    print(f"    … with import-export reading the file itself:     {ratio(small_first, with_reader)}")
    print(f"  re-import 1% vs import-export, same {IE_ROWS:,} rows: {ratio(small_again, ie_again)}"
          f"   (goal ≥ {GOALS['reimport_vs_ie']:.0f}×)")
    est_first = {k: ie_first[k] * scale for k in ("wall", "total_cpu")}
    est_again = {k: ie_again[k] * scale for k in ("wall", "total_cpu")}
    print(f"  import-export at {ROWS:,} (extrapolated ×{scale:.0f}): first ~{est_first['wall']:.0f} s wall "
          f"/ {est_first['total_cpu']:.0f} s cpu → ours {est_first['wall'] / first['wall']:.1f}× / "
          f"{est_first['total_cpu'] / first['total_cpu']:.1f}×; re-import ~{est_again['wall']:.0f} s → ours "
          f"{est_again['wall'] / again['wall']:.1f}× / {est_again['total_cpu'] / again['total_cpu']:.1f}×")
    # Two decimals: the goal is close, and 2.04 printed as "2.0" would hide a miss.
    to_floor = first['wall'] / floor['wall']
    verdict = "met" if to_floor <= GOALS["first_vs_floor"] else "MISSED"
    print(f"  first import vs the floor ({ROWS:,}): {to_floor:.2f}× wall, "
          f"{first['total_cpu'] / floor['total_cpu']:.1f}× cpu   (goal within {GOALS['first_vs_floor']:.1f}×: {verdict})")
    pairs = sorted(b["wall"] / a["wall"] for a, b in zip(floors, firsts, strict=True))
    print(f"    the same within each pair (a floor, then a first import), sorted: "
          f"{', '.join(f'{r:.2f}×' for r in pairs)}; median {pairs[len(pairs) // 2]:.2f}×")
    read = statistics.median(d["read"] for d in floors)
    bound = read + write["wall"]
    print(f"    what a first load pays before it checks a row, on this machine: calamine's read {read:.2f} s +"
          f" the database alone {write['wall']:.2f} s = {bound:.2f} s = {bound / floor['wall']:.2f}× the floor")
    again_to_floor = again['wall'] / floor['wall']
    print(f"  re-import 1% vs the floor ({ROWS:,}): {again_to_floor:.2f}× wall, "
          f"{again['total_cpu'] / floor['total_cpu']:.1f}× cpu   (goal within {GOALS['reimport_vs_floor']:.0f}×: "
          f"{'met' if again_to_floor <= GOALS['reimport_vs_floor'] else 'MISSED'})")
    phases = (*firsts, sampled, again, same)
    peak = max(d["peak_mb"] for d in phases)
    reader = max(d.get("reader_peak_mb", 0) for d in phases)
    both = max(d["peak_mb"] + d.get("reader_peak_mb", 0) for d in phases)
    pss = max(d["pss_peak_mb"] for d in (sampled, again, same))
    print(f"  peak memory of an import: {pss} MB together (Pss of the importing process + its readers,"
          f" sampled)   (goal < {GOALS['peak_mb']} MB)")
    print(f"    each alone: importing process {peak} MB, a reader process {reader} MB (VmHWM; their sum {both} MB"
          f" counts the pages they share twice)")
    if sqlite_first:
        print(f"  SQLite (embedded default), {ROWS:,} rows: first {sqlite_first['wall']:.1f} s, re-import "
              f"{sqlite_again['wall']:.1f} s, peak {max(sqlite_first['peak_mb'], sqlite_again['peak_mb'])} MB")
    ok = (first["created"] + first["rejected"] == ROWS and again["updated"] >= ROWS // 100 * 0.9
          and same["updated"] == 0 and ie_first["created"] == IE_ROWS and first["no_initials"] == 0
          and all(b["created"] == SCHOOL_ROWS and b["phase"] == "written" for b in browser.values()))
    print("  counts check:", "ok" if ok else "UNEXPECTED COUNTS")
    print(f"  load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min)")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--phase":
        name, args = sys.argv[2], sys.argv[3:]
        if name == "floor":
            out = phase_floor(args[0])
        elif name == "ours":
            out = phase_ours(args[0], reset=args[1] == "reset", sample=args[2:] == ["pss"])
        elif name == "ie":
            out = phase_ie(args[0], first=args[1] == "first")
        elif name == "write_floor":
            connection = setup_django()
            out = phase_write_floor()
        elif name == "browser":
            setup_django()
            reset_students()
            out = phase_browser(args[0])
        else:
            raise SystemExit(f"unknown phase {name}")
        print(json.dumps(out))
        sys.exit(0)
    sys.exit(main())
