from django.urls import include, path

from leads.api import views

urlpatterns = [
    path("leads/", views.LeadListCreateApi.as_view(), name="api-lead-list"),
    path("leads/bulk/", views.LeadBulkApi.as_view(), name="api-lead-bulk"),
    path("leads/<int:pk>/", views.LeadDetailApi.as_view(), name="api-lead-detail"),
    path("", include("leads.api.adplatforms")),
]
