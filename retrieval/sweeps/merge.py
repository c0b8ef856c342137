"""One child, one alert per sweep: a rule's candidates that already have a live alert of a
sibling rule of the same sweep add their reason to it (see `merge_into_siblings`)."""

from __future__ import annotations

import json

from retrieval.models import Alert
from retrieval.sweeps.base import CANDIDATES, Context, Finding, Partition


def merge_into_siblings(cur, finding: Finding, ctx: Context, partition: Partition,
                        siblings: tuple[str, ...]) -> int:
    """Add this rule's reason to the live sibling alert of each candidate that has one (and no
    live alert of this rule), take those candidates out of the table, and drop this rule's
    reason from sibling alerts of the partition where it no longer applies. Returns how many
    candidates were merged. Set-based: one SELECT joined to the candidate table, one batched
    UPDATE of the changed alerts, one DELETE from the candidate table."""
    table = Alert._meta.db_table
    live = (Alert.Status.OPEN, Alert.Status.CONFIRMED, Alert.Status.DISMISSED)
    marks = ", ".join(["%s"] * len(siblings))
    states = ", ".join(["%s"] * len(live))
    carrier = (f"a.subject = c.x_subject AND a.period = c.x_period AND a.rule IN ({marks}) "
               f"AND a.status IN ({states})")
    own = (f"NOT EXISTS (SELECT 1 FROM {table} o WHERE o.subject = c.x_subject AND "
           f"o.period = c.x_period AND o.rule = %s AND o.status IN ({states}))")
    params = [*siblings, *live, finding.rule, *live]
    cur.execute(f"SELECT a.id, a.detail, c.x_detail, c.x_period, c.x_subject FROM {table} a "
                f"JOIN {CANDIDATES} c ON {carrier} WHERE {own} ORDER BY a.id", params)
    changed: dict[int, Alert] = {}
    keys: set[tuple[str, str]] = set()
    for pk, detail, reason, period, subject in cur.fetchall():
        if (period, subject) in keys:
            continue  # one carrier per child: the oldest live sibling alert
        keys.add((period, subject))
        detail, reason = _json(detail), _json(reason)
        also = [r for r in detail.get("also", []) if r.get("rule") != finding.rule]
        also.append({"rule": finding.rule, **reason})
        if also != detail.get("also"):
            changed[pk] = Alert(pk=pk, detail={**detail, "also": also})
    if keys:
        cur.execute(f"DELETE FROM {CANDIDATES} WHERE EXISTS (SELECT 1 FROM {table} a "
                    f"WHERE {carrier.replace('c.x_', CANDIDATES + '.x_')}) AND "
                    f"{own.replace('c.x_', CANDIDATES + '.x_')}", params)
    # A reason that no longer applies leaves its carrier (the carrier's own rule decides
    # whether the alert itself stays open).
    stale = (Alert.objects.filter(rule__in=siblings, status__in=live, detail__has_key="also")
             .filter(finding.period_filter(ctx)).filter(partition.routed())
             .exclude(pk__in=list(changed)).only("pk", "detail", "period", "subject"))
    for alert in stale.iterator(chunk_size=2000):
        also = alert.detail.get("also", [])
        if (alert.period, alert.subject) in keys or not any(r.get("rule") == finding.rule for r in also):
            continue
        rest = [r for r in also if r.get("rule") != finding.rule]
        detail = {k: v for k, v in alert.detail.items() if k != "also"} | ({"also": rest} if rest else {})
        changed[alert.pk] = Alert(pk=alert.pk, detail=detail)
    Alert.objects.bulk_update(list(changed.values()), ["detail"], batch_size=1000)
    return len(keys)


def _json(value) -> dict:
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}
