"""Ledger fixtures: one entry of every ledger for school A's child (and one for school B's), so
each permission test is a parametrised line."""

from __future__ import annotations

import datetime as dt

import pytest

from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    HomeTeachingVisit,
    LearningSupportNote,
    LearningSupportPlan,
    OutOfCountyRecord,
    PublicityActivity,
    ReturnReport,
    VocationalRecord,
)
from students.models import StatusChange
from tests.factories import StudentFactory

VALID_CHILD_ID = "341522201803070016"  # check digit valid; a 2018 child of entry age


def make_entries(school, student, user=None) -> dict:
    day = today()
    term = term_of(day).code
    plan = HomeTeachingPlan.objects.create(student=student, disability_category="肢体残疾",
                                           teachers="王老师", start_date=day - dt.timedelta(days=60),
                                           created_by=user)
    lplan = LearningSupportPlan.objects.create(student=student, teacher="李老师", measures="课后辅导",
                                               start_date=day - dt.timedelta(days=30), created_by=user)
    return {
        "status_changes": StatusChange.objects.create(
            student=student, kind="leave", effective_date=day - dt.timedelta(days=5),
            end_date=day - dt.timedelta(days=4), reason="病假", created_by=user),
        "returns": ReturnReport.objects.create(student=student, term=term, reported_on=day,
                                               created_by=user),
        "vocational": VocationalRecord.objects.create(student=student, school_name="职高",
                                                      start_date=day, created_by=user),
        "out_of_county": OutOfCountyRecord.objects.create(student=student, county="裕安区",
                                                          school_name="裕安小学", start_date=day,
                                                          created_by=user),
        "deferrals": Deferral.objects.create(
            school=school, id_number=VALID_CHILD_ID, name="小明", birth_date=dt.date(2018, 3, 7),
            guardian_name="张三", reason="病", certificate="医院证明", start_date=day,
            end_date=day + dt.timedelta(days=300), created_by=user),
        "home_teaching": plan,
        "learning_support": lplan,
        "aid": AidRecord.objects.create(student=student, term=term, kind="living", amount=500,
                                        granted_on=day, created_by=user),
        "family_contact": FamilyContact.objects.create(school=school, student=student, kind="home_visit",
                                                       contact_date=day, staff="王老师",
                                                       content="家访", created_by=user),
        "absences": Absence.objects.create(student=student, start_date=day - dt.timedelta(days=7),
                                           end_date=day - dt.timedelta(days=5), school_days=3,
                                           created_by=user),
        "publicity": PublicityActivity.objects.create(school=school, activity_date=day, kind="banner",
                                                      audience="家长", created_by=user),
        "home_teaching_visits": HomeTeachingVisit.objects.create(
            plan=plan, visit_date=day, teachers="王老师", content="culture", created_by=user),
        "learning_support_notes": LearningSupportNote.objects.create(
            plan=lplan, note_date=day, progress="进步", created_by=user),
    }


@pytest.fixture
def entries(county):
    """`entries.a[slug]` belongs to school A (township A), `entries.b[slug]` to school B."""
    ns = type("Entries", (), {})()
    ns.a = make_entries(county.a_primary, county.s_a, county.school_a)
    ns.b = make_entries(county.b_primary, county.s_b, county.school_b)
    return ns


@pytest.fixture
def second_student(county):
    return StudentFactory(school=county.a_primary, hukou_township=county.ta, class_name="1班")


def tiny_png() -> bytes:
    """A real 1×1 PNG (signature, IHDR, IDAT, IEND with valid CRCs)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


TINY_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.fixture
def png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("照片.png", tiny_png(), content_type="image/png")


@pytest.fixture
def attachment(county, entries):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from ledgers.services import attachment_add

    upload = SimpleUploadedFile("现场照片.png", tiny_png(), content_type="image/png")
    return attachment_add(entry=entries.a["publicity"], user=county.school_a, upload=upload)
