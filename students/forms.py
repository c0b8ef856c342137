from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from students.models import LeadingGroupMember, School, Township


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


class AccountForm(forms.Form):
    """Create or edit an account. The choices are the actor's: a township center school sees
    the school role and its own schools only, so a forged id in the POST body is refused."""

    username = forms.RegexField(
        label=_("用户名"), regex=r"^[A-Za-z0-9_.@-]{3,150}$", max_length=150,
        error_messages={"invalid": _("用户名为3–150位字母、数字或 _ . @ - / letters, digits, _ . @ -")})
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
        from kongchuo.formchoices import blank_required_choices
        from kongchuo.scoping import Role, scope_of
        from students.selectors import account_roles_for

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
        from students.models import User

        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("用户名已存在 / this user name is taken"))
        return username

    def clean(self):
        from kongchuo.scoping import Role

        data = super().clean()
        role = data.get("role")
        if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and not data.get("township"):
            self.add_error("township", _("请选择乡镇 / choose the township"))
        if role == Role.SCHOOL and not data.get("school"):
            self.add_error("school", _("请选择学校 / choose the school"))
        return data

    def values(self) -> dict:
        d = self.cleaned_data
        return {"first_name": d["first_name"], "phone": d.get("phone", ""),
                "section": d.get("section", self.account.section if self.account else ""),
                "role": d["role"], "township": d.get("township"), "school": d.get("school")}
