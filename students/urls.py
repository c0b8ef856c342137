from django.urls import path

from students import account_views, views, views_records, views_transfers, views_worklists

app_name = "students"
urlpatterns = [
    path("", views.student_list, name="list"),
    path("<int:pk>/", views.student_detail, name="detail"),
    path("<int:pk>/reveal/", views.student_reveal, name="reveal"),
    # 学籍维护
    path("new/", views_records.student_new, name="new"),
    path("<int:pk>/edit/", views_records.student_edit, name="edit"),
    path("<int:pk>/id-number/", views_records.student_correct_id, name="correct_id"),
    path("<int:pk>/transfer-out/", views_transfers.transfer_out, name="transfer_out"),
    path("transfers/", views_transfers.transfer_list, name="transfers"),
    path("transfers/<int:pk>/", views_transfers.transfer_detail, name="transfer"),
    path("transfers/<int:pk>/confirm/", views_transfers.transfer_confirm_view, name="transfer_confirm"),
    path("transfers/<int:pk>/refuse/", views_transfers.transfer_refuse_view, name="transfer_refuse"),
    path("transfers/<int:pk>/withdraw/", views_transfers.transfer_withdraw_view, name="transfer_withdraw"),
    path("roster-gaps/", views_worklists.roster_gaps, name="roster_gaps"),
    path("roster-gaps/export/", views_worklists.roster_gaps_export, name="roster_gaps_export"),
    path("<int:pk>/repeat/", views.student_repeat, name="repeat"),
    path("schools/", views.school_list, name="schools"),
    path("schools/mine/", views.my_school, name="my_school"),
    path("schools/<int:pk>/", views.school_detail, name="school"),
    path("schools/<int:pk>/junior/", views.school_junior, name="school_junior"),
    path("townships/<int:pk>/", views.township_detail, name="township"),
    path("county/", views.county_detail, name="county"),
    path("county/members/<int:pk>/remove/", views.leading_group_remove, name="leading_group_remove"),
    path("users/", account_views.user_list, name="users"),
    path("users/new/", account_views.user_new, name="user_new"),
    path("users/password/", account_views.user_password, name="user_password"),
    path("users/<int:pk>/", account_views.user_detail, name="user"),
    path("users/<int:pk>/active/", account_views.user_active, name="user_active"),
    path("users/<int:pk>/password/", account_views.user_password_reset, name="user_password_reset"),
    path("users/<int:pk>/otp/", account_views.user_otp_reset, name="user_otp_reset"),
    path("users/<int:pk>/unlock/", account_views.user_unlock, name="user_unlock"),
]
