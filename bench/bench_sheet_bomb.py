#!/usr/bin/env python
"""Issue 15 finding 6: an over-long sheet is refused from the XML stream, fast and small.

Builds the attacker's workbook — ~12.7 MB of xlsx whose one sheet is ~314 MB of XML and
520,000 rows (a compression ratio of ~25, under the ratio guard) — and imports it as a roster
three times, each in a fresh process (SQLite database migrated once), as the operator (the
county cap, 500,000 rows) and as a school user (the school cap). Prints, per case, the median
and spread of the wall time until the refusal, its CPU time (this process and its reader
children: what a busy shared machine does not inflate) and the peak extra memory (the importing
process's peak RSS over its RSS before the import, plus any reader child's peak RSS).

    .venv/bin/python bench/bench_sheet_bomb.py [--rows 520000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         '</Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
       '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>')
_HEADER = ["学校标识码", "学校名称", "年级", "班级", "姓名", "身份证件号", "性别", "出生日期", "民族",
           "户口所在地", "现住址", "监护人姓名", "监护人电话", "入学日期", "全国学籍号", "备注"]


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def write_bomb(path: Path, rows: int) -> Path:
    """A roster-shaped sheet of `rows` data rows as Excel writes one (16 styled cells a row,
    text in the shared-string table, the ID typed as text): ~600 bytes of XML a row and ~25
    bytes zipped, the issue's 12.7 MB workbook of 314 MB sheet XML at 520,000 rows."""
    cols = "ABCDEFGHIJKLMNOP"
    shared = [*_HEADER, "3415220001", "甲镇东岗小学", "三年级", "周甲东", "男", "汉族", "霍邱县甲镇东岗村",
              "周某", "2015-05-06", "2021-09-01"]
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           f'count="{len(shared)}" uniqueCount="{len(shared)}">'
           + "".join(f"<si><t>{t}</t></si>" for t in shared) + "</sst>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        zf.writestr("[Content_Types].xml", _CT)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB)
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        zf.writestr("xl/sharedStrings.xml", sst)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                      b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            head = "".join(f'<c r="{c}1" s="1" t="s"><v>{i}</v></c>' for i, c in enumerate(cols))
            out.write(f'<row r="1" spans="1:16">{head}</row>'.encode())
            buf = []
            for n in range(2, rows + 2):
                cells = []
                for i, c in enumerate(cols):
                    if c == "F":  # the ID, typed as text
                        cells.append(f'<c r="F{n}" s="2" t="inlineStr"><is><t>34152220{n:010d}</t></is></c>')
                    elif c in "DN":  # class number, phone: numbers
                        cells.append(f'<c r="{c}{n}" s="3"><v>{2 if c == "D" else 13800000000 + n % 997}</v></c>')
                    else:
                        cells.append(f'<c r="{c}{n}" t="s"><v>{16 + i % 10}</v></c>')
                buf.append(f'<row r="{n}" spans="1:16">{"".join(cells)}</row>')
                if len(buf) == 5000:
                    out.write("".join(buf).encode())
                    buf = []
            out.write("".join(buf).encode())
            out.write(b"</sheetData></worksheet>")
    return path


_CHILD = r"""
import json, os, resource, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
import django
django.setup()
from kongchuo.imports.pipeline import import_run
from students.models import User

def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

user = User.objects.filter(username=sys.argv[2]).first() if sys.argv[2] != "-" else None
base = rss_mb()
t0, c0 = time.perf_counter(), time.process_time()
r = import_run(kind="roster", path=sys.argv[1], user=user, dry_run=True)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu += kids.ru_utime + kids.ru_stime
peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "cpu": cpu, "extra_mb": max(peak_self - base, 0) + peak_children,
                  "base_mb": base, "file_error": [str(x) for x in r.file_error or []]}, ensure_ascii=False))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=520_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        t0 = time.perf_counter()
        bomb = write_bomb(tmpdir / "bomb.xlsx", args.rows)
        with zipfile.ZipFile(bomb) as zf:
            xml = zf.getinfo("xl/worksheets/sheet1.xml").file_size
        print(f"workbook: {bomb.stat().st_size / 2**20:.1f} MB, sheet XML {xml / 2**20:.0f} MB, "
              f"{args.rows:,} rows (built in {time.perf_counter() - t0:.1f}s)", flush=True)
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmpdir / 'bench.sqlite3'}",
               "KONGCHUO_TESTING": "1"}
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run([sys.executable, "-c", (
            "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','kongchuo.settings');django.setup();"
            "from students.models import School,Township,User;"
            "t=Township.objects.create(code='341522100',name='甲镇');"
            "s=School.objects.create(code='3415220001',name='甲镇东岗小学',kind='primary',township=t);"
            "User.objects.create_user('bench_school',password='x',role='school',school=s)")],
            cwd=ROOT, env=env, check=True)
        for who, username in (("operator (county cap)", "-"), ("school user (school cap)", "bench_school")):
            runs = []
            for _ in range(args.runs):
                out = subprocess.run([sys.executable, "-c", _CHILD, str(bomb), username], cwd=ROOT, env=env,
                                     check=True, capture_output=True, text=True).stdout
                runs.append(json.loads(out.strip().splitlines()[-1]))
            secs = [r["seconds"] for r in runs]
            cpus = [r["cpu"] for r in runs]
            mem = [r["extra_mb"] for r in runs]
            print(f"{who}: refused with {runs[0]['file_error']}; "
                  f"time median {statistics.median(secs):.2f}s (min {min(secs):.2f}, max {max(secs):.2f}), "
                  f"CPU median {statistics.median(cpus):.2f}s; "
                  f"extra memory median {statistics.median(mem):.0f} MB (min {min(mem):.0f}, max {max(mem):.0f}); "
                  f"process RSS before {runs[0]['base_mb']:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
