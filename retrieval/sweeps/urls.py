"""URL patterns of the sweep pages, included by retrieval/urls.py under the "retrieval"
namespace (names prefixed `sweep_`)."""

from django.urls import path

from retrieval.sweeps import schedule_views, views

urlpatterns = [
    path("sweeps/", views.sweep_list, name="sweep_list"),
    path("sweeps/run/", views.sweep_start, name="sweep_start"),
    path("sweeps/runs/<int:pk>/", views.sweep_run, name="sweep_run"),
    path("sweeps/schedule/", schedule_views.sweep_schedule, name="sweep_schedule"),
    path("sweeps/schedule/<int:pk>/", schedule_views.sweep_schedule_edit, name="sweep_schedule_edit"),
]
