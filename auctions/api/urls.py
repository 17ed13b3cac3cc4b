from django.urls import path

from auctions.api import autobid, bounties, views
from auctions.api.buynow import urlpatterns as buy_now_urlpatterns

urlpatterns = [
    path("asks/", views.AskListCreateApi.as_view(), name="api-ask-list"),
    path("asks/<int:pk>/", views.AskDetailApi.as_view(), name="api-ask-detail"),
    path("auctions/", views.AuctionListApi.as_view(), name="api-auction-list"),
    path("auctions/<int:pk>/", views.AuctionDetailApi.as_view(), name="api-auction-detail"),
    path("auctions/<int:pk>/bids/", views.BidCreateApi.as_view(), name="api-auction-bids"),
    path("auctions/<int:pk>/bid-log/", views.BidLogApi.as_view(), name="api-auction-bid-log"),
    # Buy Now: buy-now/ and buy-now/<id>/purchase/ (auctions/api/buynow.py).
    *buy_now_urlpatterns,
    *autobid.urlpatterns,  # autobid-rules/ (auctions/api/autobid.py)
    *bounties.urlpatterns,  # bounties/ (auctions/api/bounties.py)
]
