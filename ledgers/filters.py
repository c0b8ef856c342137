"""List filters of the ledgers (django-filter). Labels are set here: django-filter's own
catalogue is zh_CN, which Django's zh-hans does not pick up."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import current_term, today
from ledgers.forms import term_choices
from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    LearningSupportPlan,
    OutOfCountyRecord,
    PublicityActivity,
    ReturnReport,
    VocationalRecord,
)
from ledgers.registry import LedgerKind
from ledgers.selectors import expiring_deferrals
from ledgers.services import STATUS_CHANGE_KINDS
from students.filters import FLAG_CHOICES, FastSelect
from students.forms import grade_label
from students.models import School, StatusChange, Student

GRADES = [(grade, grade_label(grade)) for grade in range(1, 10)]
YES_NO = [("1", _("是")), ("0", _("否"))]


class LedgerFilter(django_filters.FilterSet):
    """Common filters; subclasses set `kind` and add their own."""

    kind_spec: LedgerKind

    q = django_filters.CharFilter(label=_("姓名/拼音/证件后4位"), method="filter_q")
    school = django_filters.ModelChoiceFilter(label=_("学校"), queryset=School.objects.none(),
                                              method="filter_school", widget=FastSelect)
    date_from = django_filters.DateFilter(label=_("起始日期"), method="filter_date_from",
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(label=_("截止日期"), method="filter_date_to",
                                        widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        schools = School.objects.visible_to(user).only("id", "name")
        if user is not None and getattr(user, "role", "") == "school":
            self.filters.pop("school")  # before the form is built from the filters
        else:
            self.filters["school"].queryset = schools
        # Dates last: the row reads who/where first, then when.
        for name in ("date_from", "date_to"):
            self.filters[name] = self.filters.pop(name)
        for f in self.form.fields.values():
            is_select = isinstance(f.widget, forms.Select)
            f.widget.attrs["class"] = "form-select form-select-sm" if is_select else "form-control form-control-sm"

    # Student-based ledgers search through the student (name, pinyin initials, ID last 4).
    def _student(self, suffix: str) -> str:
        return f"{self.kind_spec.student_path}__{suffix}"

    def filter_q(self, queryset, name, value):
        return queryset.filter(**{f"{self.kind_spec.student_path}__in": Student.objects.search(value)})

    def filter_school(self, queryset, name, value):
        return queryset.in_school(value.pk)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(**{f"{self.kind_spec.date_field}__gte": value})

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(**{f"{self.kind_spec.date_field}__lte": value})

    def filter_grade(self, queryset, name, value):
        return queryset.filter(**{self._student("grade"): value})

    def filter_class(self, queryset, name, value):
        return queryset.filter(**{self._student("class_name"): value.strip()})

    def filter_flag(self, queryset, name, value):
        if value == "disabled":
            return queryset.exclude(**{self._student("disability_category"): ""})
        return queryset.filter(**{self._student(value): True})


def _student_filters() -> dict:
    return {
        "grade": django_filters.ChoiceFilter(label=_("年级"), choices=GRADES, method="filter_grade"),
        "class_name": django_filters.CharFilter(label=_("班级"), method="filter_class"),
        "flag": django_filters.ChoiceFilter(label=_("帮扶标识"), choices=FLAG_CHOICES,
                                            method="filter_flag"),
    }


class StatusChangeFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    kind = django_filters.ChoiceFilter(label=_("变动类型"), choices=[
        (k.value, k.label) for k in (*STATUS_CHANGE_KINDS, *[
            StatusChange.Kind.VOCATIONAL, StatusChange.Kind.OUT_OF_COUNTY, StatusChange.Kind.DEFER,
            StatusChange.Kind.HOME_TEACHING])])

    class Meta:
        model = StatusChange
        fields: list[str] = []


class ReturnFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    term = django_filters.ChoiceFilter(label=_("学期"), choices=term_choices)

    class Meta:
        model = ReturnReport
        fields: list[str] = []


class VocationalFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()

    class Meta:
        model = VocationalRecord
        fields: list[str] = []


class OutOfCountyFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    verified = django_filters.ChoiceFilter(label=_("已核实"), choices=YES_NO, method="filter_verified")

    class Meta:
        model = OutOfCountyRecord
        fields: list[str] = []

    def filter_verified(self, queryset, name, value):
        return queryset.filter(verified_on__isnull=value != "1")


class DeferralFilter(LedgerFilter):
    q = django_filters.CharFilter(label=_("姓名/证件后4位"), method="filter_q")
    review = django_filters.ChoiceFilter(label=_("审核状态"), choices=Deferral.Review.choices)
    expiring = django_filters.ChoiceFilter(label=_("到期提醒"), method="filter_expiring",
                                           choices=[("soon", _("10天内到期")), ("past", _("已到期"))])

    class Meta:
        model = Deferral
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if value.isdigit() or value[-1:].upper() == "X":
            return queryset.filter(id_number__endswith=value.upper())
        return queryset.filter(name__contains=value)

    def filter_expiring(self, queryset, name, value):
        day = today()
        if value == "soon":
            return expiring_deferrals(queryset, day)
        return queryset.filter(review=Deferral.Review.APPROVED, end_date__lt=day)


class HomeTeachingFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    month = django_filters.CharFilter(label=_("统计月份"), method="filter_noop",
                                      widget=forms.TextInput(attrs={"type": "month"}))
    below = django_filters.ChoiceFilter(label=_("本月送教"), method="filter_below",
                                        choices=[("1", _("不足2次"))])

    class Meta:
        model = HomeTeachingPlan
        fields: list[str] = []

    def filter_noop(self, queryset, name, value):
        return queryset  # the month drives the annotation (views.month_of)

    def filter_below(self, queryset, name, value):
        return queryset.filter(below_minimum=True)


class LearningSupportFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    active = django_filters.ChoiceFilter(label=_("帮扶中"), choices=YES_NO, method="filter_active")

    class Meta:
        model = LearningSupportPlan
        fields: list[str] = []

    def filter_active(self, queryset, name, value):
        return queryset.filter(active=value == "1")


class AidFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    term = django_filters.ChoiceFilter(label=_("学期"), choices=term_choices)
    kind = django_filters.ChoiceFilter(label=_("资助类型"), choices=AidRecord.Kind.choices)

    class Meta:
        model = AidRecord
        fields: list[str] = []


class FamilyContactFilter(LedgerFilter):
    q = django_filters.CharFilter(label=_("学生/班级/内容"), method="filter_q")
    kind = django_filters.ChoiceFilter(label=_("方式"), choices=FamilyContact.Kind.choices)

    class Meta:
        model = FamilyContact
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(student__in=Student.objects.search(value))
                               | Q(class_name__contains=value.strip())
                               | Q(content__contains=value.strip()))


class AbsenceFilter(LedgerFilter):
    grade, class_name, flag = _student_filters().values()
    risk = django_filters.ChoiceFilter(label=_("辍学风险"), method="filter_risk",
                                       choices=[("1", _("有风险"))])

    class Meta:
        model = Absence
        fields: list[str] = []

    def filter_risk(self, queryset, name, value):
        return queryset.filter(at_risk=True)


class PublicityFilter(LedgerFilter):
    q = django_filters.CharFilter(label=_("对象/内容"), method="filter_q")
    kind = django_filters.ChoiceFilter(label=_("形式"), choices=PublicityActivity.Kind.choices)

    class Meta:
        model = PublicityActivity
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(audience__contains=value) | Q(description__contains=value))


FILTERS = {
    "status_changes": StatusChangeFilter,
    "returns": ReturnFilter,
    "vocational": VocationalFilter,
    "out_of_county": OutOfCountyFilter,
    "deferrals": DeferralFilter,
    "home_teaching": HomeTeachingFilter,
    "learning_support": LearningSupportFilter,
    "aid": AidFilter,
    "family_contact": FamilyContactFilter,
    "absences": AbsenceFilter,
    "publicity": PublicityFilter,
}


def filter_for(kind: LedgerKind) -> type[LedgerFilter]:
    cls = FILTERS[kind.slug]
    cls.kind_spec = kind
    return cls


def month_of(value: str | None) -> dt.date:
    """"2024-03" → 1 March 2024; anything else → this month."""
    try:
        year, month = (int(p) for p in (value or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today().replace(day=1)


def default_term() -> str:
    return current_term().code
