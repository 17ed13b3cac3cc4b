from django.urls import path

from verticals.api import views

urlpatterns = [
    path("verticals/", views.VerticalListApi.as_view(), name="api-vertical-list"),
    path("verticals/<slug:slug>/", views.VerticalDetailApi.as_view(), name="api-vertical-detail"),
]
