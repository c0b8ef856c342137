"""What an alert says to a clerk: its name, its period and its evidence as Chinese sentences.

A sweep stores the facts behind an alert in `Alert.detail` (JSON keyed for machines:
``{"start": "2026-12-01", "school_days": 4}``). The pages never show those keys: each rule's
facts are written here as the sentence a clerk would write ("2026年12月1日至12月4日连续4个
上课日缺课，未请假"). A rule or key this module does not know yet is shown by its value alone,
never by its key.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from kongchuo.access.idnumbers import mask_id
from kongchuo.calendar.schoolyear import date_label, period_label, term_label
from retrieval.models import Alert
from students.models import StatusChange, Student


def _status(code) -> str:
    return str(dict(Student.Status.choices).get(code, code or ""))


def _change(code) -> str:
    return str(dict(StatusChange.Kind.choices).get(code, code or ""))


def _rule(code) -> str:
    return str(dict(Alert.Rule.choices).get(code, code or ""))


def _span(start, end) -> str:
    """2026年12月1日至12月4日 (the year once when both ends share it)."""
    first, last = date_label(start), date_label(end)
    if not last or first == last:
        return first
    if str(start)[:4] == str(end)[:4]:
        last = last.removeprefix(_("%(year)s年") % {"year": str(end)[:4]})
    return _("%(start)s至%(end)s") % {"start": first, "end": last}


def _return_check(d: dict) -> list[str]:
    term = term_label(str(d.get("term", "")))
    return [_("上学期在读（%(status)s），%(term)s开学后未报到，且无转学、请假或休学记录")
            % {"status": _status(d.get("last_status", Student.Status.ENROLLED)), "term": term}]


def _absence(d: dict) -> list[str]:
    return [_("%(span)s连续%(days)s个上课日缺课，未请假")
            % {"span": _span(d.get("start"), d.get("end")), "days": d.get("school_days", "")}]


def _census(d: dict) -> list[str]:
    kind = d.get("kind")
    born = date_label(d.get("birth_date"))
    year = d.get("year", "")
    if kind == "grade1":
        text = _("%(born)s出生，%(year)s年秋季应入小学一年级，未查到入学记录") % {"born": born, "year": year}
    elif kind == "grade7":
        text = _("%(born)s出生，小学已毕业，%(year)s年秋季应升入初中一年级，未查到入学记录") % {
            "born": born, "year": year}
    else:
        text = _("%(born)s出生，户籍在本乡镇，%(year)s年为义务教育适龄儿童，未在任何学校就读，也无外县就读、中职、"
                 "延缓入学或送教上门记录") % {"born": born, "year": year}
    out = [text]
    if d.get("student_status"):
        out.append(_("学籍状态：%(status)s") % {"status": _status(d["student_status"])})
    return out


def _grade9(d: dict) -> list[str]:
    since = date_label(d.get("since"))
    if d.get("kind") == "school":
        return [_("九年级在籍人数由%(since)s的%(before)s人降至%(now)s人，减少%(pct)s%%")
                % {"since": since, "before": d.get("autumn"), "now": d.get("now"), "pct": d.get("drop_pct")}]
    out = []
    if d.get("change"):
        out.append(_("%(since)s以来有%(change)s记录") % {"since": since, "change": _change(d["change"])})
    if d.get("absent_days"):
        out.append(_("%(since)s以来无故缺课%(days)s天") % {"since": since, "days": d["absent_days"]})
    return out


def _home_teaching(d: dict) -> list[str]:
    return [_("%(month)s送教上门%(visits)s次，少于每月2次")
            % {"month": period_label(str(d.get("month", ""))), "visits": d.get("visits", 0)}]


def _aid(d: dict) -> list[str]:
    return [_("困难家庭学生，%(term)s无“两免一补”资助记录") % {"term": term_label(str(d.get("term", "")))}]


def _expiry(d: dict) -> list[str]:
    ended = d.get("state") == "ended"
    what = _("延缓入学") if d.get("kind") == "deferral" else _("休学")
    day = date_label(d.get("end_date"))
    if ended:
        return [_("%(what)s已于%(day)s到期，尚未复学或办理新的手续") % {"what": what, "day": day}]
    return [_("%(what)s将于%(day)s到期，请提前安排复学") % {"what": what, "day": day}]


def _feedback(d: dict) -> list[str]:
    out = [_("上级反馈名单第%(row)s行") % {"row": d.get("row", "")}]
    if d.get("problem"):
        out.append(_("反馈问题：%(problem)s") % {"problem": d["problem"]})
    return out


def _overdue(d: dict) -> list[str]:
    since = date_label(d.get("since"))
    kind = d.get("kind")
    if kind == "no_attempt":
        return [_("劝返案件自%(since)s起7天以上无劝返记录") % {"since": since}]
    if kind == "escalation_unanswered":
        return [_("%(since)s上报属地政府后，逾期未登记处置情况") % {"since": since}]
    if kind == "alert_overdue":
        return [_("“%(rule)s”预警%(since)s已到办理期限，仍未核实") % {"rule": _rule(d.get("rule")), "since": since}]
    return [since] if since else []


_EVIDENCE = {
    Alert.Rule.RETURN_CHECK: _return_check,
    Alert.Rule.ABSENCE: _absence,
    Alert.Rule.CENSUS: _census,
    Alert.Rule.ENTRY: _census,
    Alert.Rule.GRADE9: _grade9,
    Alert.Rule.HOME_TEACHING: _home_teaching,
    Alert.Rule.AID: _aid,
    Alert.Rule.EXPIRY: _expiry,
    Alert.Rule.FEEDBACK: _feedback,
    Alert.Rule.OVERDUE: _overdue,
}


def _plain(value) -> str:
    """A value of a detail this module has no sentence for: dates and periods in words, IDs masked."""
    text = str(value)
    if len(text) == 18 and text[:17].isdigit():
        return mask_id(text)
    return period_label(text)


def alert_evidence(alert: Alert) -> list[str]:
    """The facts behind the alert, one Chinese sentence each (no keys, no codes)."""
    detail = alert.detail or {}
    writer = _EVIDENCE.get(alert.rule)
    if writer is not None:
        try:
            return [s for s in writer(detail) if s]
        except (TypeError, ValueError, KeyError):
            pass  # a detail of an older shape: fall back to its values
    return [_plain(v) for v in detail.values()
            if isinstance(v, str | int | float) and not isinstance(v, bool) and str(v).strip()]


def alert_period(alert: Alert) -> str:
    """The alert's period in words (2026年秋季学期, 2026年11月); an overdue reminder's period is
    an internal key, so it shows the date the work fell due."""
    if alert.rule == Alert.Rule.OVERDUE:
        return date_label((alert.detail or {}).get("since")) or "—"
    if alert.rule == Alert.Rule.FEEDBACK:
        return _("上级反馈名单")
    return period_label(alert.period)


def looks_like_id(subject: str) -> bool:
    """Whether an alert's subject is a child's ID number (not "school:CODE" or "row:N")."""
    return len(subject) == 18 and subject[:17].isdigit()


def alert_label(alert: Alert) -> str:
    """What to call an alert on a page: the child's name, else its subject with any ID masked."""
    if alert.name:
        return alert.name
    return mask_id(alert.subject) if looks_like_id(alert.subject) else alert.subject


def alert_id_masked(alert: Alert) -> str:
    """The ID-number column of an alert: masked, or a dash when the subject is not a child's
    ID (a school's grade-9 drop "school:CODE", a feedback row "row:N": alert_label names it)."""
    return mask_id(alert.subject) if looks_like_id(alert.subject) else "—"
