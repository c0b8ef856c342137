"""A synthetic Huoqiu-like county, deterministic for a seed (`seed_demo`).

Built set-based: every table is written with bulk_create in large batches, so 200,000 students
seed in well under two minutes on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from kongchuo.idnumbers import make_id
from kongchuo.schoolyear import school_year_of, today
from students.models import CensusEntry, LeadingGroupMember, School, StatusChange, Student, Township
from students.pinyin import name_initials

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


def seed_county(*, students: int, seed: int, stdout=None) -> DemoResult:
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
        LeadingGroupMember.objects.bulk_create([
            LeadingGroupMember(position="leader", name="傅云飞", title="县委教育工委书记、教育局局长", order=1),
            LeadingGroupMember(position="deputy", name=_name(rng), title="县教育局副局长", order=2),
            LeadingGroupMember(position="deputy", name=_name(rng), title="县教育局副局长", order=3),
            LeadingGroupMember(position="member", name=_name(rng), title="教育股股长", order=4),
            LeadingGroupMember(position="member", name=_name(rng), title="学生资助管理中心主任", order=5),
            LeadingGroupMember(position="member", name=_name(rng), title="督导室主任", order=6),
            LeadingGroupMember(position="office", name=_name(rng), title="领导小组办公室（教育股）", order=7),
        ])
        result = _seed_students(rng, schools, townships, students, stdout)
    return result


def _seed_students(rng, schools, townships, total, stdout) -> DemoResult:
    year = school_year_of(today())
    slots = [(s, g) for s in schools for g in GRADES[s.kind]]
    weights = [WEIGHT[s.kind] for s, _ in slots]
    chosen = rng.choices(range(len(slots)), weights=weights, k=total)
    used_ids: set[str] = set()
    seq_by_birth: dict[dt.date, int] = {}
    township_by_id = {t.id: t for t in townships}
    rows: list[Student] = []
    census: list[CensusEntry] = []
    changes: list[tuple[int, str, str]] = []  # (row index, kind, reason)
    for k, slot_index in enumerate(chosen):
        school, grade = slots[slot_index]
        age = 5 + grade + (1 if rng.random() < 0.08 else 0)  # age on 31 Aug of the school year
        start = dt.date(year - age - 1, 9, 1)
        birth = start + dt.timedelta(days=rng.randrange(365))
        seq = seq_by_birth.get(birth, rng.randrange(0, 400))
        while True:
            seq += 1
            id_number = make_id(county_area(), birth, seq)
            if id_number not in used_ids:
                break
        seq_by_birth[birth] = seq
        used_ids.add(id_number)
        sex = "M" if int(id_number[16]) % 2 else "F"
        name = _name(rng)
        local = rng.random() < 0.96
        hukou = school.township if local and school.oversight == "township" else rng.choice(townships)
        status = Student.Status.ENROLLED
        disability = rng.choice(DISABILITY) if rng.random() < 0.01 else ""
        r = rng.random()
        if school.kind == School.Kind.SPECIAL:
            disability = disability or rng.choice(DISABILITY)
        if disability and rng.random() < 0.25:
            status = Student.Status.HOME_TEACHING
            changes.append((k, "home_teaching", "因残无法随班就读"))
        elif r < 0.003:
            status = Student.Status.SUSPENDED
            changes.append((k, "suspend", "因病休学"))
        elif r < 0.005:
            status = Student.Status.OUT_OF_COUNTY
            changes.append((k, "out_of_county", "随父母外出务工"))
        poor = rng.random() < 0.08
        rows.append(Student(
            id_number=id_number, student_number=f"G{id_number}", name=name,
            name_initials=name_initials(name), sex=sex, birth_date=birth,
            hukou_township=hukou,
            hukou_address=f"{hukou.name}{rng.choice(VILLAGES)}村{rng.randint(1, 12)}组",
            address=f"{school.township.name}{rng.choice(VILLAGES)}村",
            school=school, grade=grade, class_name=f"{rng.randint(1, 4)}班",
            entry_month=dt.date(year - (grade - 1 if grade <= 6 else grade - 7), 9, 1),
            status=status, is_poor=poor, is_monitored=rng.random() < 0.01,
            is_dibao=rng.random() < (0.25 if poor else 0.02), is_tekun=rng.random() < 0.003,
            disability_category=disability,
            disability_grade=rng.choice(["一级", "二级", "三级", "四级"]) if disability else "",
            is_left_behind=rng.random() < 0.2, is_migrant=rng.random() < 0.03,
            guardian_name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
            guardian_phone=_phone(rng),
        ))
        if hukou is not None and hukou.id in township_by_id:
            census.append(CensusEntry(year=today().year, id_number=id_number, name=name, sex=sex,
                                      birth_date=birth, township=hukou,
                                      address=rows[-1].hukou_address))
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
        census.append(CensusEntry(year=today().year, id_number=id_number, name=_name(rng),
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
    from kongchuo.scoping import Role
    from students.models import User
    from students.services import user_create

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
