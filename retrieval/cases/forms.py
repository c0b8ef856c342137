"""Forms of the 劝返 case's steps; the rules live in retrieval.cases.services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from retrieval.cases.selectors import ESCALATION_DAYS
from retrieval.forms import DateInput, EvidenceField, StyledForm, VersionedForm, date_not_future
from retrieval.models import Escalation, PersuasionAttempt, RetrievalCase
from students.models import School


class CaseForm(VersionedForm):
    id_prefix = "case"
    dropout_date = forms.DateField(label=_("辍学日期"), required=False, widget=DateInput)
    reason = forms.ChoiceField(label=_("辍学原因"), choices=RetrievalCase.Reason.choices)
    reason_note = forms.CharField(label=_("原因说明"), required=False, widget=forms.Textarea,
                                  max_length=2000)
    teacher_name = forms.CharField(label=_("包保教师"), required=False, max_length=40)
    head_teacher_name = forms.CharField(label=_("班主任"), required=False, max_length=40)
    village_cadre_name = forms.CharField(label=_("村（居）干部"), required=False, max_length=40)
    township_official_name = forms.CharField(label=_("乡镇干部"), required=False, max_length=40)

    def clean_dropout_date(self):
        return date_not_future(self.cleaned_data.get("dropout_date"))


class AttemptForm(StyledForm):
    id_prefix = "attempt"
    attempted_on = forms.DateField(label=_("劝返日期"), widget=DateInput, initial=today)
    method = forms.ChoiceField(label=_("劝返方式"), choices=PersuasionAttempt.Method.choices)
    people = forms.CharField(label=_("劝返人员"), max_length=120)
    result = forms.CharField(label=_("劝返情况"), widget=forms.Textarea, max_length=2000)
    outcome = forms.ChoiceField(label=_("结果"), choices=PersuasionAttempt.Outcome.choices)

    def clean_attempted_on(self):
        return date_not_future(self.cleaned_data.get("attempted_on"))


class PlacementForm(VersionedForm):
    id_prefix = "place"
    placement = forms.ChoiceField(label=_("安置方式"), choices=RetrievalCase.Placement.choices)
    placement_date = forms.DateField(label=_("安置日期"), widget=DateInput, initial=today)
    placement_school = forms.ModelChoiceField(
        label=_("安置学校（县内转学/特教学校）"), required=False,
        queryset=School.objects.only("id", "name").order_by("township__code", "code"))
    to_county = forms.CharField(label=_("转入县区（县外）"), required=False, max_length=60)
    to_school_name = forms.CharField(label=_("转入学校（县外）"), required=False, max_length=80)
    note = forms.CharField(label=_("安置说明"), required=False, max_length=200)

    def clean_placement_date(self):
        return date_not_future(self.cleaned_data.get("placement_date"))


class EscalateForm(VersionedForm):
    id_prefix = "escalate"
    deadline = forms.DateField(label=_("办理期限"), widget=DateInput,
                               initial=lambda: today() + dt.timedelta(days=ESCALATION_DAYS))
    note = forms.CharField(label=_("情况说明（劝返经过、监护人态度）"), widget=forms.Textarea,
                           max_length=2000)

    def clean_deadline(self):
        value = self.cleaned_data["deadline"]
        if value <= today():
            raise forms.ValidationError(_("办理期限须晚于今天"))
        return value


class EscalationAnswerForm(StyledForm):
    id_prefix = "answer"
    measure = forms.ChoiceField(label=_("采取措施"), choices=Escalation.Measure.choices)
    measure_date = forms.DateField(label=_("措施日期"), widget=DateInput, initial=today)
    notice_number = forms.CharField(label=_("通知书文号"), required=False, max_length=40)
    return_by = forms.DateField(label=_("限期复学日期"), required=False, widget=DateInput)
    note = forms.CharField(label=_("处置情况"), widget=forms.Textarea, max_length=2000)
    files = EvidenceField()

    def clean_measure_date(self):
        return date_not_future(self.cleaned_data.get("measure_date"))


class ClosureRequestForm(VersionedForm):
    id_prefix = "closure"
    category = forms.ChoiceField(label=_("销号类别"), choices=RetrievalCase.Closure.choices)
    effective_date = forms.DateField(label=_("生效日期"), widget=DateInput, initial=today)
    note = forms.CharField(label=_("销号说明"), widget=forms.Textarea, max_length=2000)
    files = EvidenceField(help_text=_("必须上传：复学证明、在读证明、死亡证明等"))

    def clean_effective_date(self):
        return date_not_future(self.cleaned_data.get("effective_date"))


class ClosureDecisionForm(StyledForm):
    id_prefix = "decide"
    verdict = forms.ChoiceField(label=_("审批结论"), widget=forms.RadioSelect,
                                choices=[("approve", _("同意销号")), ("reject", _("退回"))])
    note = forms.CharField(label=_("审批意见"), required=False, widget=forms.Textarea,
                           max_length=1000)


class EvidenceForm(StyledForm):
    id_prefix = "evidence"
    files = EvidenceField(required=True)
