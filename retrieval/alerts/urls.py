"""URL patterns of the alert pages, included by retrieval/urls.py under the "retrieval" namespace."""

from django.urls import path

from retrieval.alerts import views

urlpatterns = [
    path("alerts/", views.alert_list, name="alerts"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("alerts/<int:pk>/confirm/", views.alert_confirm, name="alert_confirm"),
    path("alerts/<int:pk>/dismiss/", views.alert_dismiss, name="alert_dismiss"),
    path("decisions/<int:pk>/review/", views.decision_review, name="decision_review"),
    path("quality/", views.rule_quality, name="rule_quality"),
    path("support-unenrolled/", views.support_unenrolled, name="support_unenrolled"),
]
