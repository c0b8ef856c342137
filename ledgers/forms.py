"""Entry forms of the ledgers: Chinese labels (the models' verbose names), native date inputs,
field errors in Chinese. Every edit form carries the version it was opened at."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.access.idnumbers import IdNumberError, birth_date_of, validate_id
from kongchuo.calendar.schoolyear import SchoolCalendar, Term, current_term, term_of, today
from kongchuo.portal.formchoices import blank_required_choices
from kongchuo.portal.forms import style_fields
from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    HomeTeachingVisit,
    LearningSupportNote,
    LearningSupportPlan,
    OutOfCountyRecord,
    PublicityActivity,
    ReturnReport,
    VocationalRecord,
)
from ledgers.services import STATUS_CHANGE_KINDS
from students.models import School, StatusChange, Student

ID_ERRORS = {
    "required_missing": _("请填写身份证件号"),
    "id_format": _("身份证件号格式错误（应为18位，末位可为X）"),
    "id_numeric": _("身份证件号格式错误"),
    "id_checksum": _("身份证件号校验位错误，请核对"),
    "id_birthdate": _("身份证件号中的出生日期无效"),
}


class StudentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Student) -> str:
        return gettext("%(name)s（%(grade)s年级%(class_name)s · 证件尾号%(tail)s）") % {
            "name": obj.name, "grade": obj.grade, "class_name": obj.class_name, "tail": obj.id_number[-4:]}


def student_field(user, *, required: bool = True) -> StudentChoiceField:
    qs = (Student.objects.visible_to(user).only("id", "name", "grade", "class_name", "id_number")
          .order_by("grade", "class_name", "name", "pk"))
    return StudentChoiceField(queryset=qs, label=_("学生"), required=required,
                              empty_label=_("—— 请选择学生 ——"))


def term_choices(around: dt.date | None = None, back: int = 4) -> list[tuple[str, str]]:
    term = term_of(around) if around else current_term()
    nxt = Term(term.year, "autumn") if term.season == "spring" else Term(term.year + 1, "spring")
    out = [nxt, term]
    for _i in range(back):
        out.append(out[-1].previous())
    return [(t.code, t.label) for t in out]


def _not_future(value: dt.date | None) -> None:
    if value and value > today():
        raise forms.ValidationError(_("日期不能晚于今天"))


# The date of the thing recorded: a new entry is most often written the day it happens.
EVENT_DATES = ("reported_on", "visit_date", "note_date", "granted_on", "contact_date", "activity_date",
               "effective_date")


class LedgerForm(forms.ModelForm):
    """Base of the entry forms; `user` scopes the student choices."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    past_only: tuple[str, ...] = ()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "student" in self.fields:
            self.fields["student"] = student_field(
                user, required=not self._meta.model._meta.get_field("student").null)
            self.fields["student"].label = _("学生")
            self.order_fields(["student"])
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        else:
            for name in EVENT_DATES:
                if name in self.fields and name not in self.initial:
                    self.fields[name].initial = today
        style_fields(self)
        blank_required_choices(self, keep=("term",))

    def clean(self):
        data = super().clean()
        for name in self.past_only:
            try:
                _not_future(data.get(name))
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("结束日期不能早于开始日期"))
        return data

    def model_values(self) -> dict:
        """Field values for the service (the form never saves itself)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields
                if name in self.cleaned_data}


# --------------------------------------------------------------------------- 学籍变动


class StatusChangeForm(forms.Form):
    student = forms.ModelChoiceField(queryset=Student.objects.none(), label=_("学生"))
    kind = forms.ChoiceField(label=_("变动类型"), choices=[
        ("", _("—— 请选择 ——")), *[(k.value, k.label) for k in STATUS_CHANGE_KINDS]])
    effective_date = forms.DateField(label=_("变动日期"), initial=today)
    end_date = forms.DateField(label=_("截止日期（请假、休学）"), required=False)
    to_school = forms.ModelChoiceField(queryset=School.objects.none(), required=False,
                                       label=_("去向学校（县内转出）"))
    to_county = forms.CharField(label=_("去向县区（县外转出）"), max_length=60, required=False)
    to_school_name = forms.CharField(label=_("去向学校（县外转出）"), max_length=80, required=False)
    reason = forms.CharField(label=_("原因"), max_length=200)
    approved_by = forms.CharField(label=_("审批人"), max_length=40)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"] = student_field(user)
        self.fields["to_school"].queryset = (School.objects.exclude(pk=user.school_id)
                                             .only("id", "name").order_by("township__code", "code"))
        style_fields(self)

    def clean(self):
        data = super().clean()
        kind, student = data.get("kind"), data.get("student")
        start, end = data.get("effective_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("截止日期不能早于变动日期"))
        if kind in (StatusChange.Kind.LEAVE, StatusChange.Kind.SUSPEND) and not end:
            self.add_error("end_date", _("请假、休学须填写截止日期"))
        if kind == StatusChange.Kind.TRANSFER_OUT:
            in_county = data.get("to_school")
            out_county = data.get("to_county") or data.get("to_school_name")
            if not in_county and not out_county:
                self.add_error("to_school", _("转出须填写去向学校：县内选择学校，县外填写县区和学校"))
            elif in_county and out_county:
                self.add_error("to_county", _("县内转出不填县外去向"))
            elif out_county and not (data.get("to_county") and data.get("to_school_name")):
                self.add_error("to_county", _("县外转出须同时填写去向县区和学校"))
        elif data.get("to_school") or data.get("to_county") or data.get("to_school_name"):
            self.add_error("kind", _("只有转出需要填写去向"))
        if student and kind == StatusChange.Kind.SUSPEND and student.status != Student.Status.ENROLLED:
            self.add_error("student", _("只有在读学生可以休学"))
        if student and kind == StatusChange.Kind.RESUME and student.status != Student.Status.SUSPENDED:
            self.add_error("student", _("只有休学学生可以复学"))
        return data


# --------------------------------------------------------------------------- per-ledger forms


class ReturnReportForm(LedgerForm):
    past_only = ("reported_on",)

    class Meta:
        model = ReturnReport
        fields = ["reported_on", "note"]


class VocationalForm(LedgerForm):
    class Meta:
        model = VocationalRecord
        fields = ["student", "school_name", "major", "start_date", "proof"]


class OutOfCountyForm(LedgerForm):
    past_only = ("verified_on",)

    class Meta:
        model = OutOfCountyRecord
        fields = ["student", "county", "school_name", "grade", "start_date", "proof", "verified_by",
                  "verified_on"]

    def clean_grade(self):
        grade = self.cleaned_data.get("grade")
        if grade is not None and not 1 <= grade <= 9:
            raise forms.ValidationError(_("年级应为1至9"))
        return grade


def _one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


class DeferralForm(LedgerForm):
    class Meta:
        model = Deferral
        fields = ["student", "id_number", "name", "birth_date", "guardian_name", "guardian_phone",
                  "reason", "certificate", "start_date", "end_date"]
        help_texts = {"student": _("已有学籍的儿童可选择；新入学儿童不选"),
                      "end_date": _("延缓期限不超过1年")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # the applicant's identity is fixed once submitted
            self.fields.pop("id_number")

    def clean_id_number(self):
        try:
            return validate_id(self.cleaned_data.get("id_number"))
        except IdNumberError as exc:
            raise forms.ValidationError(ID_ERRORS.get(exc.code, _("身份证件号无效"))) from exc

    def clean(self):
        data = super().clean()
        id_number, birth = data.get("id_number"), data.get("birth_date")
        if id_number and birth and birth_date_of(id_number) != birth:
            self.add_error("birth_date", _("出生日期与身份证件号不一致"))
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end >= _one_year_after(start):
            self.add_error("end_date", _("延缓入学期限不能超过1年"))
        return data


class DeferralReviewForm(forms.Form):
    decision = forms.ChoiceField(label=_("审核结论"), widget=forms.RadioSelect,
                                 choices=[("approve", _("批准")), ("reject", _("驳回"))])
    review_note = forms.CharField(label=_("审核意见"), max_length=200, required=False,
                                  widget=forms.Textarea)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not (data.get("review_note") or "").strip():
            self.add_error("review_note", _("驳回时必须填写理由"))
        return data


class HomeTeachingPlanForm(LedgerForm):
    class Meta:
        model = HomeTeachingPlan
        fields = ["student", "disability_category", "disability_grade", "assessment", "teachers",
                  "goals", "start_date", "end_date"]
        help_texts = {"teachers": _("多名教师用顿号分隔")}

    def clean_student(self):
        student = self.cleaned_data.get("student")
        if student and HomeTeachingPlan.objects.filter(student=student).exclude(
                pk=self.instance.pk).exists():
            raise forms.ValidationError(_("该学生已有送教上门方案（一人一案），请在原方案中记录"))
        return student


class HomeTeachingVisitForm(LedgerForm):
    content = forms.MultipleChoiceField(label=_("送教内容"), widget=forms.CheckboxSelectMultiple,
                                        choices=HomeTeachingVisit.Content.choices)
    past_only = ("visit_date",)

    class Meta:
        model = HomeTeachingVisit
        fields = ["visit_date", "teachers", "periods", "content", "notes", "guardian_signed"]

    def __init__(self, *args, plan: HomeTeachingPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        if self.instance.pk:
            self.initial["content"] = [c for c in self.instance.content.split(",") if c]
        elif not self.is_bound:
            self.initial.setdefault("teachers", plan.teachers)

    def clean_content(self):
        return ",".join(self.cleaned_data["content"])

    def clean_periods(self):
        periods = self.cleaned_data.get("periods")
        if periods is not None and not 1 <= periods <= 8:
            raise forms.ValidationError(_("课时应在1至8之间"))
        return periods

    def clean_visit_date(self):
        day = self.cleaned_data.get("visit_date")
        if day and day < self.plan.start_date:
            raise forms.ValidationError(_("送教日期不能早于方案开始日期"))
        return day


class LearningSupportPlanForm(LedgerForm):
    class Meta:
        model = LearningSupportPlan
        fields = ["student", "teacher", "difficulty", "measures", "goals", "start_date", "active"]


class LearningSupportNoteForm(LedgerForm):
    past_only = ("note_date",)

    class Meta:
        model = LearningSupportNote
        fields = ["note_date", "progress"]

    def __init__(self, *args, plan: LearningSupportPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan


class AidForm(LedgerForm):
    past_only = ("granted_on",)

    class Meta:
        model = AidRecord
        fields = ["student", "term", "kind", "amount", "granted_on", "source"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"] = forms.ChoiceField(label=_("学期"), choices=term_choices(),
                                                initial=current_term().code)
        style_fields(self)

    def clean_amount(self):
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount < 0:
            raise forms.ValidationError(_("金额不能为负数"))
        return amount


class FamilyContactForm(LedgerForm):
    past_only = ("contact_date",)

    class Meta:
        model = FamilyContact
        fields = ["kind", "contact_date", "student", "class_name", "staff", "content", "outcome"]
        help_texts = {"student": _("针对某个学生时选择"), "class_name": _("针对某个班级时填写，如“4年级1班”")}


def school_days_between(start: dt.date, end: dt.date) -> int:
    """School days in [start, end]: Monday–Friday, with the county's calendar exceptions
    (校历调整: weekday holidays off, make-up weekend days on)."""
    calendar = SchoolCalendar.load(start, end)
    days = (end - start).days + 1
    return sum(1 for i in range(days) if calendar.is_school_day(start + dt.timedelta(days=i)))


class AbsenceForm(LedgerForm):
    past_only = ("start_date",)

    class Meta:
        model = Absence
        fields = ["student", "start_date", "end_date", "school_days", "explained", "reason_found",
                  "follow_up"]
        help_texts = {"school_days": _("不填则按校历（周一至周五，含校历调整）自动计算"),
                      "explained": _("未说明原因且连续缺课3个教学日及以上，将列为辍学风险")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_days"].required = False

    def clean(self):
        data = super().clean()
        start, end, days = data.get("start_date"), data.get("end_date"), data.get("school_days")
        if start and end and end >= start:
            if days is None:
                data["school_days"] = school_days_between(start, end)
            elif days < 1 or days > (end - start).days + 1:
                self.add_error("school_days", _("缺课天数应在1与起止日期间的天数之间"))
        return data


class PublicityForm(LedgerForm):
    past_only = ("activity_date",)

    class Meta:
        model = PublicityActivity
        fields = ["activity_date", "kind", "audience", "participants", "description"]
        help_texts = {"description": _("照片可在保存后作为证明材料上传")}


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("证明材料"))


class ExportForm(forms.Form):
    term = forms.ChoiceField(label=_("学期"), choices=(), required=False)
    full = forms.BooleanField(label=_("完整证件号"), required=False)
    reason = forms.CharField(label=_("导出完整证件号的理由"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].choices = term_choices()
        self.fields["term"].initial = current_term().code
        style_fields(self)

    def clean_term(self):
        return self.cleaned_data.get("term") or current_term().code

    def clean(self):
        data = super().clean()
        if data.get("full") and not (data.get("reason") or "").strip():
            self.add_error("reason", _("导出完整证件号须填写理由"))
        return data


FORMS: dict[str, type[forms.BaseForm]] = {
    "returns": ReturnReportForm,
    "vocational": VocationalForm,
    "out_of_county": OutOfCountyForm,
    "deferrals": DeferralForm,
    "home_teaching": HomeTeachingPlanForm,
    "learning_support": LearningSupportPlanForm,
    "aid": AidForm,
    "family_contact": FamilyContactForm,
    "absences": AbsenceForm,
    "publicity": PublicityForm,
    "home_teaching_visits": HomeTeachingVisitForm,
    "learning_support_notes": LearningSupportNoteForm,
}


class TransferOutOfCountyForm(forms.Form):
    """转出县外: the receiving school's name and county are required; the 接收证明 may follow."""

    student = forms.ModelChoiceField(queryset=Student.objects.none(), label=_("学生"))
    effective_date = forms.DateField(label=_("转出日期"))
    to_county = forms.CharField(label=_("接收学校所在县区"), max_length=60,
                                help_text=_("例如：合肥市蜀山区"))
    to_school_name = forms.CharField(label=_("接收学校名称"), max_length=80)
    reason = forms.CharField(label=_("转学原因"), max_length=200)
    approved_by = forms.CharField(label=_("审批人"), max_length=40)
    proof = forms.FileField(label=_("接收证明"), required=False,
                            help_text=_("接收学校出具的接收证明（图片或 PDF）；暂缺的，补交前该生列入“转出县外缺接收证明”名单"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"] = student_field(user)
        style_fields(self)

    def clean_effective_date(self):
        day = self.cleaned_data["effective_date"]
        _not_future(day)
        return day
