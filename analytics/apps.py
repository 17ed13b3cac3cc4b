from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self):
        from analytics import metrics
        from analytics.lead_stats import rollup_lead_stats
        from leads.selectors import lead_table_stats_source_register

        metrics.register()
        lead_table_stats_source_register(rollup_lead_stats)
