from django.urls import path

from retrieval import views, views_worklists

app_name = "retrieval"
urlpatterns = [
    # To-do inbox and approvals
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<slug:key>/", views.inbox_list, name="inbox_list"),
    path("approvals/", views.approvals, name="approvals"),
    # Alerts (疑似辍学预警)
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/confirm/", views.alert_confirm, name="alert_confirm"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss, name="alert_dismiss"),
    path("decisions/<int:pk>/review/", views.decision_review, name="decision_review"),
    path("quality/", views.rule_quality, name="rule_quality"),
    path("support-unenrolled/", views_worklists.support_unenrolled, name="support_unenrolled"),
    # 劝返 cases
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/attempts/", views.case_attempt, name="case_attempt"),
    path("cases/<int:pk>/place/", views.case_place, name="case_place"),
    path("cases/<int:pk>/escalate/", views.case_escalate, name="case_escalate"),
    path("cases/<int:pk>/closure/", views.case_closure, name="case_closure"),
    path("cases/<int:pk>/evidence/", views.case_evidence, name="case_evidence"),
    path("cases/<int:pk>/notice/", views.case_notice, name="case_notice"),
    path("escalations/<int:pk>/answer/", views.escalation_answer, name="escalation_answer"),
    path("closures/<int:pk>/decide/", views.closure_decide, name="closure_decide"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence"),
    # Feedback lists (反馈名单核查)
    path("feedback/", views.feedback_list, name="feedback"),
    path("feedback/<int:pk>/", views.feedback_batch, name="feedback_batch"),
    path("feedback/<int:pk>/export/", views.feedback_export, name="feedback_export"),
    path("feedback/items/<int:pk>/", views.feedback_item, name="feedback_item"),
    # 督查
    path("supervision/", views.supervision_list, name="supervision"),
    path("supervision/<int:pk>/", views.visit_detail, name="visit"),
    path("supervision/<int:pk>/sample/", views.visit_sample, name="visit_sample"),
    path("supervision/<int:pk>/findings/", views.visit_finding, name="visit_finding"),
    path("supervision/<int:pk>/complete/", views.visit_complete, name="visit_complete"),
    path("supervision/samples/<int:pk>/check/", views.sample_check, name="sample_check"),
    path("supervision/findings/<int:pk>/order/", views.finding_order, name="finding_order"),
    path("rectifications/", views.rectification_list, name="rectifications"),
    path("rectifications/<int:pk>/", views.rectification_detail, name="rectification"),
    path("rectifications/<int:pk>/close/", views.rectification_close, name="rectification_close"),
]

# Sweeps (排查任务, run now, progress): retrieval/sweeps/urls.py
from retrieval.sweeps.urls import urlpatterns as sweep_urlpatterns  # noqa: E402

urlpatterns += sweep_urlpatterns
