"""The eleven ledgers in the official layout (kongchuo.portal.xlsxout.write_official_ledger).

Each builder gets `scoped(model)` — a function returning the model's queryset already narrowed
to what may be exported (the user's `visible_to` plus the chosen school/township, or the CLI's
scope) — and returns the columns, a lazy row iterator (`.iterator()`, constant memory) and a
合计 row computed by one aggregate query. Nothing here reads outside `scoped`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from kongchuo.access.idnumbers import mask_id, mask_ids_in_value, mask_phone
from kongchuo.access.scoping import Role, scope_of
from kongchuo.calendar.schoolyear import Term
from kongchuo.portal.xlsxout import LedgerColumn as C
from kongchuo.security.redact import redact
from ledgers.models import (
    Absence,
    AidRecord,
    Attachment,
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
from ledgers.registry import KINDS
from ledgers.selectors import as_of_in, leave_covering, with_risk
from students.models import School, StatusChange, Student, Township

Scoped = Callable[[type], Any]
CHUNK = 2000


class ExportScopeError(ValueError):
    pass


@dataclass(frozen=True)
class ExportScope:
    """What an export covers: the whole county, one township (its township-overseen schools,
    as a township user sees them) or one school."""

    level: str  # "county" | "township" | "school"
    township: Township | None = None
    school: School | None = None

    @property
    def code(self) -> str:
        if self.school is not None:
            return self.school.code
        if self.township is not None:
            return self.township.code
        return "county"

    def apply(self, qs):
        if self.level == "school":
            return qs.in_school(self.school.pk)  # type: ignore[union-attr]
        if self.level == "township":
            return qs.in_township(self.township.pk)  # type: ignore[union-attr]
        return qs

    @property
    def unit(self) -> str:
        county = settings.KONGCHUO_COUNTY_NAME
        if self.school is not None:
            return self.school.name
        if self.township is not None:
            center = School.objects.filter(township=self.township, is_center=True).first()
            return center.name if center else f"{self.township.name}中心学校"
        return f"{county}教育局"

    @property
    def title_unit(self) -> str:
        county = settings.KONGCHUO_COUNTY_NAME
        if self.level == "county":
            return county
        unit = self.unit
        return unit if unit.startswith(county) else f"{county}{unit}"


def scope_from_code(code: str) -> ExportScope:
    """`county`, a township code (9 digits) or a school code (10 digits) — the CLI contract."""
    code = (code or "").strip()
    if code == "county":
        return ExportScope("county")
    township = Township.objects.filter(code=code).first()
    if township is not None:
        return ExportScope("township", township=township)
    school = School.objects.select_related("township").filter(code=code).first()
    if school is not None:
        return ExportScope("school", school=school)
    raise ExportScopeError(gettext("未知的范围代码“%(code)s”（应为 county、乡镇代码或学校标识码）") % {"code": code})


def scope_for_user(user, *, school: School | None = None) -> ExportScope:
    """The user's own scope, optionally narrowed to one school the caller already scoped."""
    scope = scope_of(user)
    if scope is None or scope.role not in (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL):
        raise ExportScopeError("no ledger scope")
    if school is not None:
        return ExportScope("school", school=school)
    if scope.role == Role.SCHOOL:
        return ExportScope("school", school=user.school)
    if scope.role == Role.TOWNSHIP:
        return ExportScope("township", township=user.township)
    return ExportScope("county")


@dataclass
class LedgerSheet:
    columns: list[C]
    rows: Iterator[dict]
    total: Callable[[], dict] | None  # one aggregate query, run when the sheet is written


# --------------------------------------------------------------------------- helpers


class _Fmt:
    def __init__(self, full: bool) -> None:
        self.full = full

    def id(self, value: str) -> str:
        return value if self.full else mask_id(value)

    def phone(self, value: str) -> str:
        return value if self.full else mask_phone(value)

    def embedded(self, value: str) -> str:
        """A 全国学籍号 is usually "G" + the ID number: mask any ID inside it."""
        return value if self.full else redact(value)


def _labels(choices) -> dict:
    """Choice labels resolved once per export: get_FOO_display() per row costs a lazy-string
    hash and a dict build each time (≈ a third of an export's CPU, measured)."""
    return {k: str(v) for k, v in choices}


SEX = _labels(Student.Sex.choices)


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _student_cols(group: str, *, school: bool, number: bool = False, extra: tuple = ()) -> list[C]:
    cols = [C("姓名", "name", 10, group), C("性别", "sex", 6, group),
            C("身份证件号", "id_number", 22, group)]
    if number:
        cols.append(C("全国学籍号", "student_number", 22, group))
    if school:
        cols.append(C("学校", "school", 22, group))
    cols += [C("年级", "grade", 6, group, "int"), C("班级", "class_name", 8, group), *extra]
    return cols


def _student_row(s: Student, f: _Fmt) -> dict:
    return {"name": s.name, "sex": SEX.get(s.sex, s.sex), "id_number": f.id(s.id_number),
            "student_number": f.embedded(s.student_number), "school": s.school.name, "grade": s.grade,
            "class_name": s.class_name}


def _user(u) -> str:
    return (u.get_full_name() or u.username) if u else ""


def _count_text(n: int, unit: str = "条") -> str:
    return f"共{n}{unit}"


# --------------------------------------------------------------------------- builders


def _status_changes(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(StatusChange).filter(effective_date__range=(term.start, term.end))
          .select_related("student__school", "to_school", "created_by")
          .order_by("student__school__code", "effective_date", "pk"))
    g = "变动情况"
    cols = _student_cols("学生信息", school=school, number=True) + [
        C("变动类型", "kind", 10, g), C("变动日期", "effective_date", 12, g, "date"),
        C("截止日期", "end_date", 12, g, "date"), C("去向学校", "to_school", 24, g),
        C("去向县区", "to_county", 14, g), C("原因", "reason", 24, g), C("审批人", "approved_by", 10, g)]

    kinds = _labels(StatusChange.Kind.choices)

    def rows():
        for c in qs.iterator(chunk_size=CHUNK):
            yield {**_student_row(c.student, f), "kind": kinds.get(c.kind, c.kind),
                   "effective_date": c.effective_date, "end_date": c.end_date,
                   "to_school": c.to_school.name if c.to_school_id else c.to_school_name,
                   "to_county": c.to_county or (settings.KONGCHUO_COUNTY_NAME if c.to_school_id else ""),
                   "reason": c.reason, "approved_by": c.approved_by}

    return LedgerSheet(cols, rows(), lambda: {"name": _count_text(qs.count(), "人次")})


def _returns(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    report = ReturnReport.objects.filter(student=OuterRef("pk"), term=term.code)
    leave = leave_covering(as_of_in(term))
    qs = (scoped(Student)
          .annotate(reported_on=Subquery(report.values("reported_on")[:1]),
                    report_note=Subquery(report.values("note")[:1]), on_leave=Exists(leave))
          .filter(Q(status=Student.Status.ENROLLED) | Q(reported_on__isnull=False))
          .select_related("school").order_by("school__code", "grade", "class_name", "name", "pk"))
    g = "报到情况"
    cols = _student_cols("学生信息", school=school, number=True) + [
        C("报到状态", "state", 10, g), C("报到日期", "reported_on", 12, g, "date"),
        C("备注", "note", 24, g)]

    def rows():
        for s in qs.iterator(chunk_size=CHUNK):
            state = "已报到" if s.reported_on else ("请假" if s.on_leave else "未报到")
            yield {**_student_row(s, f), "state": state, "reported_on": s.reported_on,
                   "note": s.report_note or ""}

    def total():
        agg = qs.order_by().aggregate(n=Count("pk"), done=Count("pk", filter=Q(reported_on__isnull=False)))
        return {"name": _count_text(agg["n"], "人"), "state": f"已报到{agg['done']}人",
                "note": f"未报到{agg['n'] - agg['done']}人（含请假）"}

    return LedgerSheet(cols, rows(), total)


def _vocational(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(VocationalRecord).filter(start_date__lte=term.end)
          .select_related("student__school").order_by("student__school__code", "start_date", "pk"))
    g = "中职就读情况"
    cols = _student_cols("学生信息", school=school, number=True) + [
        C("中职学校", "school_name", 24, g), C("专业", "major", 14, g),
        C("就读日期", "start_date", 12, g, "date"), C("证明材料", "proof", 20, g)]

    def rows():
        for r in qs.iterator(chunk_size=CHUNK):
            yield {**_student_row(r.student, f), "school_name": r.school_name, "major": r.major,
                   "start_date": r.start_date, "proof": r.proof}

    return LedgerSheet(cols, rows(), lambda: {"name": _count_text(qs.count(), "人")})


def _out_of_county(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(OutOfCountyRecord).filter(start_date__lte=term.end)
          .select_related("student__school", "student__hukou_township")
          .order_by("student__school__code", "start_date", "pk"))
    cols = _student_cols("学生信息", school=school, extra=(C("户籍乡镇", "hukou", 12, "学生信息"),)) + [
        C("就读县区", "county", 14, "就读情况"), C("就读学校", "school_name", 24, "就读情况"),
        C("就读年级", "study_grade", 8, "就读情况", "int"),
        C("就读日期", "start_date", 12, "就读情况", "date"), C("在读证明", "proof", 18, "就读情况"),
        C("核实人", "verified_by", 10, "核实情况"), C("核实日期", "verified_on", 12, "核实情况", "date")]

    def rows():
        for r in qs.iterator(chunk_size=CHUNK):
            s = r.student
            yield {**_student_row(s, f), "hukou": s.hukou_township.name if s.hukou_township_id else "",
                   "county": r.county, "school_name": r.school_name, "study_grade": r.grade,
                   "start_date": r.start_date, "proof": r.proof, "verified_by": r.verified_by,
                   "verified_on": r.verified_on}

    return LedgerSheet(cols, rows(), lambda: {"name": _count_text(qs.count(), "人")})


def _deferrals(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(Deferral).filter(start_date__lte=term.end, end_date__gte=term.start)
          .select_related("school", "reviewed_by").order_by("school__code", "start_date", "pk"))
    g1, g2, g3 = "儿童信息", "申请情况", "审核情况"
    cols = [C("姓名", "name", 10, g1), C("身份证件号", "id_number", 22, g1),
            C("出生日期", "birth_date", 12, g1, "date"), C("监护人", "guardian", 10, g1),
            C("监护人电话", "phone", 14, g1)]
    if school:
        cols.append(C("申请学校", "school", 22, g2))
    cols += [C("申请原因", "reason", 22, g2), C("证明材料", "certificate", 20, g2),
             C("起始日期", "start_date", 12, g2, "date"), C("截止日期", "end_date", 12, g2, "date"),
             C("审核状态", "review", 10, g3), C("审核人", "reviewer", 10, g3),
             C("审核日期", "reviewed_on", 12, g3, "date"), C("审核意见", "note", 22, g3)]

    reviews = _labels(Deferral.Review.choices)

    def rows():
        for d in qs.iterator(chunk_size=CHUNK):
            yield {"name": d.name, "id_number": f.id(d.id_number), "birth_date": d.birth_date,
                   "guardian": d.guardian_name, "phone": f.phone(d.guardian_phone),
                   "school": d.school.name, "reason": d.reason, "certificate": d.certificate,
                   "start_date": d.start_date, "end_date": d.end_date,
                   "review": reviews.get(d.review, d.review), "reviewer": _user(d.reviewed_by),
                   "reviewed_on": d.reviewed_at.date() if d.reviewed_at else None,
                   "note": d.review_note}

    return LedgerSheet(cols, rows(), lambda: {"name": _count_text(qs.count(), "人")})


def _home_teaching(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    in_term = Q(visit_date__range=(term.start, term.end))
    plans = (scoped(HomeTeachingPlan).filter(start_date__lte=term.end)
             .filter(Q(end_date__isnull=True) | Q(end_date__gte=term.start))
             .select_related("student__school")
             .prefetch_related(Prefetch("visits", queryset=HomeTeachingVisit.objects.filter(in_term)
                                        .order_by("visit_date", "pk")))
             .order_by("student__school__code", "student__grade", "student__name", "pk"))
    g = "送教情况"
    cols = _student_cols("学生信息", school=school, extra=(
        C("残疾类别", "disability", 10, "学生信息"), C("残疾等级", "disability_grade", 8, "学生信息"))) + [
        C("送教日期", "visit_date", 12, g, "date"), C("送教教师", "teachers", 16, g),
        C("课时", "periods", 6, g, "int"), C("送教内容", "content", 16, g),
        C("家长签字", "signed", 8, g), C("送教记录", "notes", 30, g)]
    def rows():
        for p in plans.iterator(chunk_size=500):
            base = {**_student_row(p.student, f), "disability": p.disability_category,
                    "disability_grade": p.disability_grade}
            visits = list(p.visits.all())
            if not visits:
                yield {**base, "notes": "本学期无送教记录"}
            for v in visits:
                yield {**base, "visit_date": v.visit_date, "teachers": v.teachers,
                       "periods": v.periods,
                       "content": v.content_labels,
                       "signed": _yes(v.guardian_signed), "notes": v.notes}

    def total():
        agg = scoped(HomeTeachingVisit).filter(in_term, plan__in=plans.order_by().values("pk")).aggregate(
            n=Count("pk"), periods=Coalesce(Sum("periods"), 0))
        return {"name": _count_text(plans.count(), "人"), "visit_date": _count_text(agg["n"], "次"),
                "periods": agg["periods"]}

    return LedgerSheet(cols, rows(), total)


def _learning_support(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    notes = LearningSupportNote.objects.filter(plan=OuterRef("pk")).order_by("-note_date", "-pk")
    in_term = Q(notes__note_date__range=(term.start, term.end))
    qs = (scoped(LearningSupportPlan).filter(start_date__lte=term.end)
          .annotate(n_term=Count("notes", filter=in_term),
                    last_date=Subquery(notes.values("note_date")[:1]),
                    last_progress=Subquery(notes.values("progress")[:1]))
          .filter(Q(active=True) | Q(start_date__gte=term.start) | Q(n_term__gt=0))
          .select_related("student__school").order_by("student__school__code", "student__grade", "pk"))
    g, h = "帮教计划", "帮扶记录"
    cols = _student_cols("学生信息", school=school) + [
        C("责任教师", "teacher", 10, g), C("学困表现", "difficulty", 20, g),
        C("帮扶措施", "measures", 28, g), C("帮扶目标", "goals", 20, g),
        C("开始日期", "start_date", 12, g, "date"), C("状态", "state", 8, g),
        C("本学期次数", "n_term", 8, h, "int"), C("最近日期", "last_date", 12, h, "date"),
        C("最近进展", "last_progress", 28, h)]

    def rows():
        for p in qs.iterator(chunk_size=CHUNK):
            yield {**_student_row(p.student, f), "teacher": p.teacher, "difficulty": p.difficulty,
                   "measures": p.measures, "goals": p.goals, "start_date": p.start_date,
                   "state": "帮扶中" if p.active else "已结束", "n_term": p.n_term,
                   "last_date": p.last_date, "last_progress": p.last_progress or ""}

    return LedgerSheet(cols, rows(), lambda: {"name": _count_text(qs.count(), "人")})


def _aid(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(AidRecord).filter(term=term.code).select_related("student__school")
          .order_by("student__school__code", "student__grade", "student__class_name", "student__name",
                    "pk"))
    g = "资助情况"
    cols = _student_cols("学生信息", school=school, number=True,
                         extra=(C("困难类型", "flags", 14, "学生信息"),)) + [
        C("资助类型", "kind", 14, g), C("金额（元）", "amount", 12, g, "money"),
        C("发放日期", "granted_on", 12, g, "date"), C("资金来源", "source", 16, g)]

    def flags(s: Student) -> str:
        names = (("is_poor", "建档立卡/脱贫"), ("is_monitored", "防返贫监测"), ("is_dibao", "低保"),
                 ("is_tekun", "特困供养"))
        return "、".join(label for flag, label in names if getattr(s, flag))

    kinds = _labels(AidRecord.Kind.choices)

    def rows():
        for a in qs.iterator(chunk_size=CHUNK):
            yield {**_student_row(a.student, f), "flags": flags(a.student), "kind": kinds.get(a.kind, a.kind),
                   "amount": float(a.amount), "granted_on": a.granted_on, "source": a.source}

    def total():
        agg = qs.order_by().aggregate(n=Count("pk"), amount=Sum("amount"))
        return {"name": _count_text(agg["n"], "人次"), "amount": float(agg["amount"] or 0)}

    return LedgerSheet(cols, rows(), total)


def _family_contact(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (scoped(FamilyContact).filter(contact_date__range=(term.start, term.end))
          .select_related("school", "student").order_by("school__code", "contact_date", "pk"))
    cols = [C("学校", "school", 22, "联系情况")] if school else []
    cols += [C("日期", "date", 12, "联系情况", "date"), C("方式", "kind", 10, "联系情况"),
             C("学生", "student", 10, "联系对象"), C("班级", "class_name", 10, "联系对象"),
             C("参与教师", "staff", 16, "联系内容"), C("内容", "content", 36, "联系内容"),
             C("效果", "outcome", 28, "联系内容")]

    kinds = _labels(FamilyContact.Kind.choices)

    def rows():
        for c in qs.iterator(chunk_size=CHUNK):
            yield {"school": c.school.name, "date": c.contact_date, "kind": kinds.get(c.kind, c.kind),
                   "student": c.student.name if c.student_id else "",
                   "class_name": c.class_name or ("" if c.student_id else "全校"),
                   "staff": c.staff, "content": c.content, "outcome": c.outcome}

    first = cols[0].key
    return LedgerSheet(cols, rows(), lambda: {first: _count_text(qs.count(), "次")})


def _absences(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    qs = (with_risk(scoped(Absence).filter(start_date__range=(term.start, term.end)))
          .select_related("student__school").order_by("student__school__code", "start_date", "pk"))
    g = "缺课情况"
    cols = _student_cols("学生信息", school=school, extra=(
        C("监护人", "guardian", 10, "学生信息"), C("监护人电话", "phone", 14, "学生信息"))) + [
        C("缺课开始", "start_date", 12, g, "date"), C("缺课结束", "end_date", 12, g, "date"),
        C("教学日", "days", 8, g, "int"), C("已说明原因", "explained", 8, g),
        C("辍学风险", "risk", 8, g), C("查明原因", "reason", 22, "跟进情况"),
        C("跟进措施", "follow_up", 28, "跟进情况")]

    def rows():
        for a in qs.iterator(chunk_size=CHUNK):
            s = a.student
            yield {**_student_row(s, f), "guardian": s.guardian_name, "phone": f.phone(s.guardian_phone),
                   "start_date": a.start_date, "end_date": a.end_date, "days": a.school_days,
                   "explained": _yes(a.explained), "risk": "是" if a.at_risk else "",
                   "reason": a.reason_found, "follow_up": a.follow_up}

    def total():
        agg = qs.order_by().aggregate(n=Count("pk"), days=Coalesce(Sum("school_days"), 0),
                                      risk=Count("pk", filter=Q(at_risk=True)))
        return {"name": _count_text(agg["n"], "人次"), "days": agg["days"], "risk": f"{agg['risk']}人次"}

    return LedgerSheet(cols, rows(), total)


def _publicity(scoped: Scoped, term: Term, f: _Fmt, school: bool) -> LedgerSheet:
    photos = (Attachment.objects.filter(
        content_type=ContentType.objects.get_for_model(PublicityActivity), object_id=OuterRef("pk"))
        .order_by().values("object_id").annotate(n=Count("pk")).values("n"))
    qs = (scoped(PublicityActivity).filter(activity_date__range=(term.start, term.end))
          .annotate(n_photos=Coalesce(Subquery(photos, output_field=IntegerField()), 0))
          .select_related("school").order_by("school__code", "activity_date", "pk"))
    cols = [C("学校", "school", 22, "活动情况")] if school else []
    cols += [C("日期", "date", 12, "活动情况", "date"), C("形式", "kind", 10, "活动情况"),
             C("对象", "audience", 16, "活动情况"), C("参与人数", "participants", 10, "活动情况", "int"),
             C("活动内容", "description", 40, "活动内容"), C("照片（张）", "photos", 10, "活动内容", "int")]

    kinds = _labels(PublicityActivity.Kind.choices)

    def rows():
        for p in qs.iterator(chunk_size=CHUNK):
            yield {"school": p.school.name, "date": p.activity_date, "kind": kinds.get(p.kind, p.kind),
                   "audience": p.audience, "participants": p.participants,
                   "description": p.description, "photos": p.n_photos}

    def total():
        agg = qs.order_by().aggregate(n=Count("pk"), people=Coalesce(Sum("participants"), 0))
        return {cols[0].key: _count_text(agg["n"], "次"), "participants": agg["people"]}

    return LedgerSheet(cols, rows(), total)


BUILDERS: dict[str, Callable[[Scoped, Term, _Fmt, bool], LedgerSheet]] = {
    "status_changes": _status_changes,
    "returns": _returns,
    "vocational": _vocational,
    "out_of_county": _out_of_county,
    "deferrals": _deferrals,
    "home_teaching": _home_teaching,
    "learning_support": _learning_support,
    "aid": _aid,
    "family_contact": _family_contact,
    "absences": _absences,
    "publicity": _publicity,
}


def build_sheet(name: str, *, scoped: Scoped, scope: ExportScope, term: Term | None,
                full: bool) -> LedgerSheet:
    """Columns and rows of ledger `name`; `term=None` builds the empty template."""
    builder = BUILDERS[name]
    sheet = builder(scoped, term or Term(2000, "spring"), _Fmt(full), scope.level != "school")
    if term is None:
        return LedgerSheet(sheet.columns, iter(()), None)
    if not full:
        # Notes, reasons and visit records are typed by people: an ID inside one is masked by
        # shape, like the ID columns (issue 15).
        sheet = LedgerSheet(sheet.columns, _masked_rows(sheet.rows), sheet.total)
    return sheet


def _masked_rows(rows: Iterator[dict]) -> Iterator[dict]:
    for row in rows:
        yield {k: mask_ids_in_value(v) for k, v in row.items()}


def ledger_title(name: str, scope: ExportScope, term: Term | None) -> str:
    term_label = term.label if term is not None else ""
    return f"{scope.title_unit}{term_label}{KINDS[name].verbose}台账"


def filename_for(name: str, scope: ExportScope, term: Term | None, day: dt.date) -> str:
    suffix = "模板" if term is None else f"{day:%Y%m%d}"
    return f"{ledger_title(name, scope, term)}_{suffix}.xlsx"
