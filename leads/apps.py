from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads import tasks
        from leads.signals import csv_import_confirmed, lead_received, leads_received

        lead_received.connect(tasks.score_lead_queue, dispatch_uid="leads.score_lead")
        leads_received.connect(tasks.score_leads_queue, dispatch_uid="leads.score_leads")
        csv_import_confirmed.connect(tasks.import_csv_queue, dispatch_uid="leads.import_csv")
