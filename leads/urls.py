"""Pages of the leads app, mounted at the root (config/urls.py)."""

from django.urls import path

from leads.views import adhooks, intake, integrations, seller

urlpatterns = [
    # The seller's lead table, its CSV export and a lead's page (leads/views/seller.py).
    path("seller/leads/", seller.seller_leads, name="seller-leads"),
    path("seller/leads/export.csv", seller.seller_leads_export, name="seller-leads-export"),
    path("seller/leads/<int:lead_id>/", seller.seller_lead_detail, name="seller-lead-detail"),
    path("seller/leads/<int:lead_id>/relist/", seller.seller_lead_relist, name="seller-lead-relist"),
    # Ad platforms' lead form webhooks (leads/views/adhooks.py).
    path("hooks/google/<str:token>/", adhooks.google_hook, name="hook-google"),
    path("hooks/meta/<str:token>/", adhooks.meta_hook, name="hook-meta"),
    path("seller/integrations/", integrations.integrations, name="seller-integrations"),
    path("seller/integrations/<int:connection_id>/", integrations.integration_detail, name="seller-integration"),
    path(
        "seller/integrations/<int:connection_id>/rotate/",
        integrations.integration_rotate,
        name="seller-integration-rotate",
    ),
    path(
        "seller/integrations/events/<int:event_id>/replay/",
        integrations.integration_event_replay,
        name="seller-integration-replay",
    ),
    # Hosted forms and CSV import (leads/views/intake.py).
    path("f/<slug:slug>/", intake.hosted_form, name="hosted-form"),
    path("f/<slug:slug>/thanks/", intake.hosted_form_done, name="hosted-form-done"),
    path("seller/forms/", intake.seller_forms, name="seller-forms"),
    path("seller/forms/rotate/", intake.seller_forms_rotate, name="seller-forms-rotate"),
    path("seller/imports/", intake.csv_import_list, name="csv-import-list"),
    path("seller/imports/new/", intake.csv_import_new, name="csv-import-new"),
    path("seller/imports/<int:import_id>/", intake.csv_import_detail, name="csv-import-detail"),
    path("seller/imports/<int:import_id>/map/", intake.csv_import_map, name="csv-import-map"),
    path("seller/imports/<int:import_id>/start/", intake.csv_import_start, name="csv-import-start"),
    path("seller/imports/<int:import_id>/progress.json", intake.csv_import_progress, name="csv-import-progress"),
    path("seller/imports/<int:import_id>/errors.csv", intake.csv_import_errors, name="csv-import-errors"),
]
