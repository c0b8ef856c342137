"""Scoped querysets of alerts and cases; see kongchuo.access.scoping."""

from __future__ import annotations

from django.db.models import Q

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, ScopedQuerySet


class RoutedQuerySet(ScopedQuerySet):
    """Rows routed to a school, or (when no school is known) to a township or the county.

    A township sees rows of its township-overseen schools and rows routed to the township
    itself with no school (e.g. a census child found in no school). The paths are settable so
    child rows (a decision through its alert, an attempt through its case) scope the same way.
    """

    school_path = "school"
    township_path = "township"

    def in_township(self, township_id: int):
        sp, tp = self.school_path, self.township_path
        return self.filter(
            Q(**{f"{sp}__township_id": township_id, f"{sp}__oversight": OVERSIGHT_TOWNSHIP})
            | Q(**{f"{sp}__isnull": True, f"{tp}_id": township_id})
        )


class AlertQuerySet(RoutedQuerySet):
    def county_only(self):
        return Q(rule__in=self.model.COUNTY_ONLY_RULES)

    def open(self):
        return self.filter(status="open")

    def suspected(self):
        """Suspected dropouts (疑似辍学), not work reminders."""
        return self.filter(rule__in=self.model.SUSPECTED_RULES)

    def reminders(self):
        """Work reminders (工作提醒): 送教不足, 资助未覆盖, expiries, overdue cases."""
        return self.filter(rule__in=self.model.REMINDER_RULES)


class FeedbackItemQuerySet(RoutedQuerySet):
    pass


class FeedbackBatchQuerySet(ScopedQuerySet):
    """Batches are county documents; lower levels reach their items, not the batch."""

    def visible_to(self, user):
        from kongchuo.access.scoping import Role, scope_of

        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.role == Role.COUNTY:
            return self.all()
        items = FeedbackItemQuerySet(model=self.model._meta.get_field("items").related_model)
        return self.filter(pk__in=items.visible_to(user).values("batch_id"))
