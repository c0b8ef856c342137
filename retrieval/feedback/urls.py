"""URL patterns of the feedback-list pages (反馈名单核查), included by retrieval/urls.py under the
"retrieval" namespace."""

from django.urls import path

from retrieval.feedback import views

urlpatterns = [
    path("feedback/", views.feedback_list, name="feedback"),
    path("feedback/<int:pk>/", views.feedback_batch, name="feedback_batch"),
    path("feedback/<int:pk>/export/", views.feedback_export, name="feedback_export"),
    path("feedback/items/<int:pk>/", views.feedback_item, name="feedback_item"),
]
