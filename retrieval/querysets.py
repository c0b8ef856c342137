"""Scoped querysets of the app's models; see kongchuo.access.scoping.

Every queryset here fills the hooks of `ScopedQuerySet` (`in_school`, `in_township`,
`for_township_gov`, `county_only`) and never writes its own `visible_to`, so one method decides
what a user sees. This module imports no model of the app (the models import it): a queryset
reaches a related model through `self.model`'s fields.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, ScopedQuerySet


def _model_at(model, path: str):
    """The model reached from `model` along a path of relation names ("case__escalations")."""
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model
    return model


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


def _county_only_alerts(model, path: str) -> Q:
    """Rows hanging off a county-only alert (a grade-9 screening alert: a suspected 劝退 by the
    school it is routed to) are county-only too."""
    return Q(**{f"{path}__rule__in": _model_at(model, path).COUNTY_ONLY_RULES})


class DecisionQuerySet(RoutedQuerySet):
    school_path = "alert__school"
    township_path = "alert__township"

    def county_only(self):
        return _county_only_alerts(self.model, "alert")


class CaseQuerySet(RoutedQuerySet):
    """劝返 cases. The township government sees ONLY the cases escalated to it — this method
    is the one place that rule lives (kongchuo.access.scoping leaves `for_township_gov` empty)."""

    def for_township_gov(self, township_id: int):
        escalated = _model_at(self.model, "escalations").objects.filter(
            case=OuterRef("pk"), township_id=township_id)
        return self.filter(Exists(escalated))

    def active(self):
        return self.exclude(status=self.model.Status.CLOSED)


class EvidenceQuerySet(RoutedQuerySet):
    """Evidence files carry the route of what they prove; the government reaches the files
    of the cases escalated to it and nothing else."""

    def for_township_gov(self, township_id: int):
        escalated = _model_at(self.model, "case__escalations").objects.filter(
            case=OuterRef("case_id"), township_id=township_id)
        return self.filter(case__isnull=False).filter(Exists(escalated))

    def county_only(self):
        # The county's proof on a county-only alert (e.g. its dismissal of a grade-9 alert).
        return _county_only_alerts(self.model, "decision__alert")


class FeedbackItemQuerySet(RoutedQuerySet):
    pass


class FeedbackBatchQuerySet(ScopedQuerySet):
    """Batches are county documents; lower levels reach the batches of the items they see."""

    def _items(self):
        items = _model_at(self.model, "items")
        return items.objects.all()

    def in_school(self, school_id: int):
        return self.filter(pk__in=self._items().in_school(school_id).values("batch_id"))

    def in_township(self, township_id: int):
        return self.filter(pk__in=self._items().in_township(township_id).values("batch_id"))

    def for_township_gov(self, township_id: int):
        return self.filter(pk__in=self._items().for_township_gov(township_id).values("batch_id"))


class CountyOnlyQuerySet(ScopedQuerySet):
    """Supervision plans are the bureau's own documents: no level below the county sees one."""

    def in_school(self, school_id: int):
        return self.none()

    def in_township(self, township_id: int):
        return self.none()


class RectificationQuerySet(RoutedQuerySet):
    def open(self):
        return self.exclude(status=self.model.Status.CLOSED)
