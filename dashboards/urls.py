from django.urls import path

from dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("list/<slug:metric>/", views.drilldown, name="list"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/template/", views.cohort_template, name="cohort_template"),
]
