"""The answer to one row of a feedback list."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import today
from retrieval.forms import DateInput, EvidenceField, VersionedForm, date_not_future
from retrieval.models import FeedbackItem


class FeedbackAnswerForm(VersionedForm):
    id_prefix = "fb"
    result = forms.ChoiceField(label=_("核查结果"), choices=[("", "—")] + FeedbackItem.Result.choices)
    explanation = forms.CharField(label=_("核查说明"), widget=forms.Textarea, max_length=2000)
    verified_on = forms.DateField(label=_("核查日期"), widget=DateInput, initial=today)
    files = EvidenceField()

    def clean_verified_on(self):
        return date_not_future(self.cleaned_data.get("verified_on"))
