from __future__ import annotations

import datetime as dt

import factory
from factory.django import DjangoModelFactory

from kongchuo.access.idnumbers import make_id
from students.models import CensusEntry, School, Student, Township, User


class TownshipFactory(DjangoModelFactory):
    class Meta:
        model = Township
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"341522{200 + n:03d}")
    name = factory.Sequence(lambda n: f"测试{n}镇")


class SchoolFactory(DjangoModelFactory):
    class Meta:
        model = School

    code = factory.Sequence(lambda n: f"34152{n:05d}")
    name = factory.Sequence(lambda n: f"测试{n}小学")
    kind = "primary"
    township = factory.SubFactory(TownshipFactory)


_birth = dt.date(2015, 3, 1)


class StudentFactory(DjangoModelFactory):
    class Meta:
        model = Student

    id_number = factory.Sequence(lambda n: make_id("341522", _birth + dt.timedelta(days=n // 500), n))
    name = factory.Faker("name", locale="zh_CN")
    sex = factory.LazyAttribute(lambda o: "M" if int(o.id_number[16]) % 2 else "F")
    birth_date = factory.LazyAttribute(
        lambda o: dt.date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14])))
    school = factory.SubFactory(SchoolFactory)
    grade = 4
    class_name = "1班"
    status = Student.Status.ENROLLED
    guardian_name = factory.Faker("name", locale="zh_CN")
    guardian_phone = "13812345678"


class CensusEntryFactory(DjangoModelFactory):
    class Meta:
        model = CensusEntry

    year = 2026
    id_number = factory.Sequence(lambda n: make_id("341522", dt.date(2014, 1, 1) + dt.timedelta(days=n // 500), n))
    name = factory.Faker("name", locale="zh_CN")
    sex = factory.LazyAttribute(lambda o: "M" if int(o.id_number[16]) % 2 else "F")
    birth_date = factory.LazyAttribute(
        lambda o: dt.date(int(o.id_number[6:10]), int(o.id_number[10:12]), int(o.id_number[12:14])))
    township = factory.SubFactory(TownshipFactory)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        # The password hook saves the hashed password itself (below); factory_boy's implicit
        # save after post-generation hooks is deprecated.
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "school"

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or "correct-horse-9")
        if create:
            obj.save(update_fields=["password"])
