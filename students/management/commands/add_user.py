import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from kongchuo.access.scoping import Role
from students.models import School, Township, User
from students.services import user_create


class Command(BaseCommand):
    help = "Create a portal user: add_user USERNAME --role ROLE [--township CODE | --school CODE]"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--township", help="9-digit township code (township, township_gov)")
        parser.add_argument("--school", help="10-digit 学校标识码 (school)")
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from standard input")
        parser.add_argument("--name", default="")

    def handle(self, *args, username, role, township, school, password_stdin, name, **opts):
        if User.objects.filter(username=username).exists():
            raise CommandError(gettext("用户已存在：%(username)s") % {"username": username})
        if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and not township:
            raise CommandError(gettext("该角色需要 --township CODE"))
        if role == Role.SCHOOL and not school:
            raise CommandError(gettext("学校角色需要 --school CODE"))
        if role == Role.COUNTY and (township or school):
            raise CommandError(gettext("县级角色不带 --township/--school"))
        if role not in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and township:
            raise CommandError(gettext("--township 仅用于 township/township_gov"))
        if role != Role.SCHOOL and school:
            raise CommandError(gettext("--school 仅用于 school 角色"))
        the_township = the_school = None
        if township:
            the_township = Township.objects.filter(code=township).first()
            if the_township is None:
                raise CommandError(gettext("未知乡镇代码：%(code)s") % {"code": township})
        if school:
            the_school = School.objects.filter(code=school).first()
            if the_school is None:
                raise CommandError(gettext("未知学校标识码：%(code)s") % {"code": school})
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError(gettext("密码不符合要求：%(problems)s") % {"problems": " ".join(exc.messages)}) from exc
        user = user_create(username=username, role=role, password=password, township=the_township, school=the_school,
                           first_name=name)
        if password:
            # The operator typed this password, so the owner chooses their own at first login,
            # before any second-factor secret is shown (issue 15: a never-used account must
            # not show its TOTP secret to whoever holds the password it was created with).
            user.must_change_password = True
            user.save(update_fields=["must_change_password"])
        scope = f"{role} · {user.scope_label}" if user.scope_label else role
        created = gettext("已创建用户 %(username)s（%(scope)s）") % {"username": user.username, "scope": scope}
        then = (gettext("；首次登录须修改密码") if password
                else gettext("；未设置密码（可用 --password-stdin 设置）"))
        self.stdout.write(self.style.SUCCESS(created + then))
