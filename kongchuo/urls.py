from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kongchuo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("students/", include("students.urls")),
    path("ledgers/", include("ledgers.urls")),
    path("retrieval/", include("retrieval.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("admin/", admin.site.urls),
]
