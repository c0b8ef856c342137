"""The one registry of the scoping matrix: which modules hold its entries, what else covers a
pattern, and the (reasoned) exemptions. `uncovered()` walks `get_resolver()` and names every URL
pattern that nothing here accounts for — test_matrix_complete.py fails on any.
"""

from __future__ import annotations

import importlib

from django.urls import URLPattern, URLResolver, get_resolver

# Modules whose ENTRIES list holds matrix entries (each runs its own entries).
MATRIX_MODULES = (
    "tests.security.test_scoping_matrix",  # students app, audit page
    "tests.security.test_matrix_ledgers",  # all ledgers
    "tests.security.test_matrix_site",  # accounts, OTP, health, language, sweeps
    "tests.retrieval.test_cases_matrix",  # 劝返 workflow
    "tests.dashboards.test_dashboards_matrix",  # home pages, drill-downs, exports, cohorts
    "tests.imports.test_imports_matrix",  # imports
    "tests.security.test_matrix_records",  # 学籍维护: new, edit, ID correction, transfers, worklists
)

# Patterns covered by a dedicated matrix test rather than an ENTRIES line (with where).
COVERED_ELSEWHERE = {
    "retrieval:sample_check": "tests/retrieval/test_cases_matrix.py::test_sample_check_matrix "
                              "(needs a sample drawn in the test)",
}

# The admin site is one family: tests/security/test_matrix_site.py walks every admin pattern
# (admin.site.urls) and requests each as every kind of portal user.
ADMIN_NAMESPACE = "admin"
ADMIN_PREFIX = "admin/"

# Patterns needing no entry, each with its reason. Static files are served by WhiteNoise's
# middleware before URL resolution (no URL pattern exists), and media files are never served
# by URL (attachments and evidence go through scoped views), so nothing is exempt today.
EXEMPT: dict[str, str] = {}


def walk(resolver=None, namespace: str | None = None, prefix: str = ""):
    """(view name or None, route) for every URL pattern, namespaces joined with ':'."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from walk(p, ns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            name = p.name and (f"{namespace}:{p.name}" if namespace else p.name)
            yield name, prefix + str(p.pattern)


def matrix_entries() -> list:
    entries = []
    for module in MATRIX_MODULES:
        entries.extend(importlib.import_module(module).ENTRIES)
    return entries


def covered_names() -> set[str]:
    return {e.url_name for e in matrix_entries()} | set(COVERED_ELSEWHERE) | set(EXEMPT)


def is_admin(name: str | None, route: str) -> bool:
    return (name or "").split(":", 1)[0] == ADMIN_NAMESPACE or route.startswith(ADMIN_PREFIX)


def uncovered(resolver=None) -> list[str]:
    """Every pattern with no matrix entry, no other cover and no exemption: "route (name)"."""
    covered = covered_names()
    out = []
    for name, route in walk(resolver):
        if is_admin(name, route):
            continue
        if name is None or name not in covered:
            out.append(f"{route} ({name or 'no name'})")
    return out
