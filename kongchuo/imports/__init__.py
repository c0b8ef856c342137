"""Excel imports at county scale: the machinery every app's import kinds share.

- `base`: Field, ImportKind, ImportContext, ImportPlan, the registry (register_kind, kinds_for)
- `fields`: cell parsers built on kongchuo.imports.tabular, with per-import memoisation
- `runner`: import_run (sniff → read → header → validate → plan → write → Job + audit),
  import_job_create / import_job_run for the browser and the task
- `bulk`: chunked lookups, batched writes, bulk history, PostgreSQL COPY
- `workbooks`: the template and the error workbook
- `tasks`: the Celery task for big files

Apps register their kinds from AppConfig.ready(): students (schools, roster, census, support),
ledgers (returns, status_changes), retrieval (feedback). This package knows no app.
"""

from kongchuo.imports.base import (
    Field,
    ImportContext,
    ImportKind,
    ImportPlan,
    ImportRefused,
    Issue,
    RowStream,
    all_kinds,
    get_kind,
    kinds_for,
    register_kind,
)

__all__ = [
    "Field", "ImportContext", "ImportKind", "ImportPlan", "ImportRefused", "Issue", "RowStream",
    "all_kinds", "get_kind", "kinds_for", "register_kind",
]
