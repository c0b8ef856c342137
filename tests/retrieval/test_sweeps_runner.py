"""The common runner: idempotency, partitions, resolving, counts, the CLI contract, the tasks."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django_celery_beat.models import PeriodicTask

from ledgers.models import (
    Absence,
    Deferral,
    HomeTeachingPlan,
    ReturnReport,
)
from retrieval.models import Alert, FeedbackBatch, FeedbackItem, SweepRun
from retrieval.sweeps import SWEEP_NAMES
from retrieval.sweeps.base import DIRECT
from retrieval.sweeps.runner import sweep_run_create, sweep_run_start
from retrieval.tasks import sweep_partition, sweep_scheduled
from students.models import RosterGap, SupportMark, TransferRequest
from tests.retrieval.sweepkit import census, change, new_id, run, snapshot, student

pytestmark = pytest.mark.django_db
D = dt.date

#: One as-of date per sweep at which the rich county below raises alerts.
AS_OF = {
    "return_check": D(2026, 3, 2), "grade9_screening": D(2026, 5, 20), "census": D(2026, 7, 15),
    "feedback_verification": D(2026, 11, 20), "home_teaching": D(2026, 4, 3),
    "aid_coverage": D(2026, 3, 20), "absence": D(2026, 3, 12), "expiries": D(2026, 3, 2),
    "overdue": D(2026, 3, 12), "transfer_unreceived": D(2026, 3, 20),
}


@pytest.fixture
def rich(county):
    """The two-township county with something for every rule in every partition."""
    for school in (county.a_primary, county.a_center, county.b_primary, county.b_center,
                   county.direct):
        t = school.township
        for i in range(3):
            s = student(school, grade=9 if school.kind != "primary" else 4, is_poor=i == 0)
            if i == 1:
                ReturnReport.objects.create(student=s, term="2026-spring", reported_on=D(2026, 2, 20))
            if i == 2:
                Absence.objects.create(student=s, start_date=D(2026, 3, 9), end_date=D(2026, 3, 11),
                                       school_days=3)
        left = student(school, grade=9, status="out_of_county")
        change(left, "transfer_out", D(2026, 3, 20), to_status="out_of_county")
        home = student(school, status="home_teaching")
        HomeTeachingPlan.objects.create(student=home, disability_category="肢体残疾", teachers="李",
                                        start_date=D(2025, 9, 1))
        susp = student(school, status="suspended")
        change(susp, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 3, 10))
        Deferral.objects.create(school=school, id_number=new_id(D(2020, 2, 2)), name="延缓",
                                birth_date=D(2020, 2, 2), guardian_name="家长", reason="病",
                                certificate="证明", start_date=D(2025, 9, 1), end_date=D(2026, 3, 5),
                                review="approved")
        census(t, D(2012, 6, 1), year=2026)
        census(t, D(2020, 6, 1), year=2026)
        # Issue 16: a 转出 to this school not received (转出未接收), a child missing from the
        # term's roster (名册缺失), a support-list child of the township in no school.
        sender = county.b_center if school != county.b_center else county.a_center
        leaving = student(sender, status="transferring")
        TransferRequest.objects.create(
            student=leaving, from_school=sender, to_school=school, direction="out",
            status_before="enrolled", grade=4, reason="随父母", requested_on=D(2026, 3, 2),
            requested_by=county.county_user)
        RosterGap.objects.create(term="2026-spring", school=school, student=student(school),
                                 found_on=D(2026, 2, 20))
        SupportMark.objects.create(kind="poor", id_number=new_id(D(2013, 4, 4)), name="帮扶",
                                   listed_on=D(2026, 1, 1),
                                   township=None if school.oversight == "county" else t)
    grad = student(county.b_primary, birth=D(2014, 2, 2), grade=6, status="graduated")
    change(grad, "graduate", D(2026, 7, 1), to_status="graduated")
    batch = FeedbackBatch.objects.create(title="反馈", received_on=D(2026, 11, 1), due_date=D(2026, 11, 11))
    for row, id_number in enumerate([county.s_a.id_number, county.s_b.id_number,
                                     county.s_direct.id_number, new_id(D(2013, 3, 3))], start=2):
        FeedbackItem.objects.create(batch=batch, row=row, name="反馈", id_number=id_number,
                                    due_date=D(2026, 11, 11))
    return county


def _partition_keys(county) -> list[str]:
    return [county.ta.code, county.tb.code, DIRECT]


# ----------------------------------------------------------------------------- idempotency


@pytest.mark.parametrize("name", [n for n in SWEEP_NAMES if n != "overdue"])
def test_running_twice_creates_nothing_new(rich, name):
    first = run(name, AS_OF[name])
    assert first.created > 0, f"the rich county should raise {name} alerts"
    before = snapshot()
    second = run(name, AS_OF[name])
    assert (second.created, second.already_open, second.resolved) == (0, first.created, 0)
    assert snapshot() == before
    assert second.alerts.count() == 0


@pytest.mark.parametrize("name", [n for n in SWEEP_NAMES if n != "overdue"])
def test_per_township_runs_union_equals_the_whole_county_run(rich, name):
    whole = run(name, AS_OF[name])
    expected = snapshot()
    Alert.objects.all().delete()
    created = 0
    for key in _partition_keys(rich):
        created += run(name, AS_OF[name], township=key).created
    assert snapshot() == expected
    assert created == whole.created


def test_the_partitions_of_a_run_add_up(rich):
    r = run("return_check", AS_OF["return_check"])
    assert set(r.per_township) == set(_partition_keys(rich))
    assert sum(e["created"] for e in r.per_township.values()) == r.created
    assert all(e["state"] == "done" for e in r.per_township.values())
    direct = r.per_township[DIRECT]
    assert direct["created"] == Alert.objects.filter(school__oversight="county").count()
    assert r.duration_ms is not None and r.finished_at is not None


# ----------------------------------------------------------------------------- resolve / reopen


def test_reporting_back_resolves_and_deleting_the_report_reopens(county):
    as_of = D(2026, 3, 2)
    run("return_check", as_of)
    report = ReturnReport.objects.create(student=county.s_a, term="2026-spring", reported_on=as_of)
    r = run("return_check", as_of)
    alert = Alert.objects.get(subject=county.s_a.id_number)
    assert (r.resolved, alert.status) == (1, "resolved") and alert.closed_at is not None
    report.delete()
    r = run("return_check", as_of)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_at, r.created, r.already_open) == ("open", None, 0, 4)
    assert sum(e["reopened"] for e in r.per_township.values()) == 1


def test_decided_alerts_are_neither_raised_again_nor_resolved(county):
    as_of = D(2026, 3, 2)
    run("return_check", as_of)
    Alert.objects.filter(subject=county.s_a.id_number).update(status="dismissed")
    Alert.objects.filter(subject=county.s_b.id_number).update(status="confirmed")
    ReturnReport.objects.create(student=county.s_b, term="2026-spring", reported_on=as_of)
    r = run("return_check", as_of)
    assert (r.created, r.resolved) == (0, 0)
    assert dict(Alert.objects.values_list("subject", "status"))[county.s_a.id_number] == "dismissed"
    assert dict(Alert.objects.values_list("subject", "status"))[county.s_b.id_number] == "confirmed"


def test_an_open_alert_follows_its_child_to_another_township(county):
    as_of = D(2026, 3, 2)
    run("return_check", as_of)
    county.s_a.school = county.b_primary
    county.s_a.save()
    r = run("return_check", as_of)
    alert = Alert.objects.get(subject=county.s_a.id_number)
    assert (alert.status, alert.school_id, alert.township_id) == ("open", county.b_primary.pk, county.tb.pk)
    # Township A (first) no longer finds the child and resolves the alert routed to it;
    # township B finds the child and re-opens it, routed to B. Nothing is duplicated.
    assert (r.created, r.resolved, r.per_township[county.tb.code]["reopened"]) == (0, 1, 1)
    Alert.objects.filter(pk=alert.pk).update(school=county.a_primary, township=county.ta)
    r = run("return_check", as_of, township=county.tb.code)  # B alone re-routes it too
    alert.refresh_from_db()
    assert (alert.status, alert.school_id, r.resolved) == ("open", county.b_primary.pk, 0)


def test_a_township_run_resolves_only_its_own_alerts(county):
    as_of = D(2026, 3, 2)
    run("return_check", as_of)
    for s in (county.s_a, county.s_b):
        ReturnReport.objects.create(student=s, term="2026-spring", reported_on=as_of)
    r = run("return_check", as_of, township=county.tb.code)
    statuses = dict(Alert.objects.values_list("subject", "status"))
    assert r.resolved == 1
    assert statuses[county.s_b.id_number] == "resolved"
    assert statuses[county.s_a.id_number] == "open"


# ----------------------------------------------------------------------------- set-based


@pytest.mark.parametrize("name", ["return_check", "census", "aid_coverage", "expiries"])
def test_query_count_does_not_grow_with_the_county(county, name):
    def queries() -> int:
        Alert.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            run(name, AS_OF[name])
        return len(ctx.captured_queries)

    for _ in range(3):
        student(county.a_primary, is_poor=True)
        census(county.ta, D(2012, 1, 1), year=2026)
    small = queries()
    for _ in range(30):
        student(county.a_primary, is_poor=True)
        student(county.b_primary, is_poor=True)
        census(county.tb, D(2013, 1, 1), year=2026)
    assert queries() == small


# ----------------------------------------------------------------------------- the CLI


def _cli(*args) -> str:
    out = io.StringIO()
    call_command("run_sweep", *args, stdout=out)
    return out.getvalue()


def test_json_output_is_one_object_with_the_contract_keys(county):
    out = _cli("return_check", "--as-of", "2026-03-02", "--json")
    data = json.loads(out)
    assert list(data) == ["sweep", "as_of", "period", "created", "already_open", "resolved", "alerts"]
    assert (data["sweep"], data["as_of"], data["period"], data["created"], data["already_open"],
            data["resolved"]) == ("return_check", "2026-03-02", "2026-spring", 4, 0, 0)
    assert {(a["id_number"], a["rule"], a["school_code"], a["period"]) for a in data["alerts"]} == {
        (s.id_number, "return_check", s.school.code, "2026-spring")
        for s in (county.s_a, county.s_a2, county.s_b, county.s_direct)}
    again = json.loads(_cli("return_check", "--as-of", "2026-03-02", "--json"))
    assert (again["created"], again["already_open"], again["alerts"]) == (0, 4, [])


def test_json_for_one_township(county):
    data = json.loads(_cli("return_check", "--as-of", "2026-03-02", "--township", county.tb.code, "--json"))
    assert [a["id_number"] for a in data["alerts"]] == [county.s_b.id_number]
    run_row = SweepRun.objects.get()
    assert (run_row.township_code, run_row.trigger, list(run_row.per_township)) == (
        county.tb.code, "cli", [county.tb.code])


def test_json_census_alerts_have_no_school(county):
    entry = census(county.ta, D(2012, 1, 1), year=2026)
    data = json.loads(_cli("census", "--as-of", "2026-07-15", "--json"))
    assert {"id_number": entry.id_number, "rule": "census", "school_code": None, "period": "2026"} in data["alerts"]


def test_plain_output(county):
    assert "新增 4" in _cli("return_check", "--as-of", "2026-03-02")


@pytest.mark.parametrize(("args", "message"), [
    (["nonsense", "--as-of", "2026-03-02"], "未知排查"),
    (["return_check", "--as-of", "2026-13-02"], "日期格式应为 YYYY-MM-DD：2026-13-02"),
    (["return_check", "--as-of", "yesterday"], "日期格式应为 YYYY-MM-DD"),
    (["return_check", "--as-of", "2026-03-02", "--township", "999999999"], "未知乡镇代码"),
])
def test_cli_refuses_bad_input(county, args, message):
    with pytest.raises(CommandError, match=message):
        _cli(*args)
    assert not SweepRun.objects.exists()


def test_cli_exits_non_zero(county):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exc:
        ManagementUtility(["manage.py", "run_sweep", "nope", "--as-of", "2026-03-02"]).execute()
    assert exc.value.code != 0


# ----------------------------------------------------------------------------- tasks


def test_run_now_enqueues_on_commit_and_runs_every_partition(county, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = sweep_run_start(sweep="return_check", as_of=D(2026, 3, 2), user=county.county_user)
        assert SweepRun.objects.get(pk=r.pk).status == "running"  # nothing ran before commit
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks(execute=True):  # the commit: the dispatch, then its partitions
        callbacks[0]()
    r.refresh_from_db()
    assert (r.status, r.created, r.triggered_by, r.trigger) == ("succeeded", 4, county.county_user, "manual")
    assert all(e["state"] == "done" and e["attempts"] == 1 for e in r.per_township.values())


def test_a_partition_delivered_twice_is_computed_once(county):
    r = sweep_run_create(sweep="return_check", as_of=D(2026, 3, 2))
    key = county.ta.code
    first = sweep_partition.apply(args=(r.pk, key)).get()
    second = sweep_partition.apply(args=(r.pk, key)).get()
    assert first["created"] == 2 and second is None
    r.refresh_from_db()
    assert (r.per_township[key]["created"], r.status) == (2, "running")  # other partitions pending
    for other in (county.tb.code, DIRECT):
        sweep_partition.apply(args=(r.pk, other)).get()
    r.refresh_from_db()
    assert (r.status, r.created) == ("succeeded", 4)


def test_a_failing_partition_fails_the_run(county, monkeypatch):
    import retrieval.sweeps.runner as runner

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runner, "partition_compute", boom)
    r = run_failed = sweep_run_create(sweep="return_check", as_of=D(2026, 3, 2))
    with pytest.raises(RuntimeError):
        sweep_partition.apply(args=(r.pk, county.ta.code), throw=True)
    monkeypatch.undo()
    for key in (county.tb.code, DIRECT):
        sweep_partition.apply(args=(r.pk, key)).get()
    run_failed.refresh_from_db()
    assert run_failed.status == "failed"
    assert run_failed.per_township[county.ta.code]["state"] == "failed"
    assert "disk on fire" in run_failed.per_township[county.ta.code]["error"]
    assert county.ta.code in run_failed.message


def test_beat_entry_point_runs_once_a_day(county, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(dt.datetime(2026, 3, 2, 1, 10, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):  # its dispatch is queued on commit
        first = sweep_scheduled.apply(args=("return_check",)).get()
    second = sweep_scheduled.apply(args=("return_check",)).get()
    r = SweepRun.objects.get()
    assert first == second == r.pk
    assert (r.trigger, r.as_of, r.status, r.created) == ("beat", D(2026, 3, 2), "succeeded", 4)


def test_stale_running_runs_are_marked_failed(county):
    stale = sweep_run_create(sweep="return_check", as_of=D(2026, 3, 2))
    SweepRun.objects.filter(pk=stale.pk).update(started_at=stale.started_at - dt.timedelta(hours=3))
    with translation.override("en"):
        sweep_run_create(sweep="return_check", as_of=D(2026, 3, 2))
    stale.refresh_from_db()
    assert stale.status == "failed" and "Timed out" in stale.message


def test_the_beat_schedule_is_in_the_database(db):
    tasks = {json.loads(t.kwargs)["sweep"]: t for t in
             PeriodicTask.objects.filter(task="retrieval.tasks.sweep_scheduled").select_related("crontab")}
    assert set(tasks) == set(SWEEP_NAMES)
    rc = tasks["return_check"].crontab
    assert (rc.month_of_year, rc.hour, str(rc.timezone)) == ("2,3,9", "1", "Asia/Shanghai")
    # July–August, and September for the 两一 gap of primary graduates (migration 0006)
    assert tasks["census"].crontab.month_of_year == "7,8,9"
    assert tasks["census"].name == "排查 census：适龄儿童摸排（7–9月每周一）"
    assert all(t.enabled for t in tasks.values())


def test_new_alert_columns_get_their_defaults(county):
    run("return_check", D(2026, 3, 2))
    a = Alert.objects.first()
    assert (a.reminders, a.reminded_on, a.closed_at) == (0, None, None)


def test_a_feedback_import_raises_its_verification_alerts(county, tmp_path,
                                                          django_capture_on_commit_callbacks):
    from kongchuo.imports.pipeline import import_run
    from tests.imports.conftest import write_xlsx

    outsider = new_id(D(2013, 5, 5))
    path = write_xlsx(tmp_path / "fb.xlsx", [
        [1, county.s_a.name, county.s_a.id_number, county.a_primary.name, "疑似辍学"],
        [2, "郝某", outsider, "", "户籍在本县未见学籍"],
    ], header=["序号", "姓名", "身份证件号", "学校名称", "问题类型"], title="省反馈名单", info=None)
    with django_capture_on_commit_callbacks(execute=True):
        import_run(kind="feedback", path=path, user=county.county_user)
    r = SweepRun.objects.get(sweep="feedback_verification")
    assert (r.trigger, r.status, r.created) == ("import", "succeeded", 2)
    batch = FeedbackBatch.objects.get()
    levels = dict(Alert.objects.filter(rule="feedback_verification", period=f"fb{batch.pk}")
                  .values_list("subject", "level"))
    assert levels == {county.s_a.id_number: "school", outsider: "county"}
