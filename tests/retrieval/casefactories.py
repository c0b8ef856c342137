"""Factories and helpers for the 劝返 workflow tests (alerts, feedback rows, evidence files)."""

from __future__ import annotations

import datetime as dt

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory

from retrieval.models import Alert, FeedbackBatch, FeedbackItem

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(name: str = "proof.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def pdf(name: str = "proof.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


class AlertFactory(DjangoModelFactory):
    """A return_check alert about a student, routed to the student's school."""

    class Meta:
        model = Alert


    rule = Alert.Rule.RETURN_CHECK
    period = "2026-spring"
    student = None
    subject = factory.LazyAttribute(lambda o: o.student.id_number if o.student else "341522201001011234")
    name = factory.LazyAttribute(lambda o: o.student.name if o.student else "某某")
    school = factory.LazyAttribute(lambda o: o.student.school if o.student else None)
    township = factory.LazyAttribute(lambda o: o.student.school.township if o.student else None)
    level = "school"
    due_date = factory.LazyFunction(lambda: dt.date.today() + dt.timedelta(days=10))


class FeedbackBatchFactory(DjangoModelFactory):
    class Meta:
        model = FeedbackBatch

    title = factory.Sequence(lambda n: f"2026年省反馈疑似辍学名单（第{n}批）")
    issuer = "省教育厅"
    received_on = dt.date(2026, 11, 2)
    due_date = dt.date(2026, 11, 12)
    columns = ["序号", "县区", "姓名", "身份证件号", "学校名称", "问题类型"]


class FeedbackItemFactory(DjangoModelFactory):
    class Meta:
        model = FeedbackItem

    batch = factory.SubFactory(FeedbackBatchFactory)
    row = factory.Sequence(lambda n: n + 3)
    seq = factory.LazyAttribute(lambda o: str(o.row - 2))
    student = None
    name = factory.LazyAttribute(lambda o: o.student.name if o.student else "王某")
    id_number = factory.LazyAttribute(lambda o: o.student.id_number if o.student else "341522201001011234")
    school = factory.LazyAttribute(lambda o: o.student.school if o.student else None)
    township = factory.LazyAttribute(lambda o: o.student.school.township if o.student else None)
    school_name = factory.LazyAttribute(lambda o: o.school.name if o.school else "")
    problem = "学籍系统显示疑似辍学"
    due_date = dt.date(2026, 11, 12)
    original = factory.LazyAttribute(lambda o: {
        "序号": o.seq, "县区": "霍邱县", "姓名": o.name, "身份证件号": o.id_number,
        "学校名称": o.school_name, "问题类型": o.problem})
