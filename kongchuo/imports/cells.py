"""Cells of an import: the limits, the error codes with their messages (a contract: JSON,
error workbooks and tests name them), and the normalisers that turn a cell into a value or
raise CellError. Nothing here imports Django or an app.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import unicodedata
from typing import Any

from kongchuo.access.idnumbers import IdNumberError, validate_id

MB = 1024 * 1024
# Upload limits. MAX_UNCOMPRESSED is far above a bomb guard's usual 50 MB because a county
# roster is big: 200,000 rows of a 学籍 export is 150-200 MB of sheet XML (13 MB zipped).
# Bombs are caught by the ratio and member limits, and read_rows bounds real inflation.
MAX_UPLOAD_BYTES = 20 * MB
MAX_UNCOMPRESSED = 512 * MB
MAX_MEMBERS = 100
MAX_RATIO = 100
MAX_ROWS = 500_000
MAX_CELLS = 12_000_000  # 500k rows x 24 columns; calamine holds ~32 bytes a cell: 384 MB at worst
Cell = Any  # str | int | float | bool | date | datetime | time | timedelta (as calamine returns)
Row = tuple[int, list[Cell]]

# --------------------------------------------------------------------------- messages

MESSAGES: dict[str, tuple[str, str]] = {
    # cell level: the codes the import issue lists
    "required_missing": ("必填项为空", "Required value is missing"),
    "id_format": ("身份证件号格式错误（应为18位，末位可为X）",
                  "ID number must have 18 characters (the last may be X)"),
    "id_numeric": ('身份证件号被Excel存成了数字，末几位已丢失：请将该列设置为"文本"格式后重新填写',
                   "The ID number was stored as a number and lost its last digits: "
                   "format the column as Text and enter it again"),
    "id_checksum": ("身份证件号校验位错误", "ID number check digit is wrong"),
    "id_birthdate": ("身份证件号中的出生日期无效", "The birth date inside the ID number is invalid"),
    "birth_mismatch": ("出生日期与身份证件号不一致", "Birth date does not match the ID number"),
    "gender_mismatch": ("性别与身份证件号不一致", "Sex does not match the ID number"),
    "grade_unknown": ("年级无法识别（应为一年级至九年级）", "Unknown grade (expected grade 1 to 9)"),
    "school_unknown": ("学校不存在或不在本县学校名录中", "School not found in the county registry"),
    "student_unknown": ("查无此学生", "No such student"),
    "duplicate_in_file": ("与本文件中其他行重复", "Duplicates another row of this file"),
    "value_invalid": ("取值无效", "Invalid value"),
    # file level
    "file_empty": ("文件为空", "The file is empty"),
    "file_too_large": ("文件过大（上限 {limit_mb} MB）", "The file is too large (limit {limit_mb} MB)"),
    "file_unsafe": ("文件结构异常（疑似压缩炸弹或超大稀疏表），已拒绝",
                    "The file structure is abnormal (zip bomb or huge sparse sheet): rejected"),
    "file_type": ("不支持的文件类型或文件已损坏：请上传 .xlsx、.xls 或 .csv 文件",
                  "Unsupported or damaged file: upload an .xlsx, .xls or .csv file"),
    "file_encrypted": ("文件已加密：请取消密码保护后重新上传",
                       "The file is password-protected: remove the password and upload again"),
    "too_many_rows": ("行数超过上限 {limit} 行：请拆分后分批上传",
                      "More than {limit} rows: split the file and upload in parts"),
    "sheet_not_found": ("找不到工作表：{name}", "Worksheet not found: {name}"),
    "header_missing": ("未找到必需的列：{labels}。请确认上传的文件种类正确、表头未被改动",
                       "Required columns not found: {labels}. Check that this is the right kind "
                       "of file and that its header is intact"),
}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def message_for(code: str, lang: str = "zh", **params: Any) -> str:
    """The user-facing text for `code`; unknown codes fall back to value_invalid."""
    zh, en = MESSAGES.get(code, MESSAGES["value_invalid"])
    return (en if lang == "en" else zh).format_map(_Blank(params))


class _CodedError(Exception):
    """An error with a stable code and a message in both languages (Chinese first)."""

    def __init__(self, code: str, message_zh: str | None = None, message_en: str | None = None,
                 *, hint_zh: str = "", hint_en: str = "", **params: Any) -> None:
        self.code = code
        self.params = params
        self.message_zh = message_zh or message_for(code, "zh", **params)
        self.message_en = message_en or message_for(code, "en", **params)
        if hint_zh:
            self.message_zh += f"：{hint_zh}"
        if hint_en:
            self.message_en += f": {hint_en}"
        super().__init__(code, self.message_zh)

    def __str__(self) -> str:
        return self.message_zh

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message_zh


class TabularError(_CodedError):
    """The whole file is refused (type, safety, size, header)."""


class CellError(_CodedError):
    """One cell's value is refused; the row is reported, the rest of the file goes on."""


# --------------------------------------------------------------------------- normalisers

INVISIBLE = "\u200b\u200c\u200d\ufeff"


def _is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip().strip(INVISIBLE))


def _invalid(code: str, value: Cell, zh: str = "", en: str = "") -> CellError:
    shown = str(value)[:40]
    return CellError(code, hint_zh=zh or f"“{shown}”", hint_en=en or repr(shown), value=value)


def _blank_or_raise(value: Cell, required: bool) -> bool:
    if _is_blank(value):
        if required:
            raise CellError("required_missing")
        return True
    return False


def _clean(value: Cell) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().strip(INVISIBLE).strip()


def parse_text(value: Cell, *, required: bool = False, max_length: int | None = None) -> str:
    """Text as stored: NFKC, trimmed; a number Excel made of a phone or code loses its ".0".

    One leading apostrophe is dropped: users type it to force text, and `escape_formula` adds
    it on export, so a round trip gives the original back.
    """
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
        raise _invalid("value_invalid", value, f"超过{max_length}个字", f"longer than {max_length}")
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
    days = math.floor(serial)
    if days < 1 or days > _SERIAL_MAX or days == 60:  # 60 is Excel's phantom 1900-02-29
        return None
    return dt.date(1899, 12, 31 if days < 60 else 30) + dt.timedelta(days=days)


def _make_date(y: str | int, m: str | int, d: str | int, value: Cell) -> dt.date:
    try:
        date = dt.date(int(y), int(m), int(d))
    except ValueError:
        raise _invalid("value_invalid", value, f"日期不存在“{value}”", f"no such date {value!r}") from None
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
        if not math.isfinite(value):
            raise _invalid("value_invalid", value)
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))  # 20120506 typed as a number
        else:
            date = _serial_to_date(value)
            if date is None:
                raise _invalid("value_invalid", value)
            return date
    if not isinstance(value, str):
        raise _invalid("value_invalid", value)
    text = _clean(value)
    m = _DATE_RE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not m:
        raise _invalid("value_invalid", value, f"无法识别的日期“{text[:40]}”", f"not a date {text[:40]!r}")
    return _make_date(*m.groups(), value)


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
            raise _invalid("value_invalid", value, "请写成“2019年10月”或设置为文本", "write it as 2019-10")
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
        raise _invalid("value_invalid", value, f"无法识别的年月“{text[:40]}”", f"not a year-month {text[:40]!r}")
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


_TRUE = {"是", "√", "✓", "✔", "Y", "YES", "TRUE", "1", "1.0"}
_FALSE = {"否", "×", "✗", "✘", "N", "NO", "FALSE", "0", "0.0"}


def parse_bool(value: Cell) -> bool:
    """是/否, √/×, Y/N, 1/0, True/False; blank means no."""
    if _is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else _clean(value).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _invalid("value_invalid", value)


_SEX = {"男": "M", "男性": "M", "M": "M", "MALE": "M", "1": "M",
        "女": "F", "女性": "F", "F": "F", "FEMALE": "F", "2": "F"}


def parse_sex(value: Cell, *, required: bool = False) -> str | None:
    """"M" or "F" from 男/女, M/F or the national code 1/2."""
    if _blank_or_raise(value, required):
        return None
    if isinstance(value, bool):
        raise _invalid("value_invalid", value)
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else _clean(value).upper()
    if text not in _SEX:
        raise _invalid("value_invalid", value)
    return _SEX[text]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, streamed (uploads are kept by digest to spot re-uploads)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            digest.update(chunk)
    return digest.hexdigest()
