"""The support groups (资助/帮扶对象) in one place: the student's flag, the support list that sets
it, and the labels lists and filters show.

The work plan puts 建档立卡等家庭经济困难学生 first (含非建档立卡的家庭经济困难残疾学生、农村低保
家庭学生、农村特困救助供养学生); practice adds 孤儿 and 事实无人抚养儿童. Every group but 残疾 is a
priority of aid (两免一补): the aid-coverage sweep, the 未资助 list and the dashboards' figure
read `aid_priority()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from students.models import SupportMark


@dataclass(frozen=True)
class SupportGroup:
    key: str  # the SupportMark.Kind value of its list, and the filters' choice value
    flag: str  # the Student field ("" for 残疾: the category field says it)
    label: Promise
    short: Promise  # a badge in narrow tables
    aid: bool = True  # a priority of aid (两免一补)


SUPPORT_GROUPS = (
    SupportGroup("poor", "is_poor", _("建档立卡/脱贫"), _("建档")),
    SupportGroup("monitored", "is_monitored", _("防返贫监测"), _("监测")),
    SupportGroup("dibao", "is_dibao", _("低保"), _("低保")),
    SupportGroup("tekun", "is_tekun", _("特困供养"), _("特困")),
    SupportGroup("hardship", "is_hardship", _("家庭经济困难"), _("困难")),
    SupportGroup("orphan", "is_orphan", _("孤儿"), _("孤儿")),
    SupportGroup("unsupported", "is_unsupported", _("事实无人抚养"), _("无人抚养")),
    SupportGroup("disability", "", _("残疾"), _("残疾"), aid=False),
)
GROUPS = {g.key: g for g in SUPPORT_GROUPS}
#: Student flags of the groups that are a priority of aid.
AID_FLAGS = tuple(g.flag for g in SUPPORT_GROUPS if g.aid)
#: SupportMark kind → the Student flag its list sets.
FLAG_OF_LIST = {g.key: g.flag for g in SUPPORT_GROUPS if g.flag}


def aid_priority(prefix: str = "") -> Q:
    """Students (at `prefix`, e.g. "student__") of any group that is a priority of aid."""
    q = Q()
    for flag in AID_FLAGS:
        q |= Q(**{f"{prefix}{flag}": True})
    return q


def in_group(key: str, prefix: str = "") -> Q:
    """Students (at `prefix`) of one group, by their flag (残疾: a category on file)."""
    group = GROUPS[key]
    if group.flag:
        return Q(**{f"{prefix}{group.flag}": True})
    return ~Q(**{f"{prefix}disability_category": ""})


def in_group_or_listed(key: str, *, student: str, id_number: str) -> Q:
    """Rows (alerts, cases) about a child of group `key`: by the linked student's flag (at
    `student`, e.g. "student__"), or by the child's ID (the field `id_number`) on that support
    list, which also finds the children of a list who are no students of the county."""
    listed = SupportMark.objects.filter(kind=key).values("id_number")
    return in_group(key, student) | Q(**{f"{id_number}__in": listed})


def group_choices() -> list[tuple[str, Promise]]:
    return [(g.key, g.label) for g in SUPPORT_GROUPS]


def badges(student) -> list[str]:
    """The short labels of the groups a student belongs to (for tables)."""
    out = []
    for g in SUPPORT_GROUPS:
        if (getattr(student, g.flag) if g.flag else bool(student.disability_category)):
            out.append(str(g.short))
    return out
