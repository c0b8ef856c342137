"""Forms of 督查: plan, sample, findings, 整改通知 and their reports."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from retrieval.forms import DateInput, EvidenceField, StyledForm, VersionedForm, date_not_future
from retrieval.models import SupervisionFinding, SupervisionSample
from retrieval.wording import alert_label
from students.models import School, Township


class VisitForm(StyledForm):
    id_prefix = "visit"
    title = forms.CharField(label=_("督查事项"), max_length=120)
    section = forms.CharField(label=_("督查股室（站）"), max_length=40)
    planned_on = forms.DateField(label=_("计划日期"), widget=DateInput, initial=today)
    township = forms.ModelChoiceField(label=_("督查乡镇"), required=False,
                                      queryset=Township.objects.all())
    school = forms.ModelChoiceField(label=_("督查学校"), required=False,
                                    queryset=School.objects.only("id", "name").order_by("code"))


class SampleForm(StyledForm):
    id_prefix = "sample"
    n_cases = forms.IntegerField(label=_("抽查已销号案件数"), min_value=0, max_value=100, initial=10)
    n_alerts = forms.IntegerField(label=_("抽查已排除预警数"), min_value=0, max_value=100, initial=10)


class SampleCheckForm(StyledForm):
    id_prefix = "check"
    result = forms.ChoiceField(label=_("复查结果"), choices=[
        (SupervisionSample.Result.OK, _("属实")), (SupervisionSample.Result.PROBLEM, _("发现问题"))])
    note = forms.CharField(label=_("复查说明"), required=False, max_length=1000)


class FindingForm(StyledForm):
    id_prefix = "finding"
    kind = forms.ChoiceField(label=_("问题类型"), choices=SupervisionFinding.Kind.choices)
    sample = forms.ModelChoiceField(label=_("关联抽查对象"), required=False,
                                    queryset=SupervisionSample.objects.none())
    school = forms.ModelChoiceField(label=_("涉及学校"), required=False,
                                    queryset=School.objects.only("id", "name").order_by("code"))
    teacher_name = forms.CharField(label=_("涉及教师"), required=False, max_length=40)
    description = forms.CharField(label=_("问题描述"), widget=forms.Textarea, max_length=2000)

    def __init__(self, *args, visit=None, **kwargs):
        super().__init__(*args, **kwargs)
        if visit is not None:
            self.fields["sample"].queryset = visit.samples.select_related("case", "alert")
            self.fields["sample"].label_from_instance = lambda s: (
                f"{_('案件')} {s.case.name}" if s.case_id else f"{_('预警')} {alert_label(s.alert)}")


class RectificationForm(StyledForm):
    id_prefix = "order"
    requirement = forms.CharField(label=_("整改要求"), widget=forms.Textarea, max_length=2000)
    deadline = forms.DateField(label=_("整改期限"), widget=DateInput,
                               initial=lambda: today() + dt.timedelta(days=30))


class RectificationReportForm(VersionedForm):
    id_prefix = "report"
    report = forms.CharField(label=_("整改情况"), widget=forms.Textarea, max_length=4000)
    files = EvidenceField()


class RectificationCloseForm(StyledForm):
    id_prefix = "accept"
    verdict = forms.ChoiceField(label=_("验收结论"), widget=forms.RadioSelect,
                                choices=[("accept", _("验收通过")), ("reject", _("退回重新整改"))])
    note = forms.CharField(label=_("验收意见"), required=False, max_length=1000)


class VisitCompleteForm(StyledForm):
    id_prefix = "complete"
    visited_on = forms.DateField(label=_("督查日期"), widget=DateInput, initial=today)
    summary = forms.CharField(label=_("督查小结"), widget=forms.Textarea, max_length=4000)

    def clean_visited_on(self):
        return date_not_future(self.cleaned_data.get("visited_on"))
