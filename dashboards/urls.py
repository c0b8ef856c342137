from django.urls import path

from dashboards import views, year_views

app_name = "dashboards"
urlpatterns = [
    path("list/<slug:metric>/", views.drilldown, name="list"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path("cohorts/template/", views.cohort_template, name="cohort_template"),
    path("years/terms/", year_views.terms, name="terms"),
    path("years/rollover/", year_views.rollover, name="rollover"),
    path("years/rollover/jobs/<int:pk>/", year_views.rollover_job, name="rollover_job"),
    path("years/review/", year_views.review, name="review"),
    path("years/review.xlsx", year_views.review_xlsx, name="review_xlsx"),
]
