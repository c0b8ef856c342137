"""No pre-selected answers on judgements (issue 18 §3): a required choice starts empty, so a
hurried confirmation cannot record 厌学 (or 劝返成功, or a 销号 category) nobody chose."""

from __future__ import annotations

import inspect
import types

import pytest
from django import forms

from kongchuo.portal.formchoices import blank_required_choices
from ledgers import forms as ledger_forms
from retrieval import forms as retrieval_forms
from retrieval.alerts import forms as alert_forms
from retrieval.cases import forms as case_forms
from retrieval.feedback import forms as feedback_forms
from retrieval.supervision import forms as supervision_forms

# Every module of the retrieval app that defines forms (one per sub-domain).
RETRIEVAL_FORM_MODULES = (alert_forms, case_forms, feedback_forms, supervision_forms)


def _judgements(form) -> dict:
    return {name: f for name, f in form.fields.items()
            if f.required and isinstance(f, forms.ChoiceField)
            and not isinstance(f, forms.ModelChoiceField | forms.MultipleChoiceField)}


def _assert_starts_empty(form, keep=()) -> int:
    checked = 0
    for name, field in _judgements(form).items():
        if name in keep:
            continue
        if isinstance(field.widget, forms.RadioSelect):
            assert "checked" not in str(form[name]), (type(form).__name__, name)
        else:
            assert list(field.choices)[0][0] == "", (type(form).__name__, name)
            assert form[name].value() in (None, ""), (type(form).__name__, name)
        checked += 1
    return checked


def test_every_retrieval_form_starts_with_no_answer():
    checked = 0
    for module in RETRIEVAL_FORM_MODULES:
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, retrieval_forms.StyledForm) and cls.__module__ == module.__name__:
                checked += _assert_starts_empty(cls())
    assert checked >= 10  # reason, method, outcome, placement, measure, category, verdicts …


def test_confirm_form_refuses_a_missing_reason():
    form = alert_forms.ConfirmForm(data={"note": "已核实"})
    assert not form.is_valid() and "reason" in form.errors
    assert 'value="" selected' in str(form["reason"]) or "selected" not in str(form["reason"])


@pytest.mark.django_db
def test_every_ledger_form_starts_with_no_answer(county):
    checked = 0
    for _name, cls in inspect.getmembers(ledger_forms, inspect.isclass):
        if issubclass(cls, ledger_forms.LedgerForm) and cls is not ledger_forms.LedgerForm:
            extra = ({"plan": types.SimpleNamespace(teachers="")}
                     if "plan" in inspect.signature(cls.__init__).parameters else {})
            checked += _assert_starts_empty(cls(user=county.school_a, **extra), keep=("term",))
    form = ledger_forms.StatusChangeForm(user=county.school_a)
    checked += _assert_starts_empty(form)
    assert checked >= 1


def test_an_edit_keeps_the_recorded_answer():
    class F(forms.Form):
        reason = forms.ChoiceField(choices=[("a", "A"), ("b", "B")])

    form = F(initial={"reason": "b"})
    blank_required_choices(form)
    assert form["reason"].value() == "b" and list(form.fields["reason"].choices)[0][0] == ""
