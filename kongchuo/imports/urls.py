from django.urls import path

from kongchuo.imports import views

app_name = "imports"
urlpatterns = [
    path("kinds/", views.import_index, name="index"),
    path("kinds/<slug:slug>/", views.import_kind, name="kind"),
    path("kinds/<slug:slug>/template.xlsx", views.import_template, name="template"),
    path("jobs/", views.import_history, name="history"),
    path("jobs/<int:pk>/", views.import_job, name="job"),
    path("jobs/<int:pk>/confirm/", views.import_confirm, name="confirm"),
    path("jobs/<int:pk>/errors.xlsx", views.import_errors, name="errors"),
    path("jobs/<int:pk>/output/", views.import_output, name="output"),
]
