"""Demo rows of the dashboards app: grade-1 intake counts of the cohort graduating this year."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from dashboards.models import CohortIntake
from dashboards.params import COHORT_SPAN
from dashboards.yearclose import school_year_close
from kongchuo.calendar.schoolyear import school_year_of, today
from ledgers.models import AidRecord
from ledgers.selectors import AID_ELIGIBLE, POOR
from retrieval.models import Alert, RetrievalCase
from students.models import StatusChange, Student, User


def seed_cohort_intakes(rng, stdout, school_year: int | None = None) -> None:
    """Intake nine years back, a little above this year's grade 9 (a 巩固率 near 99.3%),
    spread over the schools that teach grade 1 in proportion to their grade-1 classes today,
    with a few transfers recorded before the portal existed. `school_year`: the year whose
    grade 9 graduates (default: the current one)."""
    year = (school_year if school_year is not None else school_year_of(today())) - COHORT_SPAN
    grade9 = Student.objects.filter(grade=9, status__in=("enrolled", "home_teaching")).count()
    by_school = dict(Student.objects.filter(grade=1).values("school_id")
                     .annotate(n=Count("pk", filter=Q(status="enrolled"))).values_list("school_id", "n"))
    weight = sum(by_school.values())
    if not grade9 or not weight:
        return
    # Adjustments from before the portal: a few transfers per thousand, on random schools.
    moved_out = {sid for sid in by_school if rng.random() < 0.003 * grade9 / len(by_school)}
    moved_in = {sid for sid in by_school if rng.random() < 0.002 * grade9 / len(by_school)}
    target = round(grade9 / 0.993) + len(moved_out) - len(moved_in)
    # Largest-remainder split: the school counts add up to the target exactly.
    shares = {sid: target * n / weight for sid, n in by_school.items()}
    counts = {sid: int(share) for sid, share in shares.items()}
    rest = target - sum(counts.values())
    for sid in sorted(shares, key=lambda s: shares[s] - counts[s], reverse=True)[:rest]:
        counts[sid] += 1
    rows = []
    for school_id in sorted(counts):
        rows.append(CohortIntake(year=year, school_id=school_id, grade1_count=counts[school_id],
                                 transfers_out=int(school_id in moved_out),
                                 transfers_in=int(school_id in moved_in),
                                 note="演示数据（学籍档案）", source="seed"))
    CohortIntake.objects.bulk_create(rows, batch_size=1000)
    if stdout is not None:
        stdout.write(gettext("入学队列人数：%(year)d学年，%(schools)d 所学校") % {"year": year, "schools": len(rows)})


# ----------------------------------------------------------------------------- last school year


def seed_last_year(rng, stdout, year: int) -> None:
    """The demo county's previous school year `year`, closed: a 留级 list, the spring term's
    return-check alerts (mostly dismissed, some confirmed and brought back by 劝返), the spring
    term's aid, then the real rollover, which freezes the year's figures."""
    archive, _created = User.objects.get_or_create(
        username="demo_archive", defaults={"role": "county", "first_name": "往年记录"})
    if _created:
        archive.set_unusable_password()
        archive.save(update_fields=["password"])
    spring = f"{year + 1}-spring"

    def at(day: dt.date, hour: int = 10) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))

    enrolled = list(Student.objects.filter(status="enrolled").order_by("pk")
                    .values_list("pk", "id_number", "name", "school_id", "school__township_id", "grade"))
    repeaters = [s for s in enrolled if s[5] < 9 and rng.random() < 0.002]
    StatusChange.objects.bulk_create([StatusChange(
        student_id=pk, kind=StatusChange.Kind.REPEAT, effective_date=dt.date(year + 1, 6, 20),
        from_status="enrolled", to_status="enrolled", reason="家长申请，学业未达标", source="seed")
        for pk, *_rest in repeaters], batch_size=1000)
    flagged = [s for s in enrolled if rng.random() < 0.006]
    alerts, decided = [], []
    for pk, id_number, name, school_id, township_id, _grade in flagged:
        r = rng.random()
        status = "dismissed" if r < 0.75 else "confirmed" if r < 0.95 else "resolved"
        raised = dt.date(year + 1, 3, rng.randint(2, 20))
        alerts.append(Alert(rule=Alert.Rule.RETURN_CHECK, period=spring, subject=id_number,
                            student_id=pk, name=name, school_id=school_id, township_id=township_id,
                            level="school", status=status, detail={"term": spring, "last_status": "enrolled"},
                            due_date=raised + dt.timedelta(days=7)))
        decided.append((raised, raised + dt.timedelta(days=rng.randint(1, 10))))
    created = Alert.objects.bulk_create(alerts, batch_size=1000)
    cases = []
    for alert, (raised, closed) in zip(created, decided, strict=True):
        Alert.objects.filter(pk=alert.pk).update(raised_at=at(raised), closed_at=at(closed))
        if alert.status == "confirmed":
            opened = closed + dt.timedelta(days=1)
            cases.append((alert, opened, opened + dt.timedelta(days=rng.randint(7, 60))))
    for alert, opened, closed in cases:
        case = RetrievalCase.objects.create(
            student_id=alert.student_id, id_number=alert.subject, name=alert.name,
            school_id=alert.school_id, township_id=alert.township_id, status="closed",
            reason=rng.choice(["weary", "learning", "work", "poverty"]),
            closure_category="returned" if rng.random() < 0.85 else "elsewhere",
            opened_by=archive, closed_by=archive, placement="regular")
        RetrievalCase.objects.filter(pk=case.pk).update(opened_at=at(opened), closed_at=at(closed))
        case.alerts.add(alert)
    poor = Student.objects.filter(POOR, status__in=AID_ELIGIBLE).values_list("pk", flat=True)
    AidRecord.objects.bulk_create([AidRecord(
        student_id=pk, term=spring, kind="tuition", amount=0, granted_on=dt.date(year + 1, 3, 15),
        source="中央和地方财政", created_by=archive) for pk in poor if rng.random() < 0.96], batch_size=1000)
    seed_cohort_intakes(rng, stdout, school_year=year)  # last year's 巩固率 by its cohort
    result = school_year_close(year=year, user=archive, today=dt.date(year + 1, 8, 20))
    if stdout is not None:
        stdout.write(gettext(
            "上学年结转（%(year)d）：升级 %(promoted)d，小学毕业 %(graduated_primary)d，"
            "初中毕业 %(graduated_junior)d，不升级 %(held_back)d，留级 %(repeated)d；"
            "预警 %(alerts)d，劝返 %(cases)d") % {
            "year": year, "promoted": result.promoted, "graduated_primary": result.graduated_primary,
            "graduated_junior": result.graduated_junior, "held_back": result.held_back,
            "repeated": result.repeated, "alerts": len(created), "cases": len(cases)})
