from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerView

from marketplace import views as mviews
from marketplace.api.schema_view import SchemaView

api_v1 = [
    path("", include("verticals.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("marketplace.api.ledger")),
    path("", include("auctions.api.urls")),
    path("", include("chain.api")),
    path("", include("escrow.api.funds")),  # deposits/, withdrawals/
    path("", include("escrow.api.purchases")),  # purchases/
    path("", include("escrow.api.earnings")),  # earnings/pending/
]

urlpatterns = [
    path("", mviews.home, name="home"),
    path("accounts/signup/", mviews.sign_up, name="signup"),
    path("accounts/login/", mviews.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", mviews.account, name="account"),
    path("account/api-keys/", mviews.api_key_create, name="api-key-create"),
    path("account/api-keys/<int:api_key_id>/revoke/", mviews.api_key_revoke, name="api-key-revoke"),
    path("", include("escrow.urls")),  # wallet, pending earnings, "My purchases" (/my/purchases/)
    path("", include("verticals.urls")),
    path("", include("leads.urls")),
    path("", include("auctions.urls")),
    path("favicon.ico", mviews.favicon, name="favicon"),
    path("healthz", mviews.healthz, name="healthz"),
    path("metrics", mviews.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
