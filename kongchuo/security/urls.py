from django.urls import path

from kongchuo.security import views

# Included without a namespace at accounts/otp/ so the OTP middleware can name them plainly.
urlpatterns = [
    path("setup/", views.otp_setup, name="otp_setup"),
    path("verify/", views.otp_verify, name="otp_verify"),
]
