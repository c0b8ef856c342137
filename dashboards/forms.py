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
            raise forms.ValidationError(_("文件过大 / file too large"))
        return upload
