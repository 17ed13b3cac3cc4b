from django.urls import path

from analytics import views

app_name = "analytics"

urlpatterns = [
    path("<slug:role>/", views.dashboard, name="dashboard"),
    path("<slug:role>/export/<slug:table>.csv", views.dashboard_export, name="export"),
]
