"""Forms of the alerts: confirm, dismiss, review a dismissal."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from retrieval.forms import DateInput, EvidenceField, StyledForm, date_not_future
from retrieval.models import DismissReason, RetrievalCase


class ConfirmForm(StyledForm):
    id_prefix = "confirm"
    reason = forms.ChoiceField(label=_("辍学原因"), choices=RetrievalCase.Reason.choices)
    dropout_date = forms.DateField(label=_("辍学日期"), required=False, widget=DateInput)
    note = forms.CharField(label=_("情况说明"), required=False, widget=forms.Textarea,
                           max_length=1000)

    def clean_dropout_date(self):
        return date_not_future(self.cleaned_data.get("dropout_date"))


class DismissForm(StyledForm):
    id_prefix = "dismiss"
    reason = forms.ChoiceField(label=_("排除原因"), choices=[("", "—")] + DismissReason.choices)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea, max_length=1000)
    files = EvidenceField(help_text=_("外县就读、转学、中职、死亡、出国须附证明"))


class ReviewForm(StyledForm):
    id_prefix = "review"
    verdict = forms.ChoiceField(label=_("复核结论"), widget=forms.RadioSelect,
                                choices=[("uphold", _("同意排除")), ("overturn", _("驳回，重新核实"))])
    note = forms.CharField(label=_("复核意见"), required=False, widget=forms.Textarea,
                           max_length=1000)
