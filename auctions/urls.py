from auctions import views, views_autobid, views_bounties, views_live

# Pages: the seller's asks (/seller/asks/…), the auction room (/auctions/<id>/), buy-now (/buy-now/),
# and the buyer's live pages (/marketplace/, /my/bids/, /my/wins/; auctions/views_live.py).
urlpatterns = [*views.urlpatterns, *views_live.urlpatterns, *views_autobid.urlpatterns, *views_bounties.urlpatterns]
