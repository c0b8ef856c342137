"""Proof files (images or PDFs) attached to a step of the workflow."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from retrieval.models.alerts import AlertDecision
from retrieval.models.cases import ClosureRequest, Escalation, RetrievalCase
from retrieval.models.common import USER
from retrieval.querysets import EvidenceQuerySet


def _evidence_path(instance: Evidence, filename: str) -> str:
    # The stored name never comes from the user: a random token plus the sniffed extension.
    return f"retrieval/evidence/{instance.token[:2]}/{instance.token}.{instance.extension}"


class Evidence(models.Model):
    """A proof file (image or PDF) of one step: a dismissal, a closure, a measure, an answer.

    It carries the route of what it proves (school/township, and the case for the township
    government), so one scoped queryset decides who may download it.
    """

    class Mime(models.TextChoices):
        JPEG = "image/jpeg", "JPEG"
        PNG = "image/png", "PNG"
        PDF = "application/pdf", "PDF"

    token = models.CharField(max_length=32, unique=True)
    file = models.FileField(_("文件"), upload_to=_evidence_path, max_length=200)
    original_name = models.CharField(_("文件名"), max_length=120)
    mime = models.CharField(_("类型"), max_length=20, choices=Mime)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    decision = models.ForeignKey(AlertDecision, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="evidence")
    case = models.ForeignKey(RetrievalCase, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="evidence")
    closure = models.ForeignKey(ClosureRequest, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="evidence")
    escalation = models.ForeignKey(Escalation, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="evidence")
    feedback_item = models.ForeignKey("retrieval.FeedbackItem", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="evidence")
    rectification = models.ForeignKey("retrieval.RectificationOrder", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="evidence")
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("上传人"))
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("证明材料")
        verbose_name_plural = _("证明材料")

    def __str__(self) -> str:
        return self.original_name

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[self.mime]

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")
