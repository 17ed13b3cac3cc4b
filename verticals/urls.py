from django.urls import path

from verticals import views

urlpatterns = [
    path("verticals/", views.vertical_list, name="vertical-list"),
    path("verticals/<slug:slug>/", views.vertical_detail, name="vertical-detail"),
]
