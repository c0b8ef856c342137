"""The web shell: the pages that belong to no app (home, audit log, 校历调整) and what every app's
pages share (menu, panels, middleware, forms, xlsx output). Imports `calendar`, `access` and
`plugins` (docs/architecture.md)."""
