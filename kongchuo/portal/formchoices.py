"""No pre-selected answers on judgements: a required choice starts empty.

A select that opens on its first choice (辍学原因 = 厌学, 结果 = 劝返成功) lets a hurried clerk
record an answer nobody gave. Every form of the portal passes its fields through
`blank_required_choices`, which puts an empty "请选择" first in each required single choice, so
the form is refused until someone picks. Fields with a default that is a fact rather than an
answer (the current term) are named in `keep`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

BLANK_LABEL = _("—— 请选择 ——")


def blank_required_choices(form: forms.BaseForm, *, keep: tuple[str, ...] = ()) -> None:
    for name, field in form.fields.items():
        if name in keep or not field.required:
            continue
        if isinstance(field, forms.MultipleChoiceField | forms.ModelChoiceField):
            continue  # several answers, or a ModelChoiceField's own empty label
        if not isinstance(field, forms.ChoiceField) or isinstance(field.widget, forms.RadioSelect):
            continue  # radio buttons start with none checked unless the form sets one
        # A built field holds its choices normalised to a list of pairs, whatever it was given.
        choices = list(cast("Iterable[tuple[Any, Any]]", field.choices))
        if not choices or choices[0][0] != "":
            field.choices = [("", BLANK_LABEL), *choices]
        is_new = getattr(getattr(form, "instance", None), "pk", None) is None
        if is_new and not form.is_bound and name not in form.initial:
            field.initial = None  # a new record assumes no answer, whatever the default
