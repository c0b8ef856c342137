"""Proof files of the workflow's steps: sniffed, hashed, stored under a random name.

The steps of every sub-domain (a dismissal, a 销号 request, a feedback answer, a rectification
report) attach their files through `evidence_save`, inside their own transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import models
from django.utils.translation import gettext as _

from retrieval.models import Evidence
from retrieval.workflow import WorkflowError
from students.models import School, Township, User

MAX_FILES = 5

_MAGIC = (
    (b"%PDF-", Evidence.Mime.PDF),
    (b"\x89PNG\r\n\x1a\n", Evidence.Mime.PNG),
    (b"\xff\xd8\xff", Evidence.Mime.JPEG),
)


def evidence_sniff(upload: File[bytes]) -> str:
    """The file's real type from its first bytes (the name and the browser's claim are not
    trusted); refuses anything but JPEG, PNG and PDF, and anything over the size limit."""
    limit = settings.KONGCHUO_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise WorkflowError(_("文件过大（上限 %(mb)s MB）") % {"mb": limit // (1024 * 1024)})
    if upload.size == 0:
        raise WorkflowError(_("文件为空"))
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    raise WorkflowError(_("证明材料只能是 JPG、PNG 图片或 PDF 文件"))


def evidence_save(files: Sequence[File[bytes]], *, user: User, school: School | None = None,
                  township: Township | None = None, **parents: models.Model) -> list[Evidence]:
    """Store `files` as evidence of the step named by `parents` (decision=, case=, …), routed
    to `school` / `township` so the scoped queryset decides who may download them. The caller
    holds the transaction and has checked the user may take the step."""
    if len(files) > MAX_FILES:
        raise WorkflowError(_("一次最多上传 %(n)s 个文件") % {"n": MAX_FILES})
    if school is not None and township is None:
        township = school.township
    saved = []
    for upload in files:
        mime = evidence_sniff(upload)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        ev = Evidence(token=secrets.token_hex(16), mime=mime, size=upload.size,
                      sha256=digest.hexdigest(), original_name=(upload.name or "file")[-120:],
                      school=school, township=township, uploaded_by=user, **parents)
        ev.file.save(f"{ev.token}.{ev.extension}", ContentFile(upload.read()), save=False)
        ev.save()
        saved.append(ev)
    return saved
