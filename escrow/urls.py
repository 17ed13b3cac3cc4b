"""Pages of the escrow app, mounted at /my/purchases/ (config/urls.py)."""

from django.urls import path

from escrow import views_purchases

app_name = "escrow"

urlpatterns = [
    path("", views_purchases.purchase_list, name="purchase-list"),
    path("<int:sale_id>/", views_purchases.purchase_detail, name="purchase-detail"),
]
