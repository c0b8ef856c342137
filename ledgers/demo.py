"""Demo ledger rows for `seed_demo` (a "seeder" plug-in, kongchuo/plugins.py), set-based.

County-wide: 送教上门 plans and visits for every 送教 child, 外县就读 records for every 外县 child,
this term's aid for most poor children (the rest show up as the aid gap). In the first township
(where the demo township and school users work): 返校报到 for most of each class, deferrals in
every review state, help plans, home visits, absences (one at risk) and publicity.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from kongchuo.access.idnumbers import make_id
from kongchuo.calendar.schoolyear import Term, term_of, today
from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    HomeTeachingVisit,
    LearningSupportNote,
    LearningSupportPlan,
    OutOfCountyRecord,
    PublicityActivity,
    ReturnReport,
    VocationalRecord,
)
from ledgers.selectors import AID_ELIGIBLE, POOR
from students.models import School, StatusChange, Student, Township

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "子梓浩宇轩欣怡涵若雨思佳嘉文博明瑞泽航宏志鹏天乐安"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)


def _bulk(model, rows: list, batch: int = 500) -> list:
    created = model.objects.bulk_create(rows, batch_size=batch)
    model.history.bulk_history_create(created, batch_size=batch)
    return created


def _window() -> tuple[Term, dt.date, dt.date]:
    """The term to seed and the dates inside it that are not in the future."""
    day = today()
    term = term_of(day)
    if term.start > day:  # August: the autumn term has not started yet
        term = term.previous()
    return term, term.start, min(day, term.end)


def seed_ledgers(rng: random.Random, stdout=None) -> None:
    term, first_day, last_day = _window()
    span = max((last_day - first_day).days, 1)

    def some_day(lo: int = 0, hi: int | None = None) -> dt.date:
        hi = span if hi is None else min(hi, span)
        return first_day + dt.timedelta(days=rng.randint(min(lo, hi), hi))

    with transaction.atomic():
        counts = {
            "home_teaching": _home_teaching(rng, last_day),
            "out_of_county": _out_of_county(rng, some_day),
            "aid": _aid(rng, term, some_day),
        }
        township = Township.objects.order_by("code").first()
        if township is not None:
            schools = list(School.objects.filter(township=township, oversight="township").order_by("code"))
            counts.update(_first_township(rng, term, schools, some_day, last_day))
    if stdout is not None:
        stdout.write(gettext("演示台账：%(counts)s") % {
            "counts": ", ".join(f"{name} {count}" for name, count in counts.items())})


def _home_teaching(rng: random.Random, last_day: dt.date) -> int:
    children = list(Student.objects.filter(status=Student.Status.HOME_TEACHING)
                    .values_list("pk", "disability_category", "disability_grade"))
    plans = _bulk(HomeTeachingPlan, [HomeTeachingPlan(
        student_id=pk, disability_category=cat or "肢体残疾", disability_grade=grade or "二级",
        assessment="经县特殊教育指导中心评估，暂不能随班就读，需送教上门。",
        teachers=f"{_name(rng)}、{_name(rng)}", goals="提高生活自理能力；识字与简单计算；康复训练。",
        start_date=last_day - dt.timedelta(days=120)) for pk, cat, grade in children])
    visits = []
    month = last_day.replace(day=1)
    months = [month]
    for _i in range(2):
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    for plan in plans:
        for m in months:
            end = min(last_day, (m + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
            days = sorted(rng.sample(range(1, end.day + 1), k=min(end.day, rng.choice((1, 2, 2, 3)))))
            for d in days:
                visits.append(HomeTeachingVisit(
                    plan=plan, visit_date=m.replace(day=d), teachers=plan.teachers, periods=2,
                    content=rng.choice(("culture,self_care", "culture", "rehab,self_care")),
                    notes="按计划完成送教内容，家长配合良好。", guardian_signed=rng.random() < 0.9))
    _bulk(HomeTeachingVisit, visits)
    return len(plans)


def _out_of_county(rng: random.Random, some_day) -> int:
    children = list(Student.objects.filter(status=Student.Status.OUT_OF_COUNTY).values_list("pk", "grade"))
    rows = []
    for pk, grade in children:
        verified = rng.random() < 0.6
        rows.append(OutOfCountyRecord(
            student_id=pk, county="六安市裕安区", school_name=f"裕安区{rng.choice('东西南北')}城小学",
            grade=grade, start_date=some_day(0, 10), proof="就读学校出具在读证明",
            verified_by=_name(rng) if verified else "", verified_on=some_day(10) if verified else None))
    _bulk(OutOfCountyRecord, rows)
    return len(rows)


def _aid(rng: random.Random, term: Term, some_day) -> int:
    poor = list(Student.objects.filter(POOR, status__in=AID_ELIGIBLE).values_list("pk", "grade"))
    rows = [AidRecord(student_id=pk, term=term.code, kind=AidRecord.Kind.LIVING,
                      amount=500 if grade <= 6 else 625, granted_on=some_day(30, 60),
                      source="中央和地方财政")
            for pk, grade in poor if rng.random() < 0.9]
    _bulk(AidRecord, rows)
    return len(rows)


def _first_township(rng, term: Term, schools: list[School], some_day, last_day) -> dict:
    school_ids = [s.pk for s in schools]
    enrolled = list(Student.objects.filter(school_id__in=school_ids, status=Student.Status.ENROLLED)
                    .values_list("pk", "school_id", "grade", "class_name").order_by("pk"))
    reports = [ReturnReport(student_id=pk, term=term.code, reported_on=some_day(0, 6))
               for pk, *_rest in enrolled if rng.random() < 0.94]
    _bulk(ReturnReport, reports)
    by_school: dict[int, list] = {}
    for row in enrolled:
        by_school.setdefault(row[1], []).append(row)
    support, notes, contacts, absences, publicity, deferrals = [], [], [], [], [], []
    for school in schools:
        kids = by_school.get(school.pk, [])
        if len(kids) < 6:
            continue
        picks = rng.sample(kids, 6)
        for pk, _sid, _grade, _cls in picks[:3]:
            support.append(LearningSupportPlan(
                student_id=pk, teacher=_name(rng), difficulty="数学基础薄弱，作业完成困难",
                measures="每周两次课后个别辅导；结对帮扶；每月与家长沟通一次。",
                goals="本学期数学成绩达到及格", start_date=some_day(0, 20)))
        for pk, _sid, grade, cls in picks[3:5]:
            contacts.append(FamilyContact(
                school=school, student_id=pk, class_name=f"{grade}年级{cls}",
                kind=FamilyContact.Kind.HOME_VISIT, contact_date=some_day(5), staff=_name(rng),
                content="了解学生在家学习和生活情况，宣传义务教育法。", outcome="家长表示支持，按时送孩子上学。"))
        grade, cls = picks[0][2], picks[0][3]
        contacts.append(FamilyContact(
            school=school, class_name=f"{grade}年级{cls}", kind=FamilyContact.Kind.PARENT_MEETING,
            contact_date=some_day(10), staff=f"{_name(rng)}、{_name(rng)}",
            content="召开家长会，讲解控辍保学政策和资助政策。", outcome="到会家长38人。"))
        risky, fine = picks[5], picks[4]
        start = last_day - dt.timedelta(days=last_day.weekday() + 7)  # a Monday, last week
        absences.append(Absence(student_id=risky[0], start_date=start, end_date=start + dt.timedelta(days=2),
                                school_days=3, explained=False, follow_up="班主任已电话联系家长，拟家访。"))
        absences.append(Absence(student_id=fine[0], start_date=start, end_date=start + dt.timedelta(days=1),
                                school_days=2, explained=True, reason_found="感冒发烧，家长补假条",
                                follow_up="已返校"))
        publicity.append(PublicityActivity(
            school=school, activity_date=some_day(0, 15), kind=PublicityActivity.Kind.BANNER,
            audience="全体师生及家长", participants=0, description="校门口悬挂“控辍保学，依法送子女入学”标语。"))
        publicity.append(PublicityActivity(
            school=school, activity_date=some_day(15), kind=PublicityActivity.Kind.LECTURE,
            audience="五、六年级学生家长", participants=rng.randint(40, 120),
            description="《义务教育法》专题讲座：不送适龄子女入学是违法行为。"))
    created = _bulk(LearningSupportPlan, support)
    for plan in created:
        for k in range(rng.randint(1, 2)):
            notes.append(LearningSupportNote(plan=plan, note_date=min(last_day, plan.start_date + dt.timedelta(days=14 * (k + 1))),
                                             progress="作业完成情况好转，课堂能主动发言。"))
    _bulk(LearningSupportNote, notes)
    _bulk(FamilyContact, contacts)
    _bulk(Absence, absences)
    _bulk(PublicityActivity, publicity)
    deferrals = _deferrals(rng, schools, last_day)
    vocational = _vocational(rng, school_ids, some_day)
    return {"returns": len(reports), "learning_support": len(created), "family_contact": len(contacts),
            "absences": len(absences), "publicity": len(publicity), "deferrals": deferrals,
            "vocational": vocational}


def _deferrals(rng: random.Random, schools: list[School], last_day: dt.date) -> int:
    targets = [s for s in schools if not s.is_center][:1] + [s for s in schools if s.is_center][:1]
    rows = []
    n = 0
    for school in targets:
        for review, days_left in (("pending", 300), ("approved", 7), ("rejected", 200)):
            n += 1
            birth = dt.date(last_day.year - 6, 3, 1) + dt.timedelta(days=rng.randrange(150))
            end = last_day + dt.timedelta(days=days_left)
            rows.append(Deferral(
                school=school, id_number=make_id("341522", birth, 900 + n), name=_name(rng),
                birth_date=birth, guardian_name=_name(rng), guardian_phone=f"139{rng.randrange(10**8):08d}",
                reason=rng.choice(("先天性心脏病术后康复", "脑瘫，需康复治疗", "重度听力障碍，正在康复训练")),
                certificate="县人民医院诊断证明", start_date=end - dt.timedelta(days=330), end_date=end,
                review=review, reviewed_at=None if review == "pending" else timezone.now(),
                review_note={"approved": "材料齐全，同意延缓入学一年",
                                            "rejected": "证明材料不全，请补充县级以上医院诊断证明"}.get(review, "")))
    _bulk(Deferral, rows)
    return len(rows)


def _vocational(rng: random.Random, school_ids: list[int], some_day) -> int:
    picks = list(Student.objects.filter(school_id__in=school_ids, grade=9, status=Student.Status.ENROLLED)
                 .values_list("pk", "school_id").order_by("pk")[:2])
    if not picks:
        return 0
    day = some_day(0, 20)
    _bulk(VocationalRecord, [VocationalRecord(student_id=pk, school_name="霍邱县职业高级中学",
                                              major=rng.choice(("汽车运用与维修", "计算机应用")),
                                              start_date=day, proof="中职学校录取通知书")
                             for pk, _sid in picks])
    StatusChange.objects.bulk_create([StatusChange(
        student_id=pk, kind=StatusChange.Kind.VOCATIONAL, effective_date=day, from_status="enrolled",
        to_status="vocational", from_school_id=sid, reason="中职就读台账", source="seed") for pk, sid in picks])
    Student.objects.filter(pk__in=[pk for pk, _sid in picks]).update(status=Student.Status.VOCATIONAL)
    return len(picks)
