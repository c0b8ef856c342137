from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from students.models import LeadingGroupMember, School


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
