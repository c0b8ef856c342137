"""Excel imports at county scale: the machinery every app's import kinds share.

- `pipeline`: import_run, one run through read → check → plan → apply with the Job row,
  progress and audit around it
- `base`: Field, ImportKind, ImportContext, ImportPlan, the registry (register_kind, kinds_for)
- `filesafety`, `tabular`, `reader`: the read stage (sniffing and the row guard, sheets and
  headers, the memory-capped reader process that alone parses a workbook)
- `checks`, `parsers`, `cells`: the check stage (row validation, one form record through the
  same rules, cell parsers, codes/messages)
- `merge`: per-column merge rules, for the ORM path and the SQL merge alike
- `bulk`: chunked lookups, batched writes, bulk history, PostgreSQL COPY
- `runner`: the Job side (create, run, claim, queue); `tasks`: the Celery task for big files
- `views`, `urls`, `forms`, `selectors`, `workbooks`: the browser flow, templates and error
  workbooks

Apps register their kinds from AppConfig.ready(). This package knows no app.
"""
