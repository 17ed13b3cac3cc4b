from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerView

from analytics import views as analytics_views
from core import views as core_views
from core.api.schema_view import SchemaView

api_v1 = [
    path("", include("verticals.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("leads.api.urls")),
    path("", include("ledger.api")),
    path("", include("auctions.api.urls")),
    path("", include("chain.api")),
    path("", include("escrow.api.funds")),  # deposits/, withdrawals/
    path("", include("escrow.api.purchases")),  # purchases/
    path("", include("escrow.api.earnings")),  # earnings/pending/
    path("", include("escrow.api.disputes")),  # disputes/
    path("", include("notifications.api")),  # notifications/
    path("", include("integrations.api.views")),
    path(
        "", include("analytics.api.views")
    ),  # analytics/seller/, analytics/buyer/, analytics/staff/  # delivery-destinations/, deliveries/, purchases/<id>/deliveries/
]

# Staff bookmarks from before models moved out of the marketplace app (issue #11) still land.
MOVED_ADMIN = [
    re_path(
        rf"^admin/marketplace/(?P<model>{models})/(?P<rest>.*)$",
        RedirectView.as_view(url=f"/admin/{app}/%(model)s/%(rest)s", permanent=True, query_string=True),
    )
    for app, models in (
        ("accounts", "user|apikey"),
        ("ledger", "ledgeraccount|ledgertransaction|ledgerentry"),
        ("core", "deadletter|idempotencykey"),
    )
]

urlpatterns = [
    path("", include("marketplace.urls")),
    path("", include("accounts.urls")),
    path("", include("escrow.urls")),  # wallet, pending earnings, "My purchases" (/my/purchases/)
    path("", include("verticals.urls")),
    path("", include("leads.urls")),
    path("", include("auctions.urls")),
    path("notifications/", include("notifications.urls")),
    path("dashboard/", analytics_views.dashboard_home, name="dashboard"),
    path("dashboard/", include("analytics.urls")),
    path("integrations/", include("integrations.urls")),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("healthz", core_views.healthz, name="healthz"),
    path("metrics", core_views.metrics_view, name="metrics"),
    *MOVED_ADMIN,
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
