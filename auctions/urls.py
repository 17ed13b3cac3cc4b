from auctions import views

# Pages: the seller's asks (/seller/asks/…) and the auction room (/auctions/<id>/).
urlpatterns = views.urlpatterns
