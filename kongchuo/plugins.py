"""The one registry through which apps plug into the portal.

kongchuo/ knows no app. Each app hands its contributions over in its AppConfig.ready() —
`plugins.register(slot, item)` — and the machinery asks for them by slot (`plugins.items(slot)`):
the menu renders its items, the home page runs its cards, the student page its panels,
`seed_demo` its seeders, the audit page words codes with the registered labels, the orphan-file
purge walks the registered folders, the import engine lists the kinds. A lower app never imports
a higher one: when a page of a lower app shows something of a higher one, it asks this registry.

Slots and what each item is:

=================  ===========================================================================
``menu_item``      `MenuItem` (group, label, URL name, roles, icon, order)
``home_card``      `func(request, scope, ctx) -> None`: adds to ctx["cards"] / ctx["blocks"]
``student_panel``  `func(request, student) -> dict | None`: a panel (`title`, `template`, context)
``seeder``         `func(rng, stdout) -> None`: demo rows, run after the core demo county exists
``year_end_seeder`` `func(rng, stdout, year) -> None`: run when `seed_demo` closes school year
                   `year` (the core county of that year exists; the new year's intake follows)
``audit_values``   `AuditValues(key, labels)`: words the values of audit detail `key`
``audit_field``    `AuditField(key, label)`: names an audit detail key the app writes
``file_folder``    `FileFolder(model, folder)`: a folder under MEDIA_ROOT whose every file
                   belongs to a row of `model` (its `file` field)
``import_kind``    an import kind of the import engine
=================  ===========================================================================

Items come back sorted by `order`, then in the order they were registered. Registering an
item twice (equal items) keeps one: ready() may run again in tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, get_args, overload

if TYPE_CHECKING:
    from django.db.models import Model
    from django.utils.functional import Promise

Slot = Literal["menu_item", "home_card", "student_panel", "seeder", "year_end_seeder",
               "audit_values", "audit_field", "file_folder", "import_kind"]
SLOTS: frozenset[str] = frozenset(get_args(Slot))


@dataclass(frozen=True)
class MenuItem:
    group: str  # the group's Chinese name, a stable key (kongchuo.portal.menu.GROUP_ORDER)
    label: str | Promise
    url_name: str
    roles: tuple[str, ...]
    icon: str = "bi-circle"
    order: int = 100


class AuditValues(NamedTuple):
    """Labels for the values of detail `key`: a mapping code → label (merged with the mappings
    other apps registered for the key; unknown values pass unchanged), or a function of the value
    (replaces what was registered before it)."""

    key: str
    labels: Mapping[Any, Any] | Callable[[object], str]


class AuditField(NamedTuple):
    key: str
    label: str | Promise


class FileFolder(NamedTuple):
    model: type[Model]
    folder: str


_REGISTRY: dict[str, list[tuple[int, Any]]] = {slot: [] for slot in SLOTS}


def _entries(slot: str) -> list[tuple[int, Any]]:
    try:
        return _REGISTRY[slot]
    except KeyError:
        raise ValueError(f"unknown plug-in slot {slot!r}; the slots are {sorted(SLOTS)}") from None


def register(slot: Slot, *items: Any, order: int = 100) -> None:
    """Add `items` to `slot`; an item already there stays where it is."""
    entries = _entries(slot)
    for item in items:
        if all(known != item for _order, known in entries):
            entries.append((order, item))


def unregister(slot: Slot, item: Any) -> None:
    """Drop `item` (one app superseding another's contribution); absent: nothing to do."""
    entries = _entries(slot)
    entries[:] = [(order, known) for order, known in entries if known != item]


@overload
def items(slot: Literal["menu_item"]) -> list[MenuItem]: ...
@overload
def items(slot: Literal["audit_values"]) -> list[AuditValues]: ...
@overload
def items(slot: Literal["audit_field"]) -> list[AuditField]: ...
@overload
def items(slot: Literal["file_folder"]) -> list[FileFolder]: ...
@overload
def items(slot: Literal["home_card", "student_panel", "seeder", "year_end_seeder"]) -> list[Callable[..., Any]]: ...
@overload
def items(slot: Slot) -> list[Any]: ...


def items(slot: Slot) -> list[Any]:
    """What the apps registered in `slot`, by `order` (stable: equal orders keep their turn)."""
    return [item for _order, item in sorted(_entries(slot), key=lambda entry: entry[0])]
