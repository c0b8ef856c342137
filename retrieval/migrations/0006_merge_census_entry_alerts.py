"""One child, one alert per sweep (issue 18): the census sweep raised a `census` and an
`entry` alert for the same 6-year-old found in no school. Where both are live for the same
(period, subject), the one being worked (confirmed or dismissed) — else the census one — carries
the other's reason in `detail["also"]`; the other, if still open and never acted on, is closed as
merged (status resolved, `detail["merged_into"]`). Two alerts that were both acted on are left as
they are: each has its own decision on file.
"""

from django.db import migrations
from django.utils import timezone

LIVE = ("open", "confirmed", "dismissed")
RULES = ("census", "entry")  # the census sweep's rules, in the order the sweep runs them


def merge(apps, schema_editor):
    Alert = apps.get_model("retrieval", "Alert")
    AlertDecision = apps.get_model("retrieval", "AlertDecision")
    rows = (Alert.objects.filter(rule__in=RULES, status__in=LIVE)
            .order_by("period", "subject", "pk").values("pk", "rule", "period", "subject", "status"))
    by_child: dict = {}
    for r in rows.iterator(chunk_size=5000):
        by_child.setdefault((r["period"], r["subject"]), []).append(r)
    pairs = [v for v in by_child.values() if len({r["rule"] for r in v}) > 1]
    if not pairs:
        return
    acted = set(AlertDecision.objects.filter(
        alert_id__in=[r["pk"] for v in pairs for r in v]).values_list("alert_id", flat=True))
    now = timezone.now()
    for group in pairs:
        worked = [r for r in group if r["status"] != "open" or r["pk"] in acted]
        if len(worked) > 1:
            continue
        keep = worked[0] if worked else min(group, key=lambda r: RULES.index(r["rule"]))
        carrier = Alert.objects.get(pk=keep["pk"])
        also = list((carrier.detail or {}).get("also", []))
        for r in group:
            if r["pk"] == keep["pk"]:
                continue
            other = Alert.objects.get(pk=r["pk"])
            also = [a for a in also if a.get("rule") != other.rule]
            also.append({"rule": other.rule, **{k: v for k, v in (other.detail or {}).items()
                                                if k not in ("also", "merged_into")}})
            other.status = "resolved"
            other.closed_at = now
            other.detail = {**(other.detail or {}), "merged_into": carrier.pk}
            other.save(update_fields=["status", "closed_at", "detail"])
        carrier.detail = {**(carrier.detail or {}), "also": also}
        carrier.save(update_fields=["detail"])


class Migration(migrations.Migration):
    dependencies = [("retrieval", "0005_alert_fewer_indexes")]

    operations = [migrations.RunPython(merge, migrations.RunPython.noop)]
