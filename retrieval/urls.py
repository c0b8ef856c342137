"""URLs of the retrieval app, all under the "retrieval" namespace: the pages that span the
sub-domains here, each sub-domain's own in its urls.py."""

from django.urls import path

from retrieval import views
from retrieval.alerts.urls import urlpatterns as alert_urlpatterns
from retrieval.cases.urls import urlpatterns as case_urlpatterns
from retrieval.evidence.views import evidence_file
from retrieval.feedback.urls import urlpatterns as feedback_urlpatterns
from retrieval.supervision.urls import urlpatterns as supervision_urlpatterns
from retrieval.sweeps.urls import urlpatterns as sweep_urlpatterns

app_name = "retrieval"
urlpatterns = [
    # To-do inbox and approvals
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<slug:key>/", views.inbox_list, name="inbox_list"),
    path("approvals/", views.approvals, name="approvals"),
    path("evidence/<int:pk>/", evidence_file, name="evidence"),
    *alert_urlpatterns,
    *case_urlpatterns,
    *feedback_urlpatterns,
    *supervision_urlpatterns,
    *sweep_urlpatterns,
]
