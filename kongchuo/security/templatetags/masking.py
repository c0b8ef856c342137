"""Template filters that mask personal data embedded in other values.

`{{ student.student_number|mask_ids }}`: a 全国学籍号 is usually "G" + the child's ID number, so
showing it unmasked shows the ID. Masks every 18-character ID (and 11-digit mobile) inside the text.
"""

from __future__ import annotations

from django import template

from kongchuo.access.idnumbers import mask_ids_in_text
from kongchuo.security.redact import redact

register = template.Library()


@register.filter
def mask_ids(value) -> str:
    return redact(str(value)) if value not in (None, "") else ""


@register.filter
def mask_id_shapes(value) -> str:
    """Free text a user typed or uploaded (notes, reasons, file names): every ID-shaped run
    masked by shape (`kongchuo.access.idnumbers.mask_ids_in_text`); phones and the rest left as typed."""
    return mask_ids_in_text(str(value)) if value not in (None, "") else ""
