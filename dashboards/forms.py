from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class IntakeUploadForm(forms.Form):
    file = forms.FileField(label=_("入学队列人数表（Excel 或 CSV 文件）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update({"class": "form-control form-control-sm",
                                                 "accept": ".xlsx,.xls,.csv"})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.KONGCHUO_UPLOAD_MAX_BYTES:
            raise forms.ValidationError(_("文件过大"))
        return upload


class TermDatesForm(forms.Form):
    """The opening days of one school year's two terms (blank: the default day)."""

    year = forms.IntegerField(widget=forms.HiddenInput)
    autumn_opens = forms.DateField(label=_("秋季学期开学日期"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}))
    spring_opens = forms.DateField(label=_("春季学期开学日期"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}))


class RolloverForm(forms.Form):
    """Confirm a rollover (or its revert) after reading the preview."""

    year = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=[("close", "close"), ("reopen", "reopen")], widget=forms.HiddenInput)
    confirm = forms.BooleanField(label=_("我已核对以上预览"), required=True,
                                 error_messages={"required": _("请先勾选“我已核对以上预览”")})
