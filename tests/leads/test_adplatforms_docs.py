"""The examples of docs/integrations.md ("Leads from Google and Meta lead forms") run: the Google
payload and the Meta delivery are posted as written (only the key, the times and the signature
filled in), and the signature recipe is the one the hook checks."""

import json
import re
import time
from pathlib import Path

import pytest

from leads.adplatforms.connections import connection_secrets
from leads.adplatforms.fake_graph import FakeGraphServer
from leads.adplatforms.graph import _client
from leads.adplatforms.hooks import meta_signature
from leads.choices import AdEventStatus
from leads.models import AdLeadEvent, Lead
from tests.leads.adplatforms import google_connection, meta_connection

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
_EXAMPLE = re.compile(r"<!-- example: (?P<name>[a-z-]+) -->\s*```(?P<lang>\w+)\n(?P<body>.*?)^```", re.M | re.S)


def examples() -> dict[str, str]:
    section = DOC.read_text().split("## Leads from Google and Meta lead forms", 1)[1].split("\n## ", 1)[0]
    return {m.group("name"): m.group("body") for m in _EXAMPLE.finditer(section)}


def test_the_documented_google_payload_becomes_a_lead(client, seller_user, solar, django_capture_on_commit_callbacks):
    connection = google_connection(seller_user, solar)
    payload = json.loads(examples()["google-lead"])
    payload["google_key"] = connection_secrets(connection=connection).google_key
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/hooks/google/{connection.token}/", json.dumps(payload), content_type="application/json"
        )
    assert response.status_code == 200
    event = AdLeadEvent.objects.get()
    assert event.status == AdEventStatus.PROCESSED, event.error
    assert Lead.objects.get().fields["homeowner"] is True


def test_the_documented_signature_recipe_is_the_one_checked():
    namespace = {}
    exec(examples()["meta-signature"], namespace)  # noqa: S102 - our own doc's example
    body = b'{"object": "page"}'
    assert namespace["x_hub_signature_256"]("s3cret", body) == meta_signature(app_secret="s3cret", body=body)


def test_the_documented_meta_delivery_signed_by_the_recipe_becomes_a_lead(
    client, seller_user, solar, settings, django_capture_on_commit_callbacks
):
    graph = FakeGraphServer().start()
    settings.LEADS_META_GRAPH_URL = graph.base_url
    _client.cache_clear()
    try:
        connection = meta_connection(seller_user, solar)
        now = int(time.time())
        graph.add_lead(
            leadgen_id="444444444444",
            created_time=time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(now)),
            field_data=[
                {"name": "full_name", "values": ["Maria Garcia"]},
                {"name": "email", "values": ["maria.garcia@gmail.com"]},
                {"name": "phone_number", "values": ["+14155552671"]},
                {"name": "zip_code", "values": ["94105"]},
                {"name": "state", "values": ["CA"]},
                {"name": "homeowner", "values": ["yes"]},
                {"name": "monthly_electric_bill", "values": ["240"]},
            ],
        )
        text = examples()["meta-delivery"].replace("1767225600", str(now))
        raw = text.encode()
        namespace = {}
        exec(examples()["meta-signature"], namespace)  # noqa: S102
        signature = namespace["x_hub_signature_256"](connection_secrets(connection=connection).app_secret, raw)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/hooks/meta/{connection.token}/",
                raw,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=signature,
            )
        assert response.status_code == 200, response.content
        assert AdLeadEvent.objects.get().status == AdEventStatus.PROCESSED
        assert Lead.objects.count() == 1
    finally:
        graph.stop()
        _client.cache_clear()
