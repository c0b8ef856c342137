from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=_("动态验证码"), regex=r"^\s*\d{6}\s*$", max_length=8,
        error_messages={"invalid": _("请输入6位数字验证码")},
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "one-time-code",
                                      "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


class RevealForm(forms.Form):
    FIELDS = [("id_number", _("身份证件号")), ("guardian_phone", _("监护人电话"))]

    field = forms.ChoiceField(label=_("查看项目"), choices=FIELDS,
                              widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    reason = forms.CharField(
        label=_("查看事由"), min_length=4, max_length=200,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm",
                                      "placeholder": _("如：核对学籍、联系监护人劝返")}),
    )
