"""Pages of the auctions app, mounted at the root (config/urls.py)."""

from django.urls import path

from auctions.views import auctions, autobid, bounties, live

urlpatterns = [
    # The seller's asks, the auction room and buy-now (auctions/views/auctions.py).
    path("seller/asks/", auctions.ask_list, name="ask-list"),
    path("seller/asks/new/", auctions.ask_new, name="ask-new"),
    path("seller/asks/<int:ask_id>/edit/", auctions.ask_edit, name="ask-edit"),
    path("seller/asks/<int:ask_id>/delete/", auctions.ask_delete, name="ask-delete"),
    path("auctions/<int:auction_id>/", auctions.auction_room, name="auction-room"),
    path("auctions/<int:auction_id>/bid-log.json", auctions.auction_bid_log_download, name="auction-bid-log"),
    path("buy-now/", auctions.buy_now_list_page, name="buy-now-list"),
    path("buy-now/<int:listing_id>/buy/", auctions.buy_now_buy, name="buy-now-buy"),
    # The buyer's live pages (auctions/views/live.py).
    path("marketplace/", live.marketplace, name="marketplace"),
    path("marketplace/state.json", live.auction_state, name="live-auction-state"),
    path("my/bids/", live.my_bids, name="my-bids"),
    path("my/wins/", live.my_wins, name="my-wins"),
    # The buyer's autobid rules (auctions/views/autobid.py).
    path("autobid/", autobid.rule_list, name="autobid-rule-list"),
    path("autobid/new/", autobid.rule_new, name="autobid-rule-new"),
    path("autobid/<int:rule_id>/", autobid.rule_detail, name="autobid-rule-detail"),
    path("autobid/<int:rule_id>/edit/", autobid.rule_edit, name="autobid-rule-edit"),
    path("autobid/<int:rule_id>/delete/", autobid.rule_delete, name="autobid-rule-delete"),
    path("autobid/<int:rule_id>/pause/", autobid.rule_pause, name="autobid-rule-pause"),
    path("autobid/<int:rule_id>/resume/", autobid.rule_resume, name="autobid-rule-resume"),
    path("autobid/<int:rule_id>/tuning/", autobid.rule_tuning, name="autobid-rule-tuning"),
    path("autobid/<int:rule_id>/tunings/<int:tuning_id>/revert/", autobid.tuning_revert, name="autobid-tuning-revert"),
    # Bounties: the buyer's and the seller's pages (auctions/views/bounties.py).
    path("bounties/", bounties.bounty_list, name="bounty-list"),
    path("bounties/<int:bounty_id>/", bounties.bounty_detail, name="bounty-detail"),
    path("bounties/<int:bounty_id>/edit/", bounties.bounty_edit, name="bounty-edit"),
    path("bounties/<int:bounty_id>/fund/", bounties.bounty_fund, name="bounty-fund"),
    path("bounties/<int:bounty_id>/withdraw/", bounties.bounty_withdraw, name="bounty-withdraw"),
    path("bounties/<int:bounty_id>/status/", bounties.bounty_status, name="bounty-status"),
    path("seller/bounties/", bounties.seller_bounties, name="seller-bounties"),
]
