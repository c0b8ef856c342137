"""A synthetic Huoqiu-like county, deterministic for a seed (`seed_demo`).

Built set-based: every table is written with bulk_create in large batches, so 200,000 students
seed in well under two minutes on PostgreSQL.

`seed_demo` seeds the county as it was last school year, closes that year with the real
rollover (a year-end seeder of the dashboards app), then enrols this year's newcomers
(`seed_new_intake`): so the demo has a completed rollover and last year's frozen figures.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.utils.translation import gettext

from kongchuo.access.idnumbers import make_id
from kongchuo.access.scoping import Role
from kongchuo.calendar.schoolyear import school_age_birth_range, school_year_of, term_of, today
from kongchuo.imports.bulk import chunked, fetch_in
from students.models import (
    CensusEntry,
    LeadingGroupMember,
    RosterGap,
    School,
    StatusChange,
    Student,
    SupportMark,
    TermRoster,
    Township,
    TransferRequest,
    User,
)
from students.pinyin import name_initials
from students.services import student_change_status, user_create

TOWNSHIPS = [
    "城关镇", "新店镇", "石店镇", "马店镇", "孟集镇", "花园镇", "户胡镇", "冯井镇", "白莲乡", "周集镇",
    "临水镇", "姚李镇", "洪集镇", "冯瓴镇", "宋店乡", "范桥镇", "王截流乡", "乌龙镇", "高塘镇", "龙潭镇",
    "岔路镇", "河口镇", "潘集镇", "长集镇", "众兴集镇", "邵岗乡", "夏店镇", "曹庙镇", "彭塔镇", "三流乡",
]
ZONE = "霍邱经济开发区"
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单")
GIVEN = ("子梓浩宇轩欣怡涵若雨思佳嘉一诗雅晨俊杰文博明瑞泽航宏志鹏天乐安可心语彤雪琪伟强磊军洋勇艳娜静敏丽婷颖慧琳悦萱睿哲凯豪鑫")
VILLAGES = ("东岗", "西湖", "南庄", "北圩", "李桥", "张湾", "新河", "大郢", "小集", "刘岗", "陈圩", "杨店", "王楼", "孙庄", "黄岗")
DISABILITY = ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"]


@dataclass
class DemoResult:
    townships: int
    schools: int
    students: int
    census: int
    status_changes: int


def _school_plan(rng: random.Random, township: Township, index: int) -> list[School]:
    """A center school (九年一贯制), primaries, a junior school, teaching points."""
    base = f"3415{index:02d}"
    n = 0

    def code() -> str:
        nonlocal n
        n += 1
        return f"{base}{n:04d}"

    short = township.name.removesuffix("镇").removesuffix("乡")
    schools = [School(code=code(), name=f"{township.name}中心学校", kind=School.Kind.NINE_YEAR,
                      township=township, is_center=True)]
    schools.append(School(code=code(), name=f"霍邱县{short}中学", kind=School.Kind.JUNIOR,
                          township=township))
    for v in rng.sample(VILLAGES, rng.randint(4, 6)):
        schools.append(School(code=code(), name=f"{short}镇{v}小学", kind=School.Kind.PRIMARY,
                              township=township))
    for v in rng.sample(VILLAGES, rng.randint(1, 3)):
        schools.append(School(code=code(), name=f"{short}镇{v}教学点",
                              kind=School.Kind.TEACHING_POINT, township=township))
    return schools


GRADES = {
    School.Kind.PRIMARY: range(1, 7), School.Kind.JUNIOR: range(7, 10),
    School.Kind.NINE_YEAR: range(1, 10), School.Kind.COMPLETE: range(7, 10),
    School.Kind.TEACHING_POINT: range(1, 4), School.Kind.SPECIAL: range(1, 10),
}
WEIGHT = {
    School.Kind.PRIMARY: 6, School.Kind.JUNIOR: 10, School.Kind.NINE_YEAR: 14,
    School.Kind.COMPLETE: 30, School.Kind.TEACHING_POINT: 0.4, School.Kind.SPECIAL: 0.3,
}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng: random.Random) -> str:
    return f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"


def seed_county(*, students: int, seed: int, stdout=None, year: int | None = None) -> DemoResult:
    """The county in school year `year` (default: the current one): schools with their 对口初中,
    students in that year's grades, that year's census."""
    rng = random.Random(seed)
    county_code = settings.KONGCHUO_COUNTY_CODE
    with transaction.atomic():
        townships = [Township(code=f"{county_code}{100 + i:03d}", name=name,
                              kind=Township.Kind.TOWNSHIP) for i, name in enumerate(TOWNSHIPS)]
        townships.append(Township(code=f"{county_code}400", name=ZONE, kind=Township.Kind.ZONE))
        Township.objects.bulk_create(townships)
        townships = list(Township.objects.order_by("code"))
        schools: list[School] = []
        for i, t in enumerate(townships):
            schools += _school_plan(rng, t, i + 10)
        city = townships[0]
        schools.append(School(code="3415990001", name="霍邱县第二中学", kind=School.Kind.COMPLETE,
                              township=city, oversight=School.Oversight.COUNTY))
        schools.append(School(code="3415990002", name="霍邱县特殊教育学校", kind=School.Kind.SPECIAL,
                              township=city, oversight=School.Oversight.COUNTY))
        for s in schools:
            s.principal_name = _name(rng)
            s.principal_phone = _phone(rng)
            s.clerk_name = _name(rng)
            s.clerk_phone = _phone(rng)
        School.objects.bulk_create(schools, batch_size=1000)
        schools = list(School.objects.select_related("township").order_by("code"))
        _link_junior_schools(schools)
        LeadingGroupMember.objects.bulk_create([
            LeadingGroupMember(position="leader", name="傅云飞", title="县委教育工委书记、教育局局长", order=1),
            LeadingGroupMember(position="deputy", name=_name(rng), title="县教育局副局长", order=2),
            LeadingGroupMember(position="deputy", name=_name(rng), title="县教育局副局长", order=3),
            LeadingGroupMember(position="member", name=_name(rng), title="教育股股长", order=4),
            LeadingGroupMember(position="member", name=_name(rng), title="学生资助管理中心主任", order=5),
            LeadingGroupMember(position="member", name=_name(rng), title="督导室主任", order=6),
            LeadingGroupMember(position="office", name=_name(rng), title="领导小组办公室（教育股）", order=7),
        ])
        # The 户籍 list of the summer before school year Y is year Y's (the dashboards' census
        # year); left alone, the calendar year's, as before.
        result = _seed_students(rng, schools, townships, students, stdout,
                                year if year is not None else school_year_of(today()),
                                census_year=year if year is not None else today().year)
    return result


def _link_junior_schools(schools: list[School]) -> None:
    """Each primary school and teaching point sends its graduates to its township's junior
    school (对口初中)."""
    juniors = {s.township_id: s for s in schools if s.kind == School.Kind.JUNIOR}
    linked = []
    for s in schools:
        if s.kind in School.PRIMARY_ONLY and s.township_id in juniors:
            s.junior_school = juniors[s.township_id]
            linked.append(s)
    School.objects.bulk_update(linked, ["junior_school"], batch_size=500)


class _People:
    """Makes demo children: unique ID numbers, names, families (one per seeding run)."""

    def __init__(self, rng: random.Random, townships: list[Township], used_ids: set[str] | None = None):
        self.rng = rng
        self.townships = townships
        self.used_ids = used_ids if used_ids is not None else set()
        self.seq_by_birth: dict[dt.date, int] = {}

    def child(self, school: School, grade: int, year: int, *, census_year: int) -> tuple[Student, CensusEntry | None]:
        """A child in `grade` at `school` in school year `year`, and its census row."""
        rng = self.rng
        age = 5 + grade + (1 if rng.random() < 0.08 else 0)  # age on 31 Aug of the school year
        start = dt.date(year - age - 1, 9, 1)
        birth = start + dt.timedelta(days=rng.randrange(365))
        seq = self.seq_by_birth.get(birth, rng.randrange(0, 400))
        while True:
            seq += 1
            id_number = make_id(county_area(), birth, seq)
            if id_number not in self.used_ids:
                break
        self.seq_by_birth[birth] = seq
        self.used_ids.add(id_number)
        sex = "M" if int(id_number[16]) % 2 else "F"
        name = _name(rng)
        local = rng.random() < 0.96
        hukou = school.township if local and school.oversight == "township" else rng.choice(self.townships)
        disability = rng.choice(DISABILITY) if rng.random() < 0.01 else ""
        if school.kind == School.Kind.SPECIAL:
            disability = disability or rng.choice(DISABILITY)
        poor = rng.random() < 0.08
        student = Student(
            id_number=id_number, student_number=f"G{id_number}", name=name,
            name_initials=name_initials(name), sex=sex, birth_date=birth,
            hukou_township=hukou,
            hukou_address=f"{hukou.name}{rng.choice(VILLAGES)}村{rng.randint(1, 12)}组",
            address=f"{school.township.name}{rng.choice(VILLAGES)}村",
            school=school, grade=grade, class_name=f"{rng.randint(1, 4)}班",
            entry_month=dt.date(year - (grade - 1 if grade <= 6 else grade - 7), 9, 1),
            status=Student.Status.ENROLLED, is_poor=poor, is_monitored=rng.random() < 0.01,
            is_dibao=rng.random() < (0.25 if poor else 0.02), is_tekun=rng.random() < 0.003,
            disability_category=disability,
            disability_grade=rng.choice(["一级", "二级", "三级", "四级"]) if disability else "",
            is_left_behind=rng.random() < 0.2, is_migrant=rng.random() < 0.03,
            guardian_name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            guardian_phone=_phone(rng),
        )
        census = CensusEntry(year=census_year, id_number=id_number, name=name, sex=sex,
                             birth_date=birth, township=hukou, address=student.hukou_address)
        return student, census


def _seed_students(rng, schools, townships, total, stdout, year: int, *, census_year: int) -> DemoResult:
    slots = [(s, g) for s in schools for g in GRADES[s.kind]]
    weights = [WEIGHT[s.kind] for s, _ in slots]
    chosen = rng.choices(range(len(slots)), weights=weights, k=total)
    people = _People(rng, townships)
    used_ids, seq_by_birth = people.used_ids, people.seq_by_birth
    rows: list[Student] = []
    census: list[CensusEntry] = []
    changes: list[tuple[int, str, str]] = []  # (row index, kind, reason)
    for k, slot_index in enumerate(chosen):
        school, grade = slots[slot_index]
        student, entry = people.child(school, grade, year, census_year=census_year)
        r = rng.random()
        if student.disability_category and rng.random() < 0.25:
            student.status = Student.Status.HOME_TEACHING
            changes.append((k, "home_teaching", "因残无法随班就读"))
        elif r < 0.003:
            student.status = Student.Status.SUSPENDED
            changes.append((k, "suspend", "因病休学"))
        elif r < 0.005:
            student.status = Student.Status.OUT_OF_COUNTY
            changes.append((k, "out_of_county", "随父母外出务工"))
        rows.append(student)
        census.append(entry)
    # A few children on the 户籍 list who are in no school: what the census sweep must find.
    for _ in range(max(3, total // 2000)):
        age = rng.randint(7, 14)
        birth = dt.date(year - age - 1, 9, 1) + dt.timedelta(days=rng.randrange(365))
        seq = seq_by_birth.get(birth, 500) + 1
        seq_by_birth[birth] = seq
        id_number = make_id(county_area(), birth, seq)
        if id_number in used_ids:
            continue
        used_ids.add(id_number)
        t = rng.choice(townships)
        census.append(CensusEntry(year=census_year, id_number=id_number, name=_name(rng),
                                  sex="M" if int(id_number[16]) % 2 else "F", birth_date=birth,
                                  township=t, address=f"{t.name}{rng.choice(VILLAGES)}村"))
    _bulk(Student, rows)
    _bulk(CensusEntry, census)
    ids = dict(Student.objects.values_list("id_number", "id"))
    start_of_year = dt.date(year, 9, 1)
    history = []
    for k, kind, reason in changes:
        s = rows[k]
        to_status = {"home_teaching": "home_teaching", "suspend": "suspended",
                     "out_of_county": "out_of_county"}[kind]
        history.append(StatusChange(
            student_id=ids[s.id_number], kind=kind,
            effective_date=start_of_year + dt.timedelta(days=rng.randrange(60)),
            end_date=dt.date(year + 1, 7, 15) if kind == "suspend" else None,
            from_status="enrolled", to_status=to_status, from_school_id=s.school_id,
            to_county="六安市裕安区" if kind == "out_of_county" else "", reason=reason, source="seed"))
    _bulk(StatusChange, history)
    return DemoResult(len(townships), len(schools), len(rows), len(census), len(history))


def _bulk(model, rows, batch: int = 2000) -> None:
    # SQLite caps parameters per statement (32,766): keep batch × fields under it.
    if connection.vendor == "sqlite":
        fields = len(model._meta.concrete_fields)
        batch = max(100, 30000 // fields)
    model.objects.bulk_create(rows, batch_size=batch)


def county_area() -> str:
    return settings.KONGCHUO_COUNTY_CODE


DEMO_USERS = ("demo_county", "demo_township", "demo_school", "demo_gov")


def create_demo_users(password: str) -> list[tuple[str, str]]:
    first = Township.objects.order_by("code").first()
    center = School.objects.get(township=first, is_center=True)
    other = (School.objects.filter(township=first, oversight="township", is_center=False)
             .order_by("code").first())
    specs = [
        ("demo_county", Role.COUNTY, None, None, "县教育局 教育股"),
        ("demo_township", Role.TOWNSHIP, first, None, center.name),
        ("demo_school", Role.SCHOOL, None, other, other.name),
        ("demo_gov", Role.TOWNSHIP_GOV, first, None, f"{first.name}人民政府"),
    ]
    out = []
    for username, role, township, school, label in specs:
        User.objects.filter(username=username).delete()
        user_create(username=username, role=role, password=password, township=township,
                    school=school, section="教育股" if role == Role.COUNTY else "")
        out.append((username, label))
    return out


# ----------------------------------------------------------------------------- a new school year


def seed_new_intake(rng: random.Random, *, year: int, stdout=None) -> dict:
    """School year `year` begins after the rollover closed the one before: grade-1 entrants at
    every school teaching grade 1 (about as many as its new grade 2), most primary graduates
    enrolled in grade 7 at their 对口初中 (a few are not: the 两一 rule finds them), and the
    year's 户籍 list (last year's children and the newcomers)."""
    first_day = dt.date(year, 9, 1)
    townships = list(Township.objects.order_by("code"))
    people = _People(rng, townships, set(Student.objects.values_list("id_number", flat=True)))
    grade2 = dict(Student.objects.filter(grade=2, status__in=("enrolled", "home_teaching"))
                  .values_list("school_id").annotate(n=models.Count("pk")).values_list("school_id", "n"))
    newcomers: list[Student] = []
    census: list[CensusEntry] = []
    for school in School.objects.select_related("township").order_by("code"):
        if 1 not in GRADES[school.kind]:
            continue
        n = grade2.get(school.pk, 0)
        for _k in range(max(0, n + rng.randint(-2, 2)) if n else 0):
            child, entry = people.child(school, 1, year, census_year=year)
            newcomers.append(child)
            census.append(entry)
    _bulk(Student, newcomers)
    ids = dict(fetch_in(Student.objects.values_list("id_number", "id"), "id_number",
                        [c.id_number for c in newcomers]))
    _bulk(StatusChange, [StatusChange(
        student_id=ids[c.id_number], kind=StatusChange.Kind.ENROLL, effective_date=first_day,
        from_status="", to_status="enrolled", to_school_id=c.school_id, reason="一年级新生入学",
        source="seed") for c in newcomers])
    # Primary graduates into grade 7 at the expected junior school.
    graduations = (StatusChange.objects.filter(kind=StatusChange.Kind.GRADUATE, source="rollover",
                                               from_grade=6, to_school__isnull=False,
                                               student__status="graduated")
                   .order_by("student_id").values_list("student_id", "student__school_id", "to_school_id"))
    moves, placed = [], {}
    for student_id, primary_id, junior_id in graduations:
        if rng.random() < 0.015:
            continue  # not found in any grade 7
        moves.append(StatusChange(
            student_id=student_id, kind=StatusChange.Kind.TRANSFER_OUT, effective_date=first_day,
            from_status="graduated", to_status="enrolled", from_school_id=primary_id,
            to_school_id=junior_id, from_grade=6, to_grade=7, reason="小学毕业升入对口初中",
            source="seed"))
        placed[student_id] = junior_id
    for batch in chunked(list(placed), 5000):
        students = list(Student.objects.filter(pk__in=batch))
        for st in students:
            st.school_id, st.grade, st.status = placed[st.pk], 7, "enrolled"
            st.class_name = f"{rng.randint(1, 6)}班"
            st.entry_month = first_day
            st.version += 1
        Student.objects.bulk_update(students, ["school", "grade", "status", "class_name",
                                               "entry_month", "version"], batch_size=1000)
    _bulk(StatusChange, moves)
    # This year's 户籍 list: last year's children again (a year older), and the newcomers.
    last = CensusEntry.objects.filter(year=year - 1).values_list(
        "id_number", "name", "sex", "birth_date", "township_id", "address")
    census += [CensusEntry(year=year, id_number=i, name=n, sex=x, birth_date=b, township_id=t, address=a)
               for i, n, x, b, t, a in last]
    _bulk(CensusEntry, census)
    out = {"grade1": len(newcomers), "grade7": len(placed), "census": len(census)}
    if stdout is not None:
        stdout.write(gettext("新学年（%(year)d）：一年级新生 %(grade1)d，升入七年级 %(grade7)d，户籍 %(census)d")
                     % {"year": year, **out})
    return out


# ----------------------------------------------------------------------------- the year's worklists


def seed_school_year_work(rng: random.Random, stdout=None) -> dict:
    """What the school year's pages show in a demo: 转学 requests waiting for the other school
    (one the demo school must answer, one it waits on), children missing from this term's
    roster (名册缺失) at a few schools, and children on a support list found in no school
    (帮扶对象未入学). Runs before the demo sweeps, which then raise their alerts."""
    day = today()
    first = Township.objects.order_by("code").first()
    if first is None:
        return {}
    # The school demo_school works for (create_demo_users), and schools of its kind (the
    # same grades) in its township and in another.
    demo = (School.objects.filter(township=first, oversight="township", is_center=False)
            .order_by("code").first())
    if demo is None:
        return {}
    same_kind = School.objects.filter(kind=demo.kind).exclude(pk=demo.pk).order_by("code")
    neighbour = same_kind.filter(township=first).first() or same_kind.first()
    if neighbour is None:
        return {}
    elsewhere = same_kind.exclude(township=first).exclude(pk=neighbour.pk).first()

    def pupils(school, n, skip=()):
        return list(Student.objects.filter(school=school, status=Student.Status.ENROLLED)
                    .exclude(pk__in=skip).order_by("pk")[:n])

    transfers = 0
    asks = [(pupils(neighbour, 1), demo, TransferRequest.Direction.OUT, "随父母迁居，就近入学"),
            (pupils(demo, 1, skip=[]), neighbour, TransferRequest.Direction.OUT, "家庭搬迁")]
    if elsewhere is not None:
        asks.append((pupils(elsewhere, 1), demo, TransferRequest.Direction.IN, "随祖父母生活，转回户籍地就读"))
    with transaction.atomic():
        for found, to_school, direction, reason in asks:
            if not found:
                continue
            child = found[0]
            before = child.status
            student_change_status(student=child, kind=StatusChange.Kind.TRANSFER_REQUEST,
                                  effective_date=day, to_school=to_school, reason=reason, user=None,
                                  source="seed")
            TransferRequest.objects.create(
                student=child, from_school=child.school, to_school=to_school, direction=direction,
                status_before=before, grade=child.grade, class_name=child.class_name, reason=reason,
                requested_on=day)
            transfers += 1

        # This term's roster came in without a few children still on the school's books.
        term = term_of(day)
        found_on = min(max(term.start, day - dt.timedelta(days=20)), day)
        gaps = []
        for school in [demo, neighbour, *School.objects.exclude(township=first).order_by("code")[:2]]:
            TermRoster.objects.get_or_create(term=term.code, school=school)
            taken = set(TransferRequest.objects.values_list("student_id", flat=True))
            gaps += [RosterGap(term=term.code, school=school, student=s, found_on=found_on)
                     for s in pupils(school, rng.randint(2, 3), skip=taken)]
        RosterGap.objects.bulk_create(gaps, ignore_conflicts=True)

        # Support-list children (民政/扶贫 lists) of school age found in no school.
        lo, hi = school_age_birth_range(day.year)
        used = set(Student.objects.values_list("id_number", flat=True))
        marks = []
        kinds = [SupportMark.Kind.POOR, SupportMark.Kind.DIBAO, SupportMark.Kind.DISABILITY,
                 SupportMark.Kind.MONITORED]
        for i, township in enumerate([first, first, first, *Township.objects.order_by("code")[1:3]]):
            birth = lo + dt.timedelta(days=rng.randrange((hi - lo).days))
            seq = rng.randrange(500, 900)
            while make_id(county_area(), birth, seq) in used:
                seq += 1
            id_number = make_id(county_area(), birth, seq)
            used.add(id_number)
            marks.append(SupportMark(
                kind=kinds[i % len(kinds)], id_number=id_number, name=_name(rng), township=township,
                source="县民政局低保名单" if kinds[i % len(kinds)] == SupportMark.Kind.DIBAO else "县乡村振兴局监测名单",
                listed_on=day - dt.timedelta(days=rng.randrange(30, 300)),
                disability_category=rng.choice(DISABILITY) if kinds[i % len(kinds)] == SupportMark.Kind.DISABILITY else "",
                disability_grade="二级" if kinds[i % len(kinds)] == SupportMark.Kind.DISABILITY else ""))
        SupportMark.objects.bulk_create(marks)
    counts = {"transfers": transfers, "roster_gaps": len(gaps), "support_unenrolled": len(marks)}
    if stdout is not None:
        stdout.write(gettext("演示学年事项：%(counts)s") % {"counts": counts})
    return counts
