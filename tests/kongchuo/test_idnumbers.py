from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kongchuo.access.idnumbers import (
    IdNumberError,
    birth_date_of,
    check_digit,
    make_id,
    mask_id,
    mask_phone,
    normalize_id,
    sex_of,
    validate_id,
)

births = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2024, 12, 31))
areas = st.sampled_from(["341522", "340100", "110101", "440300"])
seqs = st.integers(min_value=0, max_value=999)


@given(areas, births, seqs)
def test_made_ids_validate_and_round_trip(area, birth, seq):
    number = make_id(area, birth, seq)
    assert validate_id(number) == number
    assert birth_date_of(number) == birth
    assert sex_of(number) == ("M" if seq % 2 else "F")
    masked = mask_id(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]
    assert len(masked) == 18


@given(areas, births, seqs, st.integers(min_value=0, max_value=16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(area, birth, seq, pos, delta):
    number = make_id(area, birth, seq)
    digit = (int(number[pos]) + delta) % 10
    mutated = number[:pos] + str(digit) + number[pos + 1:]
    with pytest.raises(IdNumberError) as info:
        validate_id(mutated)
    assert info.value.code in {"id_checksum", "id_birthdate"}


@given(areas, births, seqs)
def test_normalisation_of_messy_input(area, birth, seq):
    number = make_id(area, birth, seq)
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    messy = "'" + full_width[:6] + "\u3000" + full_width[6:].lower() + " \t"
    assert validate_id(messy) == number


@pytest.mark.parametrize("raw,code", [
    ("", "required_missing"), (None, "required_missing"), ("   ", "required_missing"),
    (341522201205061233.0, "id_numeric"), (3.41522201205061e17, "id_numeric"),
    ("3.41522E+17", "id_numeric"), ("34152220120506123", "id_format"),
    ("34152220120506123A", "id_format"), ("341522201302301230", "id_birthdate"),
    ("341522209901011234", "id_birthdate"),
])
def test_error_codes(raw, code):
    with pytest.raises(IdNumberError) as info:
        validate_id(raw)
    assert info.value.code == code


def test_checksum_error_code():
    good = make_id("341522", dt.date(2012, 5, 6), 123)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(IdNumberError) as info:
        validate_id(wrong)
    assert info.value.code == "id_checksum"


def test_known_check_digit_x():
    # 11010519491231002X is the GB 11643 worked example.
    assert check_digit("11010519491231002") == "X"
    assert validate_id("11010519491231002x") == "11010519491231002X"
    assert normalize_id(" 1101 0519 4912 3100 2x") == "11010519491231002X"


def test_mask_phone():
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("") == ""
