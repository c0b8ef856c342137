from django.urls import path

from students import views

app_name = "students"
urlpatterns = [
    path("", views.student_list, name="list"),
    path("<int:pk>/", views.student_detail, name="detail"),
    path("<int:pk>/reveal/", views.student_reveal, name="reveal"),
    path("schools/", views.school_list, name="schools"),
    path("schools/mine/", views.my_school, name="my_school"),
    path("schools/<int:pk>/", views.school_detail, name="school"),
    path("townships/<int:pk>/", views.township_detail, name="township"),
    path("county/", views.county_detail, name="county"),
    path("county/members/<int:pk>/remove/", views.leading_group_remove, name="leading_group_remove"),
    path("users/", views.user_list, name="users"),
]
