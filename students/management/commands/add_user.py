import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

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
            raise CommandError(f"用户已存在 / user exists: {username}")
        if role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and not township:
            raise CommandError("该角色需要 --township CODE / this role needs --township CODE")
        if role == Role.SCHOOL and not school:
            raise CommandError("学校角色需要 --school CODE / the school role needs --school CODE")
        if role == Role.COUNTY and (township or school):
            raise CommandError("县级角色不带 --township/--school / county users take no scope")
        if role not in (Role.TOWNSHIP, Role.TOWNSHIP_GOV) and township:
            raise CommandError("--township 仅用于 township/township_gov")
        if role != Role.SCHOOL and school:
            raise CommandError("--school 仅用于 school 角色")
        t = s = None
        if township:
            t = Township.objects.filter(code=township).first()
            if t is None:
                raise CommandError(f"未知乡镇代码 / unknown township code: {township}")
        if school:
            s = School.objects.filter(code=school).first()
            if s is None:
                raise CommandError(f"未知学校标识码 / unknown school code: {school}")
        password = None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            try:
                validate_password(password, User(username=username))
            except ValidationError as exc:
                raise CommandError("密码不符合要求 / weak password: " + " ".join(exc.messages)) from exc
        user = user_create(username=username, role=role, password=password, township=t, school=s,
                           first_name=name)
        if password:
            # The operator typed this password, so the owner chooses their own at first login,
            # before any second-factor secret is shown (issue 15: a never-used account must
            # not show its TOTP secret to whoever holds the password it was created with).
            user.must_change_password = True
            user.save(update_fields=["must_change_password"])
        self.stdout.write(self.style.SUCCESS(
            f"已创建用户 / created {user.username} ({role}{' · ' + user.scope_label if user.scope_label else ''})"
            + ("；首次登录须修改密码 / the password must be changed at first login" if password
               else "；未设置密码 / no password set (use --password-stdin)")))
