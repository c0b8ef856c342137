"""Issue 7, item 9 over the matrix: for every URL taking an object id, an outsider (township A,
school A, township A's government, a user without a role) gets exactly the same answer for school
B's object as for an id that does not exist — a refusal never tells that the record is there."""

from __future__ import annotations

import pytest

from tests.imports.conftest import files  # noqa: F401 - fixture used by jb
from tests.imports.test_imports_matrix import ENTRIES as IMPORT_ENTRIES
from tests.imports.test_imports_matrix import jb  # noqa: F401 - fixture
from tests.retrieval.test_cases_matrix import ENTRIES as RETRIEVAL_ENTRIES
from tests.retrieval.test_cases_matrix import bside  # noqa: F401 - fixture
from tests.security.scoping_matrix import assert_no_existence_oracle
from tests.security.test_matrix_ledgers import ENTRIES as LEDGER_ENTRIES
from tests.security.test_matrix_ledgers import lb  # noqa: F401 - fixture
from tests.security.test_matrix_site import ENTRIES as SITE_ENTRIES
from tests.security.test_matrix_site import site  # noqa: F401 - fixture
from tests.security.test_scoping_matrix import ENTRIES as STUDENT_ENTRIES

pytestmark = pytest.mark.django_db


def test_students_pages(county):
    assert assert_no_existence_oracle(STUDENT_ENTRIES, county) >= 10


# Each module's own fixture builds its B-side objects (imported above, requested by name).
@pytest.mark.parametrize("entries,fixture,at_least", [
    (LEDGER_ENTRIES, "lb", 100), (RETRIEVAL_ENTRIES, "bside", 50), (IMPORT_ENTRIES, "jb", 10),
    (SITE_ENTRIES, "site", 4)], ids=["ledgers", "retrieval", "imports", "sweeps"])
def test_object_pages(request, entries, fixture, at_least):
    assert assert_no_existence_oracle(entries, request.getfixturevalue(fixture)) >= at_least
