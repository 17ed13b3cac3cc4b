"""Pages of the escrow app, mounted at the root (config/urls.py): the wallet and the staff credit
page, the seller's pending earnings, and "My purchases" under /my/purchases/ (namespace "escrow"); disputes: opened from a purchase,
"My disputes", "Disputes received" and one dispute's page with its forms and evidence files."""

from django.urls import include, path

from escrow.views import dispositions, disputes, earnings, purchases, wallet

# "My purchases": reversed as escrow:purchase-list and escrow:purchase-detail.
purchase_patterns = (
    [
        path("", purchases.purchase_list, name="purchase-list"),
        path("<int:sale_id>/", purchases.purchase_detail, name="purchase-detail"),
        path("<int:sale_id>/dispute/", disputes.dispute_open, name="dispute-open"),
        # Dispositions: the bulk edit, the CSV upload, the CRM webhook's settings.
        path("dispositions/", dispositions.disposition_bulk, name="disposition-bulk"),
        path("dispositions/import/", dispositions.disposition_import, name="disposition-import"),
        path("dispositions/webhook/", dispositions.disposition_webhook, name="disposition-webhook"),
    ],
    "escrow",
)

urlpatterns = [
    # The wallet: balance, deposits, faucet, linked address, withdrawals; and the staff credit page.
    path("staff/credit/", wallet.staff_credit, name="staff-credit"),
    path("wallet/", wallet.wallet, name="wallet"),
    path("wallet/faucet/", wallet.faucet, name="wallet-faucet"),
    path("wallet/address/", wallet.wallet_address, name="wallet-address"),
    path("wallet/withdraw/", wallet.withdraw, name="wallet-withdraw"),
    # The seller's pending earnings.
    path("seller/earnings/", earnings.seller_earnings, name="seller-earnings"),
    path("my/purchases/", include(purchase_patterns)),
    # The buyer's CRM reports dispositions here (signed; escrow.services.dispositions).
    path("hooks/dispositions/<str:token>/", dispositions.disposition_hook, name="disposition-hook"),
    # Disputes: the buyer's, the seller's received ones, one dispute and its forms and files.
    path("my/disputes/", disputes.dispute_list, name="dispute-list"),
    path("seller/disputes/", disputes.dispute_received, name="dispute-received"),
    path("disputes/<int:dispute_id>/", disputes.dispute_detail, name="dispute-detail"),
    path("disputes/<int:dispute_id>/state/", disputes.dispute_state, name="dispute-state"),
    path("disputes/<int:dispute_id>/respond/", disputes.dispute_respond, name="dispute-respond"),
    path("disputes/<int:dispute_id>/offer/", disputes.dispute_offer_reply, name="dispute-offer-reply"),
    path("disputes/<int:dispute_id>/evidence/", disputes.dispute_evidence_add, name="dispute-evidence-add"),
    path("disputes/evidence/<int:evidence_id>/", disputes.dispute_evidence_download, name="dispute-evidence"),
]
