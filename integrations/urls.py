from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("destinations/", views.destination_list, name="destination-list"),
    path("destinations/<int:pk>/", views.destination_detail, name="destination-detail"),
    path("destinations/<int:pk>/rotate/", views.destination_rotate, name="destination-rotate"),
    path("destinations/<int:pk>/test-send/", views.destination_test_send, name="destination-test-send"),
    path("destinations/<int:pk>/remove/", views.destination_archive, name="destination-archive"),
    path("purchases/<int:sale_id>/deliveries/", views.purchase_deliveries, name="purchase-deliveries"),
    path("deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="delivery-redeliver"),
]
