from __future__ import annotations

from django import forms

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
        widgets = {
            "position": forms.Select(attrs={"class": "form-select"}),
            "name": forms.TextInput(attrs={"class": "form-control"}),
            "title": forms.TextInput(attrs={"class": "form-control"}),
            "phone": forms.TextInput(attrs={"class": "form-control"}),
            "order": forms.NumberInput(attrs={"class": "form-control"}),
        }
