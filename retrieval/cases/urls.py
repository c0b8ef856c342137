"""URL patterns of the 劝返 case pages, included by retrieval/urls.py under the "retrieval" namespace."""

from django.urls import path

from retrieval.cases import views

urlpatterns = [
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
]
