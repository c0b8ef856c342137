"""Issue 15 finding 3: ID numbers are masked by shape, not by equality.

The quirks the importer accepts (a leading apostrophe, spaces, full-width digits, a lower-case
x) are fed through the feedback round trip — upload, item page, export — in the ID column, in a
guardian's ID column and inside a 备注 note, and through every ledger export's free-text fields
and the audit page. A leak is any ID that reappears once the page's text is normalised the way
the importer normalises an ID (NFKC, no spaces, upper case).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata

import openpyxl
import pytest
from django.core.management import call_command
from django.db import models
from django.urls import reverse

from kongchuo.access.idnumbers import make_id, mask_id, mask_ids_in_text, mask_ids_in_value
from kongchuo.imports.pipeline import import_run
from ledgers.registry import LEDGER_NAMES
from retrieval.models import FeedbackItem
from tests.imports.conftest import write_xlsx

pytestmark = pytest.mark.django_db

GUARDIAN_ID = make_id("341522", dt.date(1986, 4, 9), 517)  # a guardian's ID (not a child's)
NOTE_ID = make_id("341521", dt.date(2013, 11, 2), 88)  # a sibling named in a note


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def quirks(id_number: str) -> list[str]:
    """The shapes people type an ID in, all of which the importer reads as `id_number`."""
    lower = id_number.lower()
    return [
        "'" + lower,
        f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}",
        _fullwidth(lower),
        f"{id_number[:6]}\u3000{id_number[6:]}",
        id_number,
    ]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def leaked(text: str, ids) -> list[str]:
    flat = _squash(text)
    return [i for i in ids if i in flat]


def test_mask_ids_in_text_catches_every_quirk():
    for raw in quirks(NOTE_ID):
        masked = mask_ids_in_text(f"备注：{raw}，已外出")
        assert not leaked(masked, [NOTE_ID]), (raw, masked)
        assert mask_id(NOTE_ID) in masked
    assert mask_ids_in_text("G" + NOTE_ID) == "G" + mask_id(NOTE_ID)  # a 全国学籍号
    assert mask_ids_in_value(int(NOTE_ID[:17] + "0")) == mask_id(NOTE_ID[:17] + "0")  # stored as a number
    # Not ID-shaped: left alone.
    for text in ("电话13800001111", "2024-09-01", "1234567890123456789 (19 digits)", "共 17 人"):
        assert mask_ids_in_text(text) == text


def _cells_text(content: bytes) -> str:
    wb = openpyxl.load_workbook(io.BytesIO(content))
    return "\n".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row
                     if v is not None)


@pytest.fixture
def feedback(county, tmp_path):
    """One issued list: the school's child with an apostrophe-ID, a spaced guardian ID and a
    note with a full-width sibling ID; an unmatched child typed with spaces."""
    child = county.s_a.id_number
    outsider = make_id("341522", dt.date(2012, 2, 3), 611)
    header = ["序号", "姓名", "身份证件号", "学校名称", "监护人身份证号", "备注"]
    path = write_xlsx(tmp_path / "fb.xlsx", [
        [1, county.s_a.name, "'" + child.lower(), county.a_primary.name, quirks(GUARDIAN_ID)[1],
         f"其兄身份证{_fullwidth(NOTE_ID.lower())}，已外出"],
        [2, "郝某", quirks(outsider)[1], "", quirks(GUARDIAN_ID)[3], f"户籍{NOTE_ID}"],
    ], header=header, title="疑似辍学学生名单", info="下发单位：安徽省教育厅")
    result = import_run(kind="feedback", path=path, user=county.county_user)
    assert result.created == 2
    item = FeedbackItem.objects.get(id_number=child)
    assert item.school == county.a_primary  # the apostrophe-ID matched the child
    return item, [child, outsider, GUARDIAN_ID, NOTE_ID]


@pytest.mark.parametrize("who", ["school_a", "township_a", "county_user"])
def test_feedback_item_page_masks_every_id_shape(county, client_as, feedback, who):
    item, ids = feedback
    response = client_as(getattr(county, who)).get(reverse("retrieval:feedback_item", args=[item.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert not leaked(body, ids), who
    assert mask_id(GUARDIAN_ID) in body and mask_id(NOTE_ID) in body
    # The batch's list shows the issuer's problem text.
    type(item).objects.filter(pk=item.pk).update(problem=f"疑似辍学{quirks(NOTE_ID)[2]}"[:80])
    listing = client_as(getattr(county, who)).get(reverse("retrieval:feedback_batch", args=[item.batch_id]))
    assert listing.status_code == 200 and not leaked(listing.content.decode(), ids), who


@pytest.mark.parametrize("who", ["school_a", "township_a", "county_user"])
def test_feedback_export_masks_every_id_shape(county, client_as, feedback, who):
    from retrieval.feedback import services as feedback_services
    from tests.retrieval.casefactories import pdf

    item, ids = feedback
    feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="out_of_county",
                             explanation=f"已在外县就读，证件号 {quirks(item.id_number)[1]}",
                             verified_on=dt.date.today(), files=[pdf(f"{item.id_number.lower()}学籍证明.pdf")])
    response = client_as(getattr(county, who)).post(reverse("retrieval:feedback_export",
                                                            args=[item.batch_id]))
    assert response.status_code == 200
    text = _cells_text(response.content)
    assert not leaked(text, ids), who
    assert mask_id(GUARDIAN_ID) in text
    if who == "county_user":  # the reveal right: county users may ask for full IDs
        full = client_as(county.county_user).post(
            reverse("retrieval:feedback_export", args=[item.batch_id]), {"ids": "full"})
        assert GUARDIAN_ID in _squash(_cells_text(full.content))


def _fill_free_text(obj, text: str) -> None:
    """Every free-text field of a ledger row (no choices, room for the text) holds `text`."""
    changed = []
    for f in obj._meta.concrete_fields:
        if (isinstance(f, (models.CharField, models.TextField)) and not f.choices
                and f.name not in ("id_number", "student_number", "term")
                and (f.max_length is None or f.max_length >= len(text))):
            setattr(obj, f.name, text)
            changed.append(f.name)
    if changed:
        obj.save(update_fields=changed)


@pytest.mark.parametrize("name", LEDGER_NAMES)
def test_every_ledger_export_masks_ids_typed_into_free_text(county, tmp_path, name):
    from tests.ledgers.conftest import make_entries

    entries = make_entries(county.a_primary, county.s_a)
    for n, obj in enumerate(entries.values()):
        _fill_free_text(obj, quirks(NOTE_ID)[n % 4][:30])
    out = tmp_path / f"{name}.xlsx"
    call_command("export_ledger", name, "--scope", "county", "--out", str(out))
    text = _cells_text(out.read_bytes())
    assert not leaked(text, [NOTE_ID, county.s_a.id_number]), name


def test_audit_page_masks_ids_in_reasons(county, client_as):
    from kongchuo.access.audit import audit_record

    audit_record(action="export_full", user=county.county_user, object_type="ledger", object_id="aid",
                 detail={"reason": f"省厅核查 {quirks(NOTE_ID)[1]}", "ledger": "aid"})
    response = client_as(county.county_user).get(reverse("audit_list"))
    assert response.status_code == 200
    assert not leaked(response.content.decode(), [NOTE_ID])


def test_every_dashboard_list_and_export_masks_ids_typed_into_free_text(county, client_as, feedback):
    """The drill-down lists show and export free text (a deferral's reason, a census address,
    the issuer's problem text, an intake note): every one, page and xlsx, masked by shape."""
    from dashboards.metrics import METRICS
    from tests.ledgers.conftest import make_entries

    item, ids = feedback
    type(item).objects.filter(pk=item.pk).update(problem=f"疑似辍学{quirks(NOTE_ID)[1]}"[:80])
    entries = make_entries(county.a_primary, county.s_a)
    _fill_free_text(entries["deferrals"], quirks(NOTE_ID)[0][:30])
    client = client_as(county.county_user)
    for metric in sorted(METRICS):
        url = reverse("dashboards:list", args=[metric])
        page = client.get(url)
        assert page.status_code == 200, metric
        assert not leaked(page.content.decode(), ids), metric
        export = client.post(url)  # the page's 导出 Excel form
        assert export.status_code == 200, metric
        assert export.get("Content-Type", "").startswith("application/vnd"), metric
        content = b"".join(export.streaming_content) if export.streaming else export.content
        assert not leaked(_cells_text(content), ids), metric
