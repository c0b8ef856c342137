"""URL patterns of the 督查 and 整改通知 pages, included by retrieval/urls.py under the
"retrieval" namespace."""

from django.urls import path

from retrieval.supervision import views

urlpatterns = [
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
