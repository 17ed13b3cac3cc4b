"""Pages of the escrow app, mounted at the root (config/urls.py): the wallet and the staff credit
page, the seller's pending earnings, and "My purchases" under /my/purchases/ (namespace "escrow")."""

from django.urls import include, path

from escrow.views import earnings, purchases, wallet

# "My purchases": reversed as escrow:purchase-list and escrow:purchase-detail.
purchase_patterns = (
    [
        path("", purchases.purchase_list, name="purchase-list"),
        path("<int:sale_id>/", purchases.purchase_detail, name="purchase-detail"),
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
]
