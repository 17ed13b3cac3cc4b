from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from leads import tasks
        from leads.caps import seller_caps_invalidate
        from leads.models import SellerCap
        from leads.signals import ad_event_received, csv_import_confirmed, lead_received, leads_received

        lead_received.connect(tasks.score_lead_queue, dispatch_uid="leads.score_lead")
        leads_received.connect(tasks.score_leads_queue, dispatch_uid="leads.score_leads")
        csv_import_confirmed.connect(tasks.import_csv_queue, dispatch_uid="leads.import_csv")
        ad_event_received.connect(tasks.process_ad_event_queue, dispatch_uid="leads.process_ad_event")
        post_save.connect(seller_caps_invalidate, sender=SellerCap, dispatch_uid="leads.seller_caps")
        post_delete.connect(seller_caps_invalidate, sender=SellerCap, dispatch_uid="leads.seller_caps")
