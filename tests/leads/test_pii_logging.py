"""No consumer's name, email, phone or street address leaves the vault: not in logs (any logger, any
level, the JSON lines too), error bodies, the admin, or any database table but LeadPII."""

import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.logging import CorrelationIdFilter, JsonFormatter
from leads.models import Lead, LeadPII, SellerCap
from leads.services import lead_score
from tests.api_errors import error_params
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db

# Distinctive values, so that any hit is a leak rather than a coincidence.
FIRST, LAST, STREET = "Xanthippe", "Okonkwo-Llewellyn", "742 Evergreen Terrace"
DOB = "1971-07-19"


def consumer(i: int) -> dict:
    return {
        "first_name": FIRST,
        "last_name": f"{LAST}{i}",
        "street_address": f"{i}{STREET}",
        "email": f"xanthippe.okonkwo{i}@gmail.com",
        "phone": f"(415) 555-{7100 + i}",
    }


def pii_strings(count: int) -> list[str]:
    values = [
        FIRST,
        LAST,
        STREET,
        DOB,
        "xanthippe",
        "okonkwo",
        "evergreen",
        "+1999876543",
        "9998765432",
        "999) 876",
        "not-an-email@@nowhere",
    ]
    for i in range(count):
        values += [
            f"xanthippe.okonkwo{i}@gmail.com",
            f"(415) 555-{7100 + i}",
            f"+1415555{7100 + i}",
            f"415555{7100 + i}",
        ]
    return values


def find_leaks(text: str, values: list[str]) -> list[str]:
    lowered = text.lower()
    return [v for v in values if v.lower() in lowered]


def lead(i: int, **overrides) -> dict:
    data = make_lead(**{**consumer(i), **overrides})
    data["fields"] = {**data["fields"], "date_of_birth": DOB}
    return data


def test_no_pii_anywhere_after_every_kind_of_submission(seller_api, seller_user, solar, staff, client, caplog):
    SellerCap.objects.create(seller=seller_user, vertical=solar, daily_cap=3)
    # Every record at DEBUG from every logger, SQL with its parameters included.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    responses = []
    with CaptureQueriesContext(connection) as queries:  # also turns the SQL debug log on
        # Single submissions: valid, invalid (phone, email, other fields), duplicate, idempotent replay.
        responses.append(seller_api.post("/api/v1/leads/", lead(0), format="json"))
        responses.append(seller_api.post("/api/v1/leads/", lead(1, phone="+1 (999) 876-5432"), format="json"))
        responses.append(seller_api.post("/api/v1/leads/", lead(2, email="not-an-email@@nowhere"), format="json"))
        responses.append(
            seller_api.post(
                "/api/v1/leads/",
                lead(3, zip="00000", state="ZZ", consent={"text": ""}, fields={"roof_type": "straw"}),
                format="json",
            )
        )
        responses.append(seller_api.post("/api/v1/leads/", lead(0), format="json"))  # duplicate
        fourth = lead(4)
        responses.append(seller_api.post("/api/v1/leads/", fourth, format="json", HTTP_IDEMPOTENCY_KEY="k-4"))
        responses.append(seller_api.post("/api/v1/leads/", fourth, format="json", HTTP_IDEMPOTENCY_KEY="k-4"))
        # Bulk: valid, invalid, a duplicate of an earlier one, and past the cap of 3.
        responses.append(
            seller_api.post(
                "/api/v1/leads/bulk/",
                {"leads": [lead(5), lead(6, phone="12345"), lead(7, email="x@@y"), lead(0), lead(8), lead(9)]},
                format="json",
            )
        )
        responses.append(seller_api.post("/api/v1/leads/", lead(10), format="json"))  # capped
        for lead_id in Lead.objects.filter(status="received").values_list("pk", flat=True):
            lead_score(lead_id=lead_id)
    formatter, correlation = JsonFormatter(), CorrelationIdFilter()
    json_lines = []
    for record in caplog.records:
        correlation.filter(record)
        json_lines.append(formatter.format(record))

    codes = [r.status_code for r in responses]
    assert codes == [201, 400, 400, 400, 409, 201, 201, 200, 429]
    assert responses[6]["Idempotent-Replay"] == "true"
    bulk = responses[7].json()["results"]
    assert [r["accepted"] for r in bulk] == [True, False, False, False, False, False]
    assert [r["error"]["code"] for r in bulk[1:]] == [
        "validation_error",
        "validation_error",
        "duplicate",
        "daily_cap_reached",
        "daily_cap_reached",
    ]

    values = pii_strings(11)

    # Error bodies (and every other body) name fields, never values.
    for response in responses:
        assert not find_leaks(response.content.decode(), values), response.content
    assert set(error_params(responses[1])) == {"phone"}
    assert set(error_params(responses[2])) == {"email"}
    assert {"zip", "state", "consent.text", "fields.roof_type"} <= set(error_params(responses[3]))

    # Logs: the records, their JSON lines, and the SQL (parameters included).
    messages = {r.getMessage() for r in caplog.records}
    assert {"lead submission", "lead scored"} <= messages, "the capture is broken"
    assert any(r.name == "django.db.backends" for r in caplog.records), "SQL was not logged"
    for line in json_lines:
        json.loads(line)
        assert not find_leaks(line, values), line
    assert not find_leaks(caplog.text, values)
    assert not find_leaks("\n".join(q["sql"] for q in queries.captured_queries), values)

    # The admin.
    client.force_login(staff)
    urls = [reverse("admin:leads_lead_changelist")]
    urls += [reverse("admin:leads_lead_change", args=[pk]) for pk in Lead.objects.values_list("pk", flat=True)]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert not find_leaks(response.content.decode(), values), url

    # The database: every table's rows as text, except the vault whose ciphertext is opaque.
    assert LeadPII.objects.count() == 3
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table == LeadPII._meta.db_table:
                continue
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')  # noqa: S608 - names from introspection
            dump = "\n".join(row[0] for row in cursor.fetchall())
            assert not find_leaks(dump, values), table
    for pii in LeadPII.objects.all():
        assert not find_leaks(bytes(pii.ciphertext).decode("latin-1"), values)


def test_lead_rows_text_columns_hold_no_contact_details(seller_user, solar):
    from leads.services import lead_submit

    lead_submit(seller=seller_user, data=lead(0, campaign="spring", sub_id="s1", city="San Francisco"), source="api")
    values = pii_strings(1)
    text_columns = [
        f.attname
        for f in Lead._meta.concrete_fields
        if f.get_internal_type() in ("CharField", "TextField", "JSONField", "URLField", "GenericIPAddressField")
    ]
    for row in Lead.objects.values(*text_columns):
        assert not find_leaks(json.dumps(row, default=str), values), row
