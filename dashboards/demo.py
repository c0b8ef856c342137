"""Demo rows of the dashboards app: grade-1 intake counts of the cohort graduating this year."""

from __future__ import annotations

from django.db.models import Count, Q

from dashboards.models import CohortIntake
from dashboards.params import COHORT_SPAN
from kongchuo.schoolyear import school_year_of, today
from students.models import Student


def seed_cohort_intakes(rng, stdout) -> None:
    """Intake nine years back, a little above this year's grade 9 (a 巩固率 near 99.3%),
    spread over the schools that teach grade 1 in proportion to their grade-1 classes today,
    with a few transfers recorded before the portal existed."""
    year = school_year_of(today()) - COHORT_SPAN
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
        stdout.write(f"入学队列人数 / cohort intakes: {len(rows)} schools, {year}")
