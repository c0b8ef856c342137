from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import Role, covers_school, scope_of
from kongchuo.portal.formchoices import blank_required_choices
from kongchuo.portal.forms import style_fields
from students.models import LeadingGroupMember, School, Township, User
from students.selectors import account_roles_for


class ResponsibilityForm(forms.ModelForm):
    class Meta:
        model = School
        fields = ["principal_name", "principal_phone", "clerk_name", "clerk_phone"]
        widgets = {f: forms.TextInput(attrs={"class": "form-control"}) for f in fields}


class LeadingGroupMemberForm(forms.ModelForm):
    class Meta:
        model = LeadingGroupMember
        fields = ["position", "name", "title", "phone", "order"]
        labels = {"order": _("排序")}
        help_texts = {"order": _("数字小的排在前面")}
        widgets = {
            "position": forms.Select(attrs={"class": "form-select"}),
            "name": forms.TextInput(attrs={"class": "form-control"}),
            "title": forms.TextInput(attrs={"class": "form-control"}),
            "phone": forms.TextInput(attrs={"class": "form-control"}),
            "order": forms.NumberInput(attrs={"class": "form-control"}),
        }


# --------------------------------------------------------------------------- 学籍维护
# The values stay text here: the roster import's own parsers and checks judge them
# (kongchuo.imports.checks.check_record), so a form and a file give the same errors.



def _grade_label(grade: int) -> str:
    return gettext("%(grade)s年级") % {"grade": grade}


# Choices are built at import, before any request has chosen a language: label them lazily.
grade_label = lazy(_grade_label, str)
GRADES = [("", _("—— 请选择 ——"))] + [(str(grade), grade_label(grade)) for grade in range(1, 10)]
SEXES = [("", _("按身份证件号")), ("男", _("男")), ("女", _("女"))]


def _schools_for(user):
    return [s for s in School.objects.visible_to(user).select_related("township")
            .order_by("township__code", "code") if covers_school(user, s)]


class StudentRecordForm(forms.Form):
    """The identity and contact fields a clerk types (新增学生; the edit form is its subset)."""

    name = forms.CharField(label=_("姓名"), max_length=40)
    grade = forms.ChoiceField(label=_("年级"), choices=GRADES)
    class_name = forms.CharField(label=_("班级"), max_length=20, required=False)
    student_number = forms.CharField(label=_("全国学籍号"), max_length=30, required=False)
    hukou_address = forms.CharField(label=_("户口所在地"), max_length=120, required=False,
                                    help_text=_("写明乡镇，系统据此确定户籍乡镇"))
    address = forms.CharField(label=_("现住址"), max_length=120, required=False)
    guardian_name = forms.CharField(label=_("监护人姓名"), max_length=40, required=False)
    guardian_phone = forms.CharField(label=_("监护人电话"), max_length=20, required=False)
    entry_month = forms.CharField(label=_("入学年月"), max_length=10, required=False,
                                  widget=forms.TextInput(attrs={"type": "month"}))
    is_left_behind = forms.BooleanField(label=_("留守儿童"), required=False)
    is_migrant = forms.BooleanField(label=_("随迁子女"), required=False)

    def record_values(self) -> dict:
        """The cleaned values as cells of a roster row (check_record's input)."""
        d = self.cleaned_data
        values = {k: d.get(k) for k in ("name", "grade", "class_name", "student_number", "hukou_address",
                                         "address", "guardian_name", "guardian_phone", "entry_month")}
        values["is_left_behind"] = "是" if d.get("is_left_behind") else "否"
        values["is_migrant"] = "是" if d.get("is_migrant") else "否"
        return values


class StudentNewForm(StudentRecordForm):
    ARRIVALS = [("enroll", _("新生入学")), ("transfer_in", _("县外转入"))]

    arrival = forms.ChoiceField(label=_("来源"), choices=ARRIVALS, initial="enroll",
                                widget=forms.RadioSelect)
    school = forms.ModelChoiceField(label=_("学校"), queryset=School.objects.none(),
                                    empty_label=_("—— 请选择学校 ——"))
    id_number = forms.CharField(label=_("身份证件号"), max_length=30,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}))
    sex = forms.ChoiceField(label=_("性别"), choices=SEXES, required=False)
    birth_date = forms.CharField(label=_("出生日期"), required=False,
                                 widget=forms.TextInput(attrs={"type": "date"}),
                                 help_text=_("空白时按身份证件号"))
    from_place = forms.CharField(label=_("原就读县区及学校（县外转入）"), max_length=120, required=False)

    field_order = ["arrival", "school", "name", "id_number", "sex", "birth_date", "grade",
                   "class_name", "from_place"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        schools = _schools_for(user)
        self.fields["school"].queryset = School.objects.filter(pk__in=[s.pk for s in schools])
        if len(schools) == 1:
            self.fields["school"].initial = schools[0].pk
            self.fields["school"].widget = forms.HiddenInput()
        style_fields(self)

    def clean(self):
        data = super().clean()
        if data.get("arrival") == "transfer_in" and not (data.get("from_place") or "").strip():
            self.add_error("from_place", _("县外转入须填写原就读县区及学校"))
        return data

    def record_values(self) -> dict:
        d = self.cleaned_data
        values = super().record_values()
        values.update(school_code=d["school"].code, id_number=d.get("id_number"),
                      sex=d.get("sex") or None, birth_date=d.get("birth_date") or None)
        return values


class StudentEditForm(StudentRecordForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, student, **kwargs):
        if not kwargs.get("data") and not args:
            kwargs["initial"] = {
                "name": student.name, "grade": str(student.grade), "class_name": student.class_name,
                "student_number": student.student_number, "hukou_address": student.hukou_address,
                "address": student.address, "guardian_name": student.guardian_name,
                "guardian_phone": student.guardian_phone,
                "entry_month": f"{student.entry_month:%Y-%m}" if student.entry_month else "",
                "is_left_behind": student.is_left_behind, "is_migrant": student.is_migrant,
                "version": student.version}
        super().__init__(*args, **kwargs)
        style_fields(self)


class IdCorrectionForm(forms.Form):
    id_number = forms.CharField(label=_("正确的身份证件号"), max_length=30,
                                widget=forms.TextInput(attrs={"autocomplete": "off"}))
    reason = forms.CharField(label=_("更正理由"), max_length=200,
                             help_text=_("例如：户口本与学籍不一致，已核对户口簿原件"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class TransferOutForm(forms.Form):
    """The sending side records a 转出 to a school of the county (转出登记)."""

    to_school = forms.ModelChoiceField(label=_("转入学校（本县）"), queryset=School.objects.none(),
                                       empty_label=_("—— 请选择学校 ——"))
    requested_on = forms.DateField(label=_("转出日期"))
    grade = forms.ChoiceField(label=_("转入年级"), choices=GRADES)
    reason = forms.CharField(label=_("转学原因"), max_length=200)

    def __init__(self, *args, student, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_school"].queryset = (School.objects.exclude(pk=student.school_id)
                                             .select_related("township").order_by("township__code", "code"))
        style_fields(self)


class TransferDecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(label=_("意见"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_fields(self)


class AccountForm(forms.Form):
    """Create or edit an account. The choices are the actor's: a township center school sees
    the school role and its own schools only, so a forged id in the POST body is refused."""

    username = forms.RegexField(
        label=_("用户名"), regex=r"^[A-Za-z0-9_.@-]{3,150}$", max_length=150,
        error_messages={"invalid": _("用户名为3–150位字母、数字或 _ . @ -")})
    first_name = forms.CharField(label=_("姓名"), max_length=150)
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    role = forms.ChoiceField(label=_("角色"))
    township = forms.ModelChoiceField(label=_("乡镇"), queryset=Township.objects.none(),
                                      required=False,
                                      help_text=_("乡镇中心学校、属地政府账号填写"))
    school = forms.ModelChoiceField(label=_("学校"), queryset=School.objects.none(), required=False,
                                    help_text=_("学校账号填写"))
    section = forms.CharField(label=_("股室（站）"), max_length=40, required=False)

    def __init__(self, *args, actor, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["role"].choices = account_roles_for(actor)
        self.fields["school"].queryset = School.objects.visible_to(actor).select_related("township")
        if scope_of(actor).role == Role.COUNTY:
            self.fields["township"].queryset = Township.objects.all()
        else:
            del self.fields["township"], self.fields["section"]
        if account is not None:
            del self.fields["username"]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css
        for name in ("township", "school"):
            if name in self.fields:
                self.fields[name].empty_label = _("—— 请选择（不适用可不选）——")
        blank_required_choices(self)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("用户名已存在"))
        return username

    def clean(self):
        data = super().clean()
        role = data.get("role")
        if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and not data.get("township"):
            self.add_error("township", _("请选择乡镇"))
        if role == Role.SCHOOL and not data.get("school"):
            self.add_error("school", _("请选择学校"))
        return data

    def values(self) -> dict:
        d = self.cleaned_data
        return {"first_name": d["first_name"], "phone": d.get("phone", ""),
                "section": d.get("section", self.account.section if self.account else ""),
                "role": d["role"], "township": d.get("township"), "school": d.get("school")}


class JuniorSchoolForm(forms.Form):
    junior_school = forms.ModelChoiceField(
        label=_("对口初中"), required=False, empty_label=_("（未设置）"),
        queryset=School.objects.filter(kind__in=School.TEACHES_GRADE_7).order_by("township__code", "code"),
        widget=forms.Select(attrs={"class": "form-select"}))


class RepeatForm(forms.Form):
    reason = forms.CharField(label=_("留级原因"), max_length=200,
                             widget=forms.TextInput(attrs={"class": "form-control",
                                                           "placeholder": _("如：家长申请，学业未达标")}))
