"""How the audit page words a row: actions, objects and details in Chinese (never a code).

The action codes and detail keys are plain strings written by every app's services; their
labels live here. A detail *value* that is a code of some app (a role, a sweep, a placement) is
worded by that app: it registers the labels for the key in its AppConfig.ready()
(`plugins.AuditValues`, slot "audit_values"), and so does a detail key only one app writes
(`plugins.AuditField`). A code with no label is shown as it is, so the page test finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from kongchuo import plugins
from kongchuo.access.idnumbers import mask_ids_in_text
from kongchuo.calendar.schoolyear import period_label

ACTIONS = {
    "login": _("登录"), "logout": _("退出"), "login_failed": _("登录失败"), "lockout": _("账号锁定"),
    "forbidden": _("越权访问"), "csrf_failure": _("页面过期或来源无法验证"),
    "reveal_id": _("查看完整证件号/电话"), "export": _("导出"), "export_full": _("导出（完整证件号）"),
    "export_purge": _("清理过期导出文件"), "orphan_files_purge": _("清理无主上传文件"),
    "import": _("导入"), "import_errors_download": _("下载导入错误清单"),
    "sweep_run": _("排查运行"), "sweep_resume": _("排查分区重发"), "sweep_schedule": _("修改排查计划"),
    "calendar_day_set": _("登记校历调整"), "calendar_day_delete": _("删除校历调整"),
    "otp_setup": _("绑定动态口令"), "otp_verify": _("动态口令验证"), "otp_failed": _("动态口令错误"),
    "user_create": _("新建用户"), "user_deactivate": _("停用用户"),
    "leading_group_add": _("增加领导小组成员"), "leading_group_remove": _("移出领导小组成员"),
    "responsibility_update": _("修改学校责任人"),
    "attachment_add": _("上传附件"), "attachment_delete": _("删除附件"),
    "deferral_review": _("延缓入学审核"), "return_report_withdraw": _("撤销返校报到"),
    "alert_confirm": _("确认疑似辍学"), "alert_dismiss": _("排除预警"), "alert_review": _("复核排除"),
    "case_place": _("登记劝返安置"), "case_escalate": _("上报属地政府"),
    "escalation_answer": _("登记处置措施"), "case_closure_request": _("申请销号"),
    "case_closure_decide": _("审批销号"), "feedback_answer": _("反馈名单核查"),
    "feedback_export": _("导出反馈核查结果"), "supervision_sample": _("督查抽样"),
    "dashboard_export": _("导出统计明细"), "cohort_intake_import": _("导入入学队列人数"),
    "account_create": _("新建账号"), "account_update": _("修改账号"),
    "account_deactivate": _("停用账号"), "account_activate": _("启用账号"),
    "account_password_reset": _("重置密码"), "account_otp_reset": _("解除动态口令绑定"),
    "account_unlock": _("解除登录锁定"), "account_import": _("批量创建账号"),
    "password_change": _("修改密码"), "import_output_download": _("下载初始密码表"),
    "census_elsewhere": _("户籍名单导入：其他乡镇已列入的儿童未导入"),
    # the school year (issue 16)
    "rollover": _("学年结转"), "rollover_revert": _("撤销学年结转"), "school_year_terms": _("设置学期日期"),
    "student_create": _("新增学生"), "student_update": _("修改学生信息"), "student_id_correct": _("更正身份证件号"),
    "repeat_record": _("登记留级"), "repeat_withdraw": _("撤销留级"), "junior_school_set": _("设置对口初中"),
    "transfer_request": _("提出转学"), "transfer_confirm": _("确认转学"), "transfer_refused": _("拒绝转学"),
    "transfer_withdrawn": _("撤回转学"),
    "admin_view": _("后台查看学生记录"), "login_spray_block": _("同一地址尝试过多用户名，已限制登录"),
}
OUTCOMES = {"ok": _("成功"), "failed": _("失败"), "denied": _("拒绝"), "locked": _("锁定"),
            # imports
            "written": _("已导入"), "dry_run": _("预检完成"), "refused": _("文件无法读取"),
            "rejected": _("有错误，未导入")}
# Objects that are not a model of the portal's own wording (their model has no Chinese name).
OBJECTS = {"kongchuo.job": _("后台任务"), "django_celery_beat.periodictask": _("排查计划")}
FIELDS = {
    "kind": _("类型"), "filename": _("文件"), "file": _("文件"), "name": _("文件"), "title": _("标题"),
    "field": _("字段"), "fields": _("修改项"), "reason": _("原因"), "jobs": _("任务数"), "days": _("天数"),
    "files": _("文件数"), "path": _("地址"), "method": _("请求方式"), "role": _("角色"),
    "username": _("用户名"), "student": _("学生编号"), "term": _("学期"), "decision": _("结果"),
    "attachment": _("附件编号"), "mime": _("文件格式"), "size": _("大小（字节）"), "case": _("案件编号"),
    "upheld": _("维持排除"), "placement": _("安置方式"), "deadline": _("期限"), "measure": _("措施"),
    "category": _("销号类别"), "approved": _("同意"), "before": _("原结果"), "result": _("核查结果"),
    "rows": _("行数"), "full_ids": _("完整证件号"), "seed": _("抽样种子"), "cases": _("抽查案件数"),
    "alerts": _("抽查预警数"), "drawn": _("抽中"), "sweep": _("排查"), "as_of": _("基准日期"),
    "township": _("范围"), "created": _("新增"), "updated": _("更新"), "metric": _("统计项"),
    "sessions_ended": _("结束会话数"), "written": _("写入"), "rejected": _("错误行"), "dry_run": _("试导入"),
    "unchanged": _("未变"), "skip_invalid": _("跳过错误行"), "moved": _("从本县其他学校转入"),
    "missing": _("名册中缺少"), "matched": _("匹配到学生"), "unmatched": _("未匹配到学生"),
    "townships_created": _("新增乡镇"), "townships_updated": _("更新乡镇"), "error": _("错误"),
    "ledger": _("台账"), "scope": _("范围"), "full": _("完整证件号"), "source": _("方式"),
    "transfers": _("生成转学申请"), "elsewhere": _("已列入其他乡镇户籍名单"),
    # the school year: records, transfers (the rollover's counts are worded by the app running it)
    "year": _("年度"), "school": _("学校编号"), "arrival": _("来源"), "old": _("原证件号"),
    "new": _("新证件号"), "from": _("原对口初中编号"), "to": _("新对口初中编号"), "date": _("日期"),
    "direction": _("发起方"), "count": _("人数"), "from_school": _("原学校编号"), "to_school": _("转入学校编号"),
    "partitions": _("分区"), "idle_s": _("无响应秒数"), "schedule": _("运行计划"), "enabled": _("启用"),
    "dates": _("日期"), "school_day": _("上课"), "note": _("说明"),
    "view": _("页面"), "q": _("搜索"), "usernames": _("失败的用户名数"),
}
# Keys whose value is for machines (a checksum, a query string): not worth a clerk's attention.
HIDDEN = {"checksum", "filters"}


def _words(key: str) -> Mapping | Callable[[object], str] | None:
    """The labels the apps registered for the values of `key`, in registration order: mappings
    merge, a function replaces what came before it."""
    words: Mapping | Callable[[object], str] | None = None
    for entry in plugins.items("audit_values"):
        if entry.key != key:
            continue
        if isinstance(entry.labels, Mapping):
            words = {**(words if isinstance(words, Mapping) else {}), **entry.labels}
        else:
            words = entry.labels
    return words


def field_label(key: str) -> str:
    if key in FIELDS:
        return str(FIELDS[key])
    registered = [entry.label for entry in plugins.items("audit_field") if entry.key == key]
    return str(registered[-1]) if registered else key


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def outcome_label(outcome: str) -> str:
    return str(OUTCOMES.get(outcome, outcome))


def object_label(object_type: str) -> str:
    """A model label in words: the model's own name (用户 for the portal's user model)."""
    if not object_type:
        return ""
    if object_type in OBJECTS:
        return str(OBJECTS[object_type])
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return ""  # not a model: the action and the details say what it was


def _value(key: str, value) -> str:
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list | tuple):
        return "、".join(_value(key, v) for v in value)
    words = _words(key)
    if words is not None and value not in (None, ""):
        return str(words.get(value, value)) if isinstance(words, Mapping) else words(value)
    if value in (None, ""):
        return "—"
    return period_label(str(value))


def detail_text(detail: dict) -> str:
    """角色：属地政府；用户名：demo_gov."""
    parts = []
    for key, value in (detail or {}).items():
        if key in HIDDEN or isinstance(value, dict):
            continue
        parts.append(f"{field_label(key)}：{_value(key, value)}")
    return mask_ids_in_text("；".join(parts))  # a reason or filter typed with an ID in it

