"""Dispositions for the buyer: GET|PUT /api/v1/purchases/<id>/disposition/, the return on spend
(GET /api/v1/purchases/outcomes/ and My purchases), the bulk edit on My purchases and the CSV
upload (valid rows applied, the others reported by line, nothing half-written)."""

from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from auctions.models import Disposition, DispositionChange
from escrow.models import Settlement
from tests.escrow.test_purchases import (  # noqa: F401 - shared fixtures
    buyer,
    make_purchase,
    sale,
    seller,
    settle,
    t0,
)
from tests.escrow.test_purchases_api import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def url(sale_id) -> str:
    return f"/api/v1/purchases/{sale_id}/disposition/"


# ---------------------------------------------------------------- API


def test_get_before_any_report_is_null_then_put_sets_it_with_history(buyer, sale):
    api = client_for(buyer)
    body = api.get(url(sale.pk)).json()
    assert body["status"] is None and body["history"] == [] and body["purchase_id"] == sale.pk
    response = api.put(url(sale.pk), {"status": "sold", "revenue": "450.5"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["revenue"], body["channel"]) == ("sold", "450.500000", "api")
    assert [(h["from_status"], h["status"], h["by_you"]) for h in body["history"]] == [("", "sold", True)]
    body = api.put(url(sale.pk), {"status": "bad", "reason": "Fake phone"}, format="json").json()
    assert body["revenue"] is None and body["reason"] == "Fake phone" and len(body["history"]) == 2


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"status": "sold"}, "revenue"),
        ({"status": "bad"}, "reason"),
        ({"status": "contacted", "revenue": "3"}, "revenue"),
        ({"status": "nope"}, "status"),
        ({"status": "sold", "revenue": "-4"}, "revenue"),
        ({}, "status"),
    ],
)
def test_put_refuses_a_bad_value_with_the_error_envelope_and_changes_nothing(buyer, sale, payload, param):
    response = client_for(buyer).put(url(sale.pk), payload, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and error["param"] == param
    assert not Disposition.objects.exists()


def test_others_purchases_are_404_on_get_and_put(sale):
    api = client_for(UserFactory(is_buyer=True))
    assert api.get(url(sale.pk)).status_code == 404
    response = api.put(url(sale.pk), {"status": "contacted"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
    assert client_for(sale.seller).get(url(sale.pk)).status_code == 404
    assert not Disposition.objects.exists()


def test_outcomes_give_the_return_on_spend_by_vertical_without_refunded_purchases(buyer, t0):
    first = make_purchase(t0=t0, buyer=buyer)
    second = make_purchase(t0=t0, buyer=buyer)
    refunded = make_purchase(t0=t0, buyer=buyer)
    settle(refunded, state=Settlement.State.REFUNDED)
    api = client_for(buyer)
    api.put(url(first.pk), {"status": "sold", "revenue": "25"}, format="json")
    api.put(url(second.pk), {"status": "no_answer"}, format="json")
    rows = api.get("/api/v1/purchases/outcomes/").json()
    by_vertical = {row["vertical"]: row for row in rows}
    assert by_vertical[first.lead.vertical.slug]["return_on_spend"] == "2.5000"  # 25 / 10
    assert by_vertical[second.lead.vertical.slug]["contact_rate"] == "0.0000"
    total = by_vertical[""]
    assert (total["purchases"], total["spend"], total["revenue"], total["sold"]) == (2, "20.000000", "25.000000", 1)
    assert total["return_on_spend"] == "1.2500"
    assert refunded.lead.vertical.slug not in by_vertical


# ---------------------------------------------------------------- pages


def test_the_bulk_edit_sets_ticked_purchases_and_reports_others(client, buyer, t0):
    mine = [make_purchase(t0=t0, buyer=buyer) for _ in range(2)]
    other = make_purchase(t0=t0)
    client.force_login(buyer)
    response = client.post(
        "/my/purchases/dispositions/",
        {"sale": [mine[0].pk, mine[1].pk, other.pk], "status": "sold", "revenue": "40", "reason": ""},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Disposition set on 2 purchase(s)." in page and "No such purchase of yours." in page
    assert set(Disposition.objects.values_list("sale_id", "status", "channel")) == {
        (mine[0].pk, "sold", "page"),
        (mine[1].pk, "sold", "page"),
    }
    assert 'data-testid="purchase-disposition">Sold · 40' in page
    assert 'data-testid="return-on-spend">4.00×' in page or "4.00×" in page
    response = client.post("/my/purchases/dispositions/", {"sale": [mine[0].pk], "status": "bad"}, follow=True)
    assert "A bad lead needs a reason." in response.content.decode()
    assert Disposition.objects.get(sale=mine[0]).status == "sold"


def test_the_page_needs_a_login_and_a_tick(client, buyer, sale):
    response = client.post("/my/purchases/dispositions/", {"sale": [sale.pk], "status": "contacted"})
    assert response.status_code == 302 and "/login" in response["Location"]
    client.force_login(buyer)
    response = client.post("/my/purchases/dispositions/", {"status": "contacted"}, follow=True)
    assert "Tick at least one purchase." in response.content.decode()


def csv_upload(client, text: str):
    return client.post(
        "/my/purchases/dispositions/import/",
        {"file": SimpleUploadedFile("d.csv", text.encode(), content_type="text/csv")},
    )


def test_the_csv_applies_valid_rows_and_reports_each_invalid_one_by_line(client, buyer, t0):
    a, b, c = (make_purchase(t0=t0, buyer=buyer) for _ in range(3))
    other = make_purchase(t0=t0)
    client.force_login(buyer)
    text = (
        "purchase_id,disposition,revenue,reason\n"
        f"{a.pk},sold,450.00,\n"
        f"{b.pk},bad,,Disconnected number\n"
        f"{c.pk},sold,,\n"  # no revenue: refused whole
        f"{other.pk},contacted,,\n"  # not mine
        "abc,contacted,,\n"
        f"{c.pk},quoted,12,\n"  # revenue on quoted
    )
    response = csv_upload(client, text)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>2</strong> applied" in page and "<strong>4</strong> refused" in page
    for line in (4, 5, 6, 7):
        assert f'data-line="{line}"' in page
    assert dict(Disposition.objects.values_list("sale_id", "status")) == {a.pk: "sold", b.pk: "bad"}
    assert set(DispositionChange.objects.values_list("channel", flat=True)) == {"csv"}
    assert Disposition.objects.get(sale=a).revenue == D("450")


@pytest.mark.parametrize(
    "text",
    ["", "id,status\n1,sold\n", "purchase_id,disposition\n" + "1,contacted\n" * 1001],
)
def test_a_csv_that_cannot_be_read_as_a_whole_is_refused(client, buyer, sale, text):
    client.force_login(buyer)
    response = csv_upload(client, text) if text else client.post("/my/purchases/dispositions/import/", {})
    assert response.status_code == 400 and 'data-testid="import-refused"' in response.content.decode()
    assert not Disposition.objects.exists()


def test_a_binary_file_is_refused(client, buyer, sale):
    client.force_login(buyer)
    response = client.post(
        "/my/purchases/dispositions/import/", {"file": SimpleUploadedFile("d.csv", b"\xff\xfe\x00bad")}
    )
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
