from django.urls import path

from marketplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("first-run/dismiss/", views.first_run_dismiss, name="first-run-dismiss"),
]
