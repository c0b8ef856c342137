"""Import kind `users`: one 控辍保学专干 (clerk) account per school, the school by its 学校标识码.

Every account gets a generated one-time password and must change it at first login; the
passwords are delivered once, as a workbook the importer downloads from the job page
(`Job.output`, deleted on download: kongchuo.imports.views). A school that already has an
account of that user name is left alone (`unchanged`): the same file twice creates nothing.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role
from kongchuo.imports import parsers
from kongchuo.imports.base import Field, ImportContext, ImportKind, ImportPlan, RowStream
from kongchuo.imports.bulk import batch_size_for, fetch_in
from kongchuo.imports.cells import Text, quoted
from kongchuo.portal.xlsxout import LedgerColumn, write_official_ledger
from students.imports import SchoolIndex, row_school, text_field
from students.models import School, User
from students.services import account_password_generate


class UsersImport(ImportKind):
    slug = "users"
    label = _("学校账号")
    description = _("每校一个控辍保学专干账号：按学校标识码批量创建，初始密码表只能下载一次，"
                    "首次登录须修改密码。")
    fields = (
        Field("school_code", ("学校标识码", "学校代码"), parsers.code(10, required=True), required=True,
              text=True, note="10位学校标识码"),
        text_field("name", ("姓名", "专干姓名", "联系人"), 150, required=True, note="控辍保学专干姓名"),
        text_field("phone", ("电话", "联系电话", "手机"), 20, text=True),
        text_field("username", ("用户名", "账号"), 150, text=True, note="不填则用学校标识码"),
    )
    key = ("school_code",)
    # The county for any school, a township center school for the schools it oversees.
    roles = (Role.COUNTY, Role.TOWNSHIP)
    computed = ("school_id",)
    one_time_output = True
    order = 90
    icon = "bi-person-plus"

    def prepare(self, ctx: ImportContext) -> None:
        ctx.state["schools"] = SchoolIndex.load()

    def check_row(self, row: Any, ctx: ImportContext) -> bool:
        row.school_id = row_school(row, ctx, row.school_code, "")
        if row.school_id is None:
            return False
        row.username = (row.username or row.school_code).strip()
        if not all(c.isalnum() or c in "_.@-" for c in row.username) or len(row.username) < 3:
            ctx.reject(row.row, "username", "value_invalid", hint=quoted(row.username, 20))
            return False
        return True

    def plan(self, rows: RowStream, ctx: ImportContext) -> ImportPlan:
        items = rows.unique()
        taken = {u[0]: u for u in fetch_in(User.objects.values_list("username", "role", "school_id"),
                                           "username", [r.username for r in items])}
        new, same = [], 0
        for r in items:
            hit = taken.get(r.username)
            if hit is None:
                new.append(r)
            elif hit[1] == Role.SCHOOL and hit[2] == r.school_id:
                same += 1
            else:
                ctx.reject(r.row, "username", "value_invalid",
                           hint=Text(gettext_noop("用户名“%(username)s”已被其他账号使用"), username=r.username))
        return ImportPlan(created=len(new), unchanged=same, payload=new)

    def apply(self, plan: ImportPlan, ctx: ImportContext) -> None:
        """Create the accounts; the passwords go into a one-time workbook on the job (written
        after the commit, so a rolled-back import leaves no password file behind)."""
        rows = plan.payload
        if not rows:
            return
        schools = {s.pk: s for s in School.objects.filter(pk__in={r.school_id for r in rows})
                   .select_related("township")}
        passwords = [account_password_generate() for _ in rows]
        users = [User(username=r.username, first_name=r.name, phone=r.phone or "", role=Role.SCHOOL,
                      school_id=r.school_id, must_change_password=True, password=make_password(pw))
                 for r, pw in zip(rows, passwords, strict=True)]
        User.objects.bulk_create(users, batch_size=batch_size_for(12))
        audit_record(action="account_import", user=ctx.user, object_type="students.user",
                     detail={"accounts": len(users), "job": getattr(ctx.job, "pk", None)})
        job = ctx.job
        if job is None:
            return
        sheet = [(schools[r.school_id], r.username, r.name, pw) for r, pw in zip(rows, passwords, strict=True)]
        job.output.name = job.output.field.generate_filename(job, f"users-{job.pk}-passwords.xlsx")
        target = job.output.name

        def store() -> None:
            default_storage.save(target, ContentFile(password_workbook(sheet, ctx)))

        transaction.on_commit(store)


def password_workbook(rows: list[tuple], ctx: ImportContext) -> bytes:
    """The one-time list of initial passwords, in the official layout."""
    out = io.BytesIO()
    columns = [LedgerColumn(str(_("乡镇")), "township", 14), LedgerColumn(str(_("学校")), "school", 28),
               LedgerColumn(str(_("学校标识码")), "code", 14), LedgerColumn(str(_("用户名")), "username", 16),
               LedgerColumn(str(_("姓名")), "name", 10), LedgerColumn(str(_("初始密码")), "password", 24)]
    write_official_ledger(
        out, title=str(_("学校控辍保学专干账号初始密码")),
        unit=ctx.user.scope_label if ctx.user is not None else str(_("县教育局")),
        fill_date=ctx.today, columns=columns, sheet_name=str(_("学校账号")),
        footer=(str(_("初始密码仅用于首次登录，登录后须修改；分发后请销毁本表。")),),
        rows=({"township": school.township.name, "school": school.name, "code": school.code,
               "username": username, "name": name, "password": password}
              for school, username, name, password in rows))
    return out.getvalue()
