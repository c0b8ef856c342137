"""URL patterns of the sweep pages, included by retrieval/urls.py under the "retrieval"
namespace (names prefixed `sweep_`)."""

from django.urls import path

from retrieval.sweeps import views

urlpatterns = [
    path("sweeps/", views.sweep_list, name="sweep_list"),
    path("sweeps/run/", views.sweep_start, name="sweep_start"),
    path("sweeps/runs/<int:pk>/", views.sweep_run, name="sweep_run"),
]
