"""Run the local fake of Meta's Graph API for development (LEADS_META_GRAPH_URL points at it by
default outside production). Leads come from a JSON file: {"<leadgen_id>": {"created_time": …,
"field_data": [{"name": …, "values": [...]}]}}."""

import json

from django.core.management.base import BaseCommand

from leads.adplatforms.fake_graph import FakeGraphServer


class Command(BaseCommand):
    help = "Serve canned Meta leads by leadgen_id on http://127.0.0.1:8790/v21.0/<id> (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8790)
        parser.add_argument("--leads", help="A JSON file of leads by leadgen_id.")

    def handle(self, *args, port, leads, **options):
        server = FakeGraphServer(port=port)
        if leads:
            with open(leads, encoding="utf-8") as handle:
                for leadgen_id, lead in json.load(handle).items():
                    server.add_lead(leadgen_id=leadgen_id, **lead)
        self.stdout.write(f"Fake Graph API on {server.base_url} ({len(server.leads)} leads); Ctrl-C stops it.")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
