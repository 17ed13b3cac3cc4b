from auctions import views

# Pages: the seller's asks (/seller/asks/…), the auction room (/auctions/<id>/) and buy-now (/buy-now/).
urlpatterns = views.urlpatterns
