from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kongchuo.portal import audit_views, calendar_views, views
from kongchuo.security.admin import KongchuoAdminSite
from students import account_views

# The default admin site, with its registrations, behind the portal login and the second factor.
admin.site.__class__ = KongchuoAdminSite

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", account_views.PasswordChange.as_view(),
         name="password_change"),
    path("accounts/otp/", include("kongchuo.security.urls")),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("calendar/", calendar_views.school_calendar, name="school_calendar"),
    path("calendar/<str:day>/delete/", calendar_views.school_calendar_delete, name="school_calendar_delete"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("students/", include("students.urls")),
    path("ledgers/", include("ledgers.urls")),
    path("retrieval/", include("retrieval.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("imports/", include("kongchuo.imports.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "kongchuo.security.views.permission_denied"  # audited
handler404 = "django.views.defaults.page_not_found"  # templates/404.html: missing and out of scope alike
handler500 = "django.views.defaults.server_error"  # templates/500.html: no trace, no settings
