"""The upload form of an import page: the file plus the options the kind understands."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import current_term
from kongchuo.calendar.schoolyear import today as school_today
from kongchuo.imports.base import ImportKind

OPTIONS = ("term", "year", "list", "due")  # the options a kind may take (ImportKind.options)


def _term_choices() -> list[tuple[str, str | Promise]]:
    """The current term and the three before it, after the default (the 报到日期 decides)."""
    choices: list[tuple[str, str | Promise]] = [("", _("按报到日期确定"))]
    term = current_term()
    for _i in range(4):
        choices.append((term.code, term.label))
        term = term.previous()
    return choices


class UploadForm(forms.Form):
    file = forms.FileField(label=_("选择文件（.xlsx / .xls / .csv）"), widget=forms.ClearableFileInput(
        attrs={"class": "form-control form-control-sm", "accept": ".xlsx,.xls,.csv"}))
    term = forms.ChoiceField(label=_("学期"), required=False,
                             widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100,
                              widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}))
    list = forms.ChoiceField(label=_("名单类型"), required=False,
                             widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    due = forms.DateField(label=_("核查期限"), required=False, widget=forms.DateInput(
        attrs={"type": "date", "class": "form-control form-control-sm"}))

    def __init__(self, kind: ImportKind, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in OPTIONS:
            if name not in kind.options:
                del self.fields[name]
        if "term" in self.fields:
            cast(forms.ChoiceField, self.fields["term"]).choices = _term_choices()
        if "year" in self.fields:
            self.fields["year"].initial = school_today().year
        if "list" in self.fields:
            cast(forms.ChoiceField, self.fields["list"]).choices = list(kind.choices.get("list", []))
            self.fields["list"].required = True

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        limit = settings.KONGCHUO_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(_("文件过大（上限 %(mb)s MB）"), params={"mb": limit // (1024 * 1024)})
        return upload

    def options(self) -> dict[str, Any]:
        """The options given, as the Job keeps them (a date in ISO form)."""
        return {name: value.isoformat() if isinstance(value, dt.date) else value
                for name in OPTIONS if (value := self.cleaned_data.get(name)) not in (None, "")}
