"""The upload form of an import page: the file plus the options the kind understands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import current_term
from kongchuo.calendar.schoolyear import today as school_today
from kongchuo.imports.base import ImportKind


def _term_choices() -> list[tuple[str, str | Promise]]:
    term = current_term()
    out: list[tuple[str, str | Promise]] = []
    for _i in range(4):
        out.append((term.code, term.label))
        term = term.previous()
    return [("", _("按报到日期确定"))] + out


class UploadForm(forms.Form):
    file = forms.FileField(label=_("选择文件（.xlsx / .xls / .csv）"),
                           widget=forms.ClearableFileInput(attrs={
                               "class": "form-control form-control-sm",
                               "accept": ".xlsx,.xls,.csv"}))
    term = forms.ChoiceField(label=_("学期"), required=False,
                             widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    year = forms.IntegerField(label=_("年度"), required=False, min_value=2000, max_value=2100,
                              widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}))
    list = forms.ChoiceField(label=_("名单类型"), required=False,
                             widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    due = forms.DateField(label=_("核查期限"), required=False,
                          widget=forms.DateInput(attrs={"type": "date",
                                                        "class": "form-control form-control-sm"}))

    def __init__(self, kind: ImportKind, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in ("term", "year", "list", "due"):
            if name not in kind.options:
                del self.fields[name]
        if "term" in self.fields:
            self._choice_field("term").choices = _term_choices()
        if "year" in self.fields:
            self.fields["year"].initial = school_today().year
        if "list" in self.fields:
            self._choice_field("list").choices = list(kind.choices.get("list", []))
            self.fields["list"].required = True

    def _choice_field(self, name: str) -> forms.ChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        return field

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        limit = settings.KONGCHUO_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("文件过大（上限 %(mb)s MB）"),
                params={"mb": limit // (1024 * 1024)})
        return upload

    def options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("term", "year", "list", "due"):
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                out[name] = value.isoformat() if isinstance(value, dt.date) else value
        return out
