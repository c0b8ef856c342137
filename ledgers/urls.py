from django.urls import path, register_converter

from ledgers import views, views_files, views_worklists
from ledgers.registry import KINDS, LEDGER_NAMES


class LedgerConverter:
    """Only the registered ledger slugs match, so a typo is a plain 404."""

    regex = "|".join(sorted(KINDS, key=len, reverse=True))

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(LedgerConverter, "ledger")

app_name = "ledgers"
urlpatterns = [
    path("returns/tick/", views_worklists.returns_tick, name="returns_tick"),
    path("returns/missing/", views_worklists.returns_missing, name="returns_missing"),
    path("returns/<int:pk>/withdraw/", views_worklists.returns_withdraw, name="returns_withdraw"),
    path("aid/uncovered/", views_worklists.aid_uncovered, name="aid_uncovered"),
    path("status_changes/out-of-county/", views_worklists.transfer_out_of_county, name="transfer_out_of_county"),
    path("status_changes/missing-proof/", views_worklists.transfers_missing_proof, name="transfers_missing_proof"),
    path("deferrals/<int:pk>/review/", views.deferral_review_view, name="deferral_review"),
    path("home_teaching/<int:pk>/manual/", views.home_teaching_manual, name="manual"),
    path("exports/<int:pk>/", views_files.export_job, name="export_job"),
    path("exports/<int:pk>/file/", views_files.export_job_file, name="export_job_file"),
    path("attachments/<int:pk>/", views_files.attachment_download, name="attachment"),
    path("attachments/<int:pk>/delete/", views_files.attachment_remove, name="attachment_delete"),
    *[path(f"{slug}/", views.entry_list, {"slug": slug}, name=slug) for slug in LEDGER_NAMES],
    path("<ledger:slug>/new/", views.entry_new, name="new"),
    path("<ledger:slug>/export/", views_files.entry_export, name="export"),
    path("<ledger:slug>/template/", views_files.entry_template, name="template"),
    path("<ledger:slug>/<int:pk>/", views.entry_detail, name="detail"),
    path("<ledger:slug>/<int:pk>/edit/", views.entry_edit, name="edit"),
    path("<ledger:slug>/<int:pk>/attachments/", views_files.attachment_upload, name="attach"),
]
