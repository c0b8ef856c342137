"""Writes of 督查 (county users): plan a visit, draw its weighted re-check sample, record the
results and findings, issue 整改通知, take the school's report and accept it (or send it back).

See `retrieval.workflow` for what every step shares (atomic, locked, re-scoped, signed).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Sequence
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.calendar.schoolyear import today as local_today
from ledgers.models import AidRecord
from retrieval.evidence.services import evidence_save
from retrieval.models import (
    Alert,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
    SupervisionSample,
    SupervisionVisit,
)
from retrieval.supervision.selectors import can_report_rectification
from retrieval.workflow import (
    WorkflowError,
    check_version,
    not_future,
    require_county,
    require_scope,
    row_lock,
    version_bump,
)
from students.models import School, Student, Township, User

_M = TypeVar("_M", bound=Model)


@transaction.atomic
def visit_plan(*, user: User, title: str, section: str, planned_on: dt.date,
               township: Township | None = None, school: School | None = None) -> SupervisionVisit:
    require_county(user)
    if not title.strip() or not section.strip():
        raise WorkflowError(_("请填写督查事项和股室"))
    if school is not None and township is None:
        township = school.township
    return SupervisionVisit.objects.create(
        title=title.strip(), section=section.strip(), planned_on=planned_on, township=township,
        school=school, planned_by=user)


def _visit_scope(qs: QuerySet[_M], visit: SupervisionVisit, school_field: str = "school",
                 township_field: str = "township") -> QuerySet[_M]:
    if visit.school_id:
        return qs.filter(**{f"{school_field}_id": visit.school_id})
    if visit.township_id:
        return qs.filter(Q(**{f"{school_field}__township_id": visit.township_id})
                         | Q(**{f"{school_field}__isnull": True, f"{township_field}_id": visit.township_id}))
    return qs


def _weighted_draw(rows: list[dict], n: int, rng: random.Random) -> list[dict]:
    """Weighted sampling without replacement (Efraimidis–Spirakis): key = u^(1/w)."""
    keyed = [(rng.random() ** (1.0 / r["weight"]), r) for r in rows]
    keyed.sort(key=lambda kr: kr[0], reverse=True)
    return [r for _, r in keyed[:n]]


def _population(qs: QuerySet[Model], student_path: str) -> list[dict]:
    aid = AidRecord.objects.filter(student_id=OuterRef(f"{student_path}_id"))
    rows = []
    for r in (qs.annotate(aid=Exists(aid))
              .values("pk", f"{student_path}__is_poor", f"{student_path}__is_monitored",
                      f"{student_path}__is_dibao", f"{student_path}__is_tekun",
                      f"{student_path}__disability_category", f"{student_path}__school__kind",
                      f"{student_path}__status", "aid").order_by("pk")):
        p = f"{student_path}__"
        poor = any(r[p + k] for k in ("is_poor", "is_monitored", "is_dibao", "is_tekun"))
        special = bool(r[p + "disability_category"]) or r[p + "school__kind"] == School.Kind.SPECIAL \
            or r[p + "status"] == Student.Status.HOME_TEACHING
        reasons = [label for flag, label in ((poor, "困难家庭"), (r["aid"], "资助"), (special, "特教"))
                   if flag]
        rows.append({"pk": r["pk"], "weight": 1.0 + 2 * poor + 1 * bool(r["aid"]) + 2 * special,
                     "reasons": "、".join(reasons)})
    return rows


@transaction.atomic
def visit_draw_sample(*, visit: SupervisionVisit, user: User, n_cases: int = 10,
                      n_alerts: int = 10, seed: int | None = None) -> list[SupervisionSample]:
    """Draw closed cases and dismissed alerts of the visit's scope to re-check, weighted toward
    poverty-family children (×3), aid recipients (×2) and special education (×3). The seed is
    kept on the visit, so the draw can be shown to be fair and repeated."""
    require_county(user)
    visit = row_lock(SupervisionVisit, visit.pk)
    if visit.samples.exists():
        raise WorkflowError(_("本次督查已抽样"))
    if n_cases < 0 or n_alerts < 0 or n_cases + n_alerts == 0 or n_cases + n_alerts > 200:
        raise WorkflowError(_("抽样数量应为 1–200"))
    seed = seed if seed is not None else secrets.randbits(48)
    rng = random.Random(seed)
    cases = _visit_scope(RetrievalCase.objects.filter(status=RetrievalCase.Status.CLOSED), visit)
    alerts = _visit_scope(Alert.objects.filter(status=Alert.Status.DISMISSED), visit)
    samples = []
    for r in _weighted_draw(_population(cases, "student"), n_cases, rng):
        samples.append(SupervisionSample(visit=visit, case_id=r["pk"], weight=r["weight"],
                                         weight_reasons=r["reasons"]))
    for r in _weighted_draw(_population(alerts, "student"), n_alerts, rng):
        samples.append(SupervisionSample(visit=visit, alert_id=r["pk"], weight=r["weight"],
                                         weight_reasons=r["reasons"]))
    SupervisionSample.objects.bulk_create(samples)
    visit.sample_seed = seed
    version_bump(visit, ["sample_seed"], user)
    audit_record(action="supervision_sample", user=user, obj=visit,
                 detail={"seed": seed, "cases": n_cases, "alerts": n_alerts, "drawn": len(samples)})
    return samples


@transaction.atomic
def sample_check(*, sample: SupervisionSample, user: User, result: str, note: str = "") -> SupervisionSample:
    require_county(user)
    sample = row_lock(SupervisionSample, sample.pk)
    if result not in (SupervisionSample.Result.OK, SupervisionSample.Result.PROBLEM):
        raise WorkflowError(_("请选择复查结果"))
    if result == SupervisionSample.Result.PROBLEM and not note.strip():
        raise WorkflowError(_("发现问题须填写说明"))
    sample.result = result
    sample.note = note.strip()
    sample.checked_by = user
    sample.checked_at = timezone.now()
    sample.save(update_fields=["result", "note", "checked_by", "checked_at"])
    return sample


@transaction.atomic
def finding_record(*, visit: SupervisionVisit, user: User, kind: str, description: str,
                   sample: SupervisionSample | None = None, school: School | None = None,
                   teacher_name: str = "") -> SupervisionFinding:
    """Record a problem. A finding that a teacher's conduct drove a child out (规范办学行为)
    names the teacher and is counted on the supervision page."""
    require_county(user)
    if kind not in SupervisionFinding.Kind.values:
        raise WorkflowError(_("请选择问题类型"))
    if not description.strip():
        raise WorkflowError(_("请填写问题描述"))
    if kind == SupervisionFinding.Kind.TEACHER_CONDUCT and not teacher_name.strip():
        raise WorkflowError(_("请填写涉及教师"))
    if sample is not None and sample.visit_id != visit.pk:
        raise WorkflowError(_("抽查对象不属于本次督查"))
    student = None
    township = None
    if sample is not None:
        subject = sample.case if sample.case_id else sample.alert
        assert subject is not None  # a sample is a case or an alert (sample_is_case_or_alert)
        student = subject.student
        school = school or subject.school
        township = subject.township
    school = school or visit.school
    if school is not None:
        township = school.township
    township = township or visit.township
    return SupervisionFinding.objects.create(
        visit=visit, sample=sample, kind=kind, description=description.strip(), school=school,
        township=township, student=student, teacher_name=teacher_name.strip(), recorded_by=user)


@transaction.atomic
def rectification_issue(*, finding: SupervisionFinding, user: User, requirement: str,
                        deadline: dt.date) -> RectificationOrder:
    require_county(user)
    if not requirement.strip():
        raise WorkflowError(_("请填写整改要求"))
    if deadline <= local_today():
        raise WorkflowError(_("整改期限须晚于今天"))
    if finding.school_id is None and finding.township_id is None:
        raise WorkflowError(_("问题未指明单位，无法下发整改"))
    order = RectificationOrder(finding=finding, school=finding.school, township=finding.township,
                               requirement=requirement.strip(), deadline=deadline, issued_by=user)
    order._history_user = user  # type: ignore[attr-defined]  # django-simple-history's author hook
    order.save()
    return order


@transaction.atomic
def rectification_report(*, order: RectificationOrder, user: User, version: int, report: str,
                         files: Sequence[UploadedFile] = ()) -> RectificationOrder:
    order = row_lock(RectificationOrder, order.pk)
    require_scope(RectificationOrder.objects, user, order.pk)
    check_version(order, version)
    if not can_report_rectification(user, order):
        raise PermissionDenied
    if not report.strip():
        raise WorkflowError(_("请填写整改情况"))
    order.report = report.strip()
    order.reported_by = user
    order.reported_at = timezone.now()
    order.status = RectificationOrder.Status.REPORTED
    version_bump(order, ["report", "reported_by", "reported_at", "status"], user)
    evidence_save(files, user=user, school=order.school, township=order.township,
                   rectification=order)
    return order


@transaction.atomic
def rectification_close(*, order: RectificationOrder, user: User, accept: bool,
                        note: str = "") -> RectificationOrder:
    """Accept the reported rectification (closed) or send it back (open again)."""
    require_county(user)
    order = row_lock(RectificationOrder, order.pk)
    if order.status != RectificationOrder.Status.REPORTED:
        raise WorkflowError(_("整改尚未反馈"))
    if not accept and not note.strip():
        raise WorkflowError(_("退回须填写意见"))
    order.close_note = note.strip()
    if accept:
        order.status = RectificationOrder.Status.CLOSED
        order.closed_by = user
        order.closed_at = timezone.now()
        version_bump(order, ["status", "closed_by", "closed_at", "close_note"], user)
    else:
        order.status = RectificationOrder.Status.OPEN
        version_bump(order, ["status", "close_note"], user)
    return order


@transaction.atomic
def visit_complete(*, visit: SupervisionVisit, user: User, visited_on: dt.date,
                   summary: str) -> SupervisionVisit:
    require_county(user)
    visit = row_lock(SupervisionVisit, visit.pk)
    not_future(visited_on, _("督查日期"))
    if not summary.strip():
        raise WorkflowError(_("请填写督查小结"))
    visit.visited_on = visited_on
    visit.summary = summary.strip()
    visit.status = SupervisionVisit.Status.DONE
    version_bump(visit, ["visited_on", "summary", "status"], user)
    return visit
