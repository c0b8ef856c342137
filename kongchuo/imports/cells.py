"""Cells of an import: the limits, the error codes with their messages (a contract: JSON,
error workbooks and tests name them), and the normalisers that turn a cell into a value or
raise CellError. Nothing here imports an app.

User text is a `Text`: a Chinese msgid (marked with gettext_noop where it is written) and its
parameters, rendered in the active language when it is shown, never when it is raised (and,
unlike a lazy proxy, it crosses the reader process).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, pgettext

from kongchuo.access.idnumbers import IdNumberError, validate_id

MB = 1024 * 1024
# Upload limits. MAX_UNCOMPRESSED is far above a bomb guard's usual 50 MB because a county
# roster is big: 200,000 rows of a 学籍 export is 150-200 MB of sheet XML (13 MB zipped).
# Bombs are caught by the ratio and member limits, the reader process's memory cap the rest.
MAX_UPLOAD_BYTES = 20 * MB
MAX_UNCOMPRESSED = 512 * MB
MAX_MEMBERS = 100
MAX_RATIO = 100
MAX_ROWS = 500_000
Cell = Any  # str | int | float | bool | date | datetime | time | timedelta (as calamine returns)
Row = tuple[int, list[Cell]]

# --------------------------------------------------------------------------- messages

MESSAGES: dict[str, str] = {
    # cell level: the codes the import issue lists
    "required_missing": gettext_noop("必填项为空"),
    "id_format": gettext_noop("身份证件号格式错误（应为18位，末位可为X）"),
    "id_numeric": gettext_noop('身份证件号被Excel存成了数字，末几位已丢失：请将该列设置为"文本"格式后重新填写'),
    "id_checksum": gettext_noop("身份证件号校验位错误"),
    "id_birthdate": gettext_noop("身份证件号中的出生日期无效"),
    "birth_mismatch": gettext_noop("出生日期与身份证件号不一致"),
    "gender_mismatch": gettext_noop("性别与身份证件号不一致"),
    "grade_unknown": gettext_noop("年级无法识别（应为一年级至九年级）"),
    "school_unknown": gettext_noop("学校不存在或不在本县学校名录中"),
    "student_unknown": gettext_noop("查无此学生"),
    "duplicate_in_file": gettext_noop("与本文件中其他行重复"),
    "value_invalid": gettext_noop("取值无效"),
    # file level
    "file_empty": gettext_noop("文件为空"),
    "file_too_large": gettext_noop("文件过大（上限 %(limit_mb)s MB）"),
    "file_unsafe": gettext_noop("文件结构异常（疑似压缩炸弹或超大稀疏表），已拒绝"),
    "file_type": gettext_noop("不支持的文件类型或文件已损坏：请上传 .xlsx、.xls 或 .csv 文件"),
    "file_encrypted": gettext_noop("文件已加密：请取消密码保护后重新上传"),
    "too_many_rows": gettext_noop("行数超过上限 %(limit)s 行：请拆分后分批上传"),
    "sheet_not_found": gettext_noop("找不到工作表：%(name)s"),
    "header_missing": gettext_noop("未找到必需的列：%(labels)s。请确认上传的文件种类正确、表头未被改动"),
    # the machinery's own: scope and refusals before the file is read
    "out_of_scope": gettext_noop("不在您的管辖范围内"),
    "kind_unknown": gettext_noop("未知的导入类型：%(kind)s"),
    "kind_forbidden": gettext_noop("您无权导入该类数据"),
}

# The two languages of the portal by the short name the import machinery and its JSON use.
LANGUAGES = {"zh": "zh-hans", "en": "en"}


def current_lang() -> str:
    """The active language as the import machinery names it: "zh" or "en"."""
    return "en" if (translation.get_language() or settings.LANGUAGE_CODE).startswith("en") else "zh"


class _Blank(dict):
    """Parameters for a message: a missing one shows as its placeholder, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return "%(" + key + ")s"


class Text:
    """User text: a msgid (Chinese, the source language) and its parameters, rendered by
    `str()` in the active language. `hint` is detail appended after the message (a value as
    written, or another Text). A list parameter is joined with the language's list separator.
    """

    def __init__(self, msgid: str, hint: Text | str = "", **params: Any) -> None:
        self.msgid, self.hint, self.params = msgid, hint, params

    def __str__(self) -> str:
        text = gettext(self.msgid)
        if self.params:
            text = text % _Blank({k: _shown(v) for k, v in self.params.items()})
        if self.hint:
            text = gettext("%(message)s：%(detail)s") % {"message": text, "detail": str(self.hint)}
        return text

    def render(self, lang: str) -> str:
        """The text in `lang` ("zh" or "en", or a language code), whatever is active."""
        with translation.override(LANGUAGES.get(lang, lang)):
            return str(self)

    def __repr__(self) -> str:
        return f"Text({self.msgid!r}, {self.hint!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:
        return hash((type(self), self.msgid))


class StoredText(Text):
    """A Text kept already rendered in both languages (the issues a Job's result stores)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(zh)
        self.en = en

    def __str__(self) -> str:
        return self.en if current_lang() == "en" else self.msgid


def site_text(text: Text | str) -> str:
    """Text a Job row stores, in the site's language (what the worker, with no user, speaks)."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def _shown(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return pgettext("list separator", "、").join(str(v) for v in value)
    return str(value) if isinstance(value, Text) else value


def code_text(code: str, hint: Text | str = "", **params: Any) -> Text:
    """The Text of `code` (unknown codes: value_invalid's), with its parameters and hint."""
    return Text(MESSAGES.get(code, MESSAGES["value_invalid"]), hint, **params)


class TextMessages:
    """The message of anything holding a `text` (an error, an Issue)."""

    text: Text

    def message(self, lang: str | None = None) -> str:
        """The message in `lang` ("zh"/"en"), or in the active language."""
        return str(self.text) if lang is None else self.text.render(lang)


class CodedError(TextMessages, Exception):
    """An error with a stable code and its Text: the code's message with its parameters and
    `hint` (the value, a Text) appended, or `text` instead of the code's message."""

    def __init__(self, code: str, text: Text | str | None = None, *, hint: Text | str = "",
                 **params: Any) -> None:
        self.code = code
        if text is None:
            self.text = code_text(code, hint, **params)
        else:
            self.text = text if isinstance(text, Text) else Text(text, hint)
        super().__init__(code, self.text)

    def __str__(self) -> str:
        return str(self.text)


class TabularError(CodedError):
    """The whole file is refused (type, safety, size, header)."""


class CellError(CodedError):
    """One cell's value is refused; the row is reported, the rest of the file goes on."""


# --------------------------------------------------------------------------- normalisers

INVISIBLE = "\u200b\u200c\u200d\ufeff"


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip().strip(INVISIBLE))


def _invalid(code: str, value: Cell, hint: Text | str = "") -> CellError:
    return CellError(code, hint=hint or quoted(value), value=value)


def quoted(value: Any, limit: int = 40) -> str:
    """A cell value as an error shows it: the first `limit` characters, in quotes."""
    return f"“{str(value)[:limit]}”"


def _blank_or_raise(value: Cell, required: bool) -> bool:
    blank = _is_blank(value)
    if blank and required:
        raise CellError("required_missing")
    return blank


def _clean(value: Cell) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().strip(INVISIBLE).strip()


def parse_text(value: Cell, *, required: bool = False, max_length: int | None = None) -> str:
    """Text as stored: NFKC, trimmed; a number Excel made of a phone or code loses its ".0".
    One leading apostrophe (users type it to force text; `escape_formula` adds it on export)
    is dropped."""
    if _blank_or_raise(value, required):
        return ""
    if isinstance(value, bool):
        text = "是" if value else "否"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    else:
        text = _clean(value)
        if text.startswith(("'", "‘", "’")):
            text = text[1:].strip()
    if max_length is not None and len(text) > max_length:
        raise _invalid("value_invalid", value, Text(gettext_noop("超过%(n)s个字"), n=max_length))
    return text


def parse_id(value: Cell, *, required: bool = True) -> str | None:
    """A valid resident ID or CellError with idnumbers' code (id_numeric, id_checksum, …)."""
    if not required and _is_blank(value):
        return None
    try:
        return validate_id(value)
    except IdNumberError as exc:
        raise CellError(exc.code, value=value) from None


_SERIAL_MAX = (dt.date(2100, 12, 31) - dt.date(1899, 12, 30)).days
_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                      r"(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YM_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?|\s*\d{1,2}\s*日)?"
                    r"(?:\s+[\d:.]+)?")
_COMPACT_YM = re.compile(r"(\d{4})(\d{2})")


def _serial_to_date(serial: float) -> dt.date | None:
    """Excel 1900-system serial to date; None unless it lands in 1900–2100."""
    if not math.isfinite(serial):
        return None
    days = math.floor(serial)
    if days < 1 or days > _SERIAL_MAX or days == 60:  # 60 is Excel's phantom 1900-02-29
        return None
    return dt.date(1899, 12, 31 if days < 60 else 30) + dt.timedelta(days=days)


def _make_date(y: str | int, m: str | int, d: str | int, value: Cell) -> dt.date:
    try:
        date = dt.date(int(y), int(m), int(d))
    except ValueError:
        raise _invalid("value_invalid", value, Text(gettext_noop("日期不存在%(value)s"), value=quoted(value))) from None
    if not 1900 <= date.year <= 2100:
        raise _invalid("value_invalid", value)
    return date


def parse_date(value: Cell, *, required: bool = False) -> dt.date | None:
    """Dates as people and Excel write them: date cells, serials, 2012-05-06, 2012年5月6日, …"""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))  # 20120506 typed as a number
        elif (date := _serial_to_date(value)) is None:
            raise _invalid("value_invalid", value)
        else:
            return date
    if not isinstance(value, str):
        raise _invalid("value_invalid", value)
    text = _clean(value)
    m = _DATE_RE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not m:
        raise _invalid("value_invalid", value, Text(gettext_noop("无法识别的日期%(value)s"), value=quoted(text)))
    return _make_date(m.group(1), m.group(2), m.group(3), value)


def parse_year_month(value: Cell, *, required: bool = False) -> tuple[int, int] | None:
    """(year, month) from 2019-09, 201909, 2019年9月, 2019.9, a date, or the number 201909."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, dt.date):
        return value.year, value.month
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        if float(value).is_integer():
            n = int(value)
            if 190001 <= n <= 210012 and 1 <= n % 100 <= 12:
                return n // 100, n % 100
            date = parse_date(value)
            assert date is not None
            return date.year, date.month
        text = format(value, ".10g")
        if re.fullmatch(r"\d{4}\.1", text):  # 2019.1 or 2019.10? the number cannot tell
            raise _invalid("value_invalid", value, Text(gettext_noop("请写成“2019年10月”或设置为文本")))
        value = text
    if not isinstance(value, str):
        raise _invalid("value_invalid", value)
    text = _clean(value)
    m = _YM_RE.fullmatch(text) or _COMPACT_YM.fullmatch(text)
    if not m:
        if _COMPACT_DATE.fullmatch(text):
            date = parse_date(text)
            assert date is not None
            return date.year, date.month
        raise _invalid("value_invalid", value, Text(gettext_noop("无法识别的年月%(value)s"), value=quoted(text)))
    date = _make_date(m.group(1), m.group(2), 1, value)
    return date.year, date.month


_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def parse_grade(value: Cell, *, required: bool = False) -> int | None:
    """Compulsory-education grade 1–9 from 一年级, 初二, 七年级, "3", 3.0 …; else grade_unknown."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, bool):
        raise _invalid("grade_unknown", value)
    if isinstance(value, int | float):
        if math.isfinite(value) and float(value).is_integer() and 1 <= value <= 9:
            return int(value)
        raise _invalid("grade_unknown", value)
    text = re.sub(r"\s+", "", _clean(value)).removeprefix("小学")
    junior = text.startswith("初")
    text = text.removeprefix("初中").removeprefix("初").removesuffix("年级").removesuffix("年")
    n = _CN_DIGITS.get(text) or (int(text) if text.isdigit() and len(text) == 1 else 0)
    if junior and 1 <= n <= 3:
        n += 6  # 初一 = grade 7
    elif junior and n not in (7, 8, 9):
        n = 0
    if not 1 <= n <= 9:
        raise _invalid("grade_unknown", value)
    return n


_BOOL = {**dict.fromkeys(("是", "√", "✓", "✔", "Y", "YES", "TRUE", "1", "1.0"), True),
         **dict.fromkeys(("否", "×", "✗", "✘", "N", "NO", "FALSE", "0", "0.0"), False)}
_SEX = {"男": "M", "男性": "M", "M": "M", "MALE": "M", "1": "M",
        "女": "F", "女性": "F", "F": "F", "FEMALE": "F", "2": "F"}


def _spelled(table: dict[str, Any], value: Cell) -> Any:
    """The table's value for the cell's spelling (upper-cased; the number 1.0 spelled "1")."""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else _clean(value).upper()
    if text not in table:
        raise _invalid("value_invalid", value)
    return table[text]


def parse_bool(value: Cell) -> bool:
    """是/否, √/×, Y/N, 1/0, True/False; blank means no."""
    if _is_blank(value):
        return False
    return value if isinstance(value, bool) else _spelled(_BOOL, value)


def parse_sex(value: Cell, *, required: bool = False) -> str | None:
    """"M" or "F" from 男/女, M/F or the national code 1/2."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, bool):
        raise _invalid("value_invalid", value)
    return _spelled(_SEX, value)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, streamed (uploads are kept by digest to spot re-uploads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            digest.update(chunk)
    return digest.hexdigest()
