"""Forms of the 劝返 workflow. They parse input; the rules live in retrieval.services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from kongchuo.portal.formchoices import blank_required_choices
from kongchuo.portal.uploads import PHOTO_OR_PDF_ACCEPT
from retrieval.cases import (
    DismissReason,
    Escalation,
    PersuasionAttempt,
    RetrievalCase,
    SupervisionFinding,
    SupervisionSample,
)
from retrieval.models import FeedbackItem
from retrieval.selectors import ESCALATION_DAYS, alert_label
from students.models import School, Township

EVIDENCE_ACCEPT = PHOTO_OR_PDF_ACCEPT  # services.evidence_sniff keeps JPG, PNG and PDF


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class EvidenceField(forms.FileField):
    """Zero or more proof files (JPG, PNG, PDF); the content is checked by the service."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("证明材料"))
        kwargs.setdefault("help_text", _("JPG、PNG 或 PDF，单个不超过 %(mb)s MB，最多 5 个")
                          % {"mb": settings.KONGCHUO_ATTACHMENT_MAX_BYTES // (1024 * 1024)})
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = [d for d in data if d] if isinstance(data, list | tuple) else ([data] if data else [])
        if not files and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [single(d, initial) for d in files]


class StyledForm(forms.Form):
    """Bootstrap classes on every widget; element ids prefixed per form (`id_prefix`) because
    several forms with a `note` field share the case page."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        if self.id_prefix:
            kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            w = f.widget
            if isinstance(w, forms.HiddenInput):
                continue
            if isinstance(w, forms.Select):
                w.attrs.setdefault("class", "form-select form-select-sm")
            elif isinstance(w, forms.CheckboxInput | forms.RadioSelect):
                continue
            else:
                w.attrs.setdefault("class", "form-control form-control-sm")
            if isinstance(w, forms.Textarea):
                w.attrs["rows"] = 3
        blank_required_choices(self)


class VersionedForm(StyledForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


def _not_future(value: dt.date | None) -> dt.date | None:
    if value and value > today():
        raise forms.ValidationError(_("日期不能晚于今天"))
    return value


# --------------------------------------------------------------------------- alerts


class ConfirmForm(StyledForm):
    id_prefix = "confirm"
    reason = forms.ChoiceField(label=_("辍学原因"), choices=RetrievalCase.Reason.choices)
    dropout_date = forms.DateField(label=_("辍学日期"), required=False, widget=DateInput)
    note = forms.CharField(label=_("情况说明"), required=False, widget=forms.Textarea,
                           max_length=1000)

    def clean_dropout_date(self):
        return _not_future(self.cleaned_data.get("dropout_date"))


class DismissForm(StyledForm):
    id_prefix = "dismiss"
    reason = forms.ChoiceField(label=_("排除原因"), choices=[("", "—")] + DismissReason.choices)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea, max_length=1000)
    files = EvidenceField(help_text=_("外县就读、转学、中职、死亡、出国须附证明"))


class ReviewForm(StyledForm):
    id_prefix = "review"
    verdict = forms.ChoiceField(label=_("复核结论"), widget=forms.RadioSelect,
                                choices=[("uphold", _("同意排除")), ("overturn", _("驳回，重新核实"))])
    note = forms.CharField(label=_("复核意见"), required=False, widget=forms.Textarea,
                           max_length=1000)


# --------------------------------------------------------------------------- cases


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
        return _not_future(self.cleaned_data.get("dropout_date"))


class AttemptForm(StyledForm):
    id_prefix = "attempt"
    attempted_on = forms.DateField(label=_("劝返日期"), widget=DateInput, initial=today)
    method = forms.ChoiceField(label=_("劝返方式"), choices=PersuasionAttempt.Method.choices)
    people = forms.CharField(label=_("劝返人员"), max_length=120)
    result = forms.CharField(label=_("劝返情况"), widget=forms.Textarea, max_length=2000)
    outcome = forms.ChoiceField(label=_("结果"), choices=PersuasionAttempt.Outcome.choices)

    def clean_attempted_on(self):
        return _not_future(self.cleaned_data.get("attempted_on"))


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
        return _not_future(self.cleaned_data.get("placement_date"))


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
        return _not_future(self.cleaned_data.get("measure_date"))


class ClosureRequestForm(VersionedForm):
    id_prefix = "closure"
    category = forms.ChoiceField(label=_("销号类别"), choices=RetrievalCase.Closure.choices)
    effective_date = forms.DateField(label=_("生效日期"), widget=DateInput, initial=today)
    note = forms.CharField(label=_("销号说明"), widget=forms.Textarea, max_length=2000)
    files = EvidenceField(help_text=_("必须上传：复学证明、在读证明、死亡证明等"))

    def clean_effective_date(self):
        return _not_future(self.cleaned_data.get("effective_date"))


class ClosureDecisionForm(StyledForm):
    id_prefix = "decide"
    verdict = forms.ChoiceField(label=_("审批结论"), widget=forms.RadioSelect,
                                choices=[("approve", _("同意销号")), ("reject", _("退回"))])
    note = forms.CharField(label=_("审批意见"), required=False, widget=forms.Textarea,
                           max_length=1000)


class EvidenceForm(StyledForm):
    id_prefix = "evidence"
    files = EvidenceField(required=True)


# --------------------------------------------------------------------------- feedback


class FeedbackAnswerForm(VersionedForm):
    id_prefix = "fb"
    result = forms.ChoiceField(label=_("核查结果"), choices=[("", "—")] + FeedbackItem.Result.choices)
    explanation = forms.CharField(label=_("核查说明"), widget=forms.Textarea, max_length=2000)
    verified_on = forms.DateField(label=_("核查日期"), widget=DateInput, initial=today)
    files = EvidenceField()

    def clean_verified_on(self):
        return _not_future(self.cleaned_data.get("verified_on"))


# --------------------------------------------------------------------------- 督查


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
        return _not_future(self.cleaned_data.get("visited_on"))
