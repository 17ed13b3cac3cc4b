"""The inbound disposition webhook (escrow.services.dispositions, POST /hooks/dispositions/<token>/):
signed calls apply all their rows; a wrong signature, a stale timestamp (a replay), an exact
replay, an oversized or malformed body, or any refused row answers a clear 4xx, is stored as an
event, and changes nothing. The recipe in docs/integrations.md is executed as written."""

import json
import re
import time
from pathlib import Path

import pytest

from auctions.models import Disposition, DispositionChange, DispositionWebhookEvent
from escrow.services import dispositions
from tests.escrow.test_purchases import buyer, make_purchase, sale, seller, t0  # noqa: F401 - shared fixtures
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


@pytest.fixture
def hook(buyer):
    webhook = dispositions.disposition_webhook_rotate(buyer=buyer)
    return webhook, dispositions.disposition_webhook_secret(webhook=webhook)


def post(client, webhook, body: bytes, signature: str | None):
    headers = {} if signature is None else {"HTTP_LEADENGINE_SIGNATURE": signature}
    return client.post(f"/hooks/dispositions/{webhook.token}/", data=body, content_type="application/json", **headers)


def signed(secret: str, rows, *, at: int | None = None) -> tuple[bytes, str]:
    body = rows if isinstance(rows, bytes) else json.dumps(rows).encode()
    return body, dispositions.signature_header(secret=secret, body=body, timestamp=at or int(time.time()))


def nothing_changed():
    assert not Disposition.objects.exists() and not DispositionChange.objects.exists()


def test_a_signed_call_applies_every_row_and_is_recorded(client, hook, buyer, t0):
    webhook, secret = hook
    a, b = make_purchase(t0=t0, buyer=buyer), make_purchase(t0=t0, buyer=buyer)
    body, signature = signed(
        secret,
        [
            {"purchase_id": a.pk, "disposition": "sold", "revenue": "450.00"},
            {"purchase_id": str(b.pk), "disposition": "bad", "reason": "Disconnected number"},
        ],
    )
    response = post(client, webhook, body, signature)
    assert response.status_code == 200, response.content
    assert response.json() == {"applied": 2, "unchanged": 0}
    assert dict(Disposition.objects.values_list("sale_id", "channel")) == {a.pk: "webhook", b.pk: "webhook"}
    event = DispositionWebhookEvent.objects.get()
    assert (event.status_code, event.rows, event.applied, event.error_code) == (200, 2, 2, "")
    # The exact same call again is a replay.
    again = post(client, webhook, body, signature)
    assert again.status_code == 409 and again.json()["error"]["code"] == "replayed"
    assert DispositionChange.objects.count() == 2


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no_header", 401, "signature_missing"),
        ("garbage_header", 401, "signature_missing"),
        ("wrong_secret", 401, "signature_invalid"),
        ("body_changed", 401, "signature_invalid"),
        ("stale", 401, "timestamp_out_of_range"),
        ("future", 401, "timestamp_out_of_range"),
        ("malformed_json", 400, "malformed_json"),
        ("not_a_list", 400, "invalid_body"),
        ("empty_list", 400, "invalid_body"),
        ("one_bad_row", 400, "invalid_rows"),
        ("not_mine", 400, "invalid_rows"),
        ("oversized", 413, "payload_too_large"),
    ],
)
def test_every_refusal_is_a_clear_4xx_a_logged_event_and_no_change(client, hook, sale, case, status, code):
    webhook, secret = hook
    other = make_purchase(t0=sale.created_at)
    good = [{"purchase_id": sale.pk, "disposition": "contacted"}]
    now = int(time.time())
    body, signature = signed(secret, good)
    if case == "no_header":
        signature = None
    elif case == "garbage_header":
        signature = "v1=abc"
    elif case == "wrong_secret":
        body, signature = signed("whsec_not-the-secret", good)
    elif case == "body_changed":
        body = body.replace(b"contacted", b"no_answer")
    elif case == "stale":  # well outside the 5-minute window: a slow machine must not bring it back in
        body, signature = signed(secret, good, at=now - 600)
    elif case == "future":
        body, signature = signed(secret, good, at=now + 600)
    elif case == "malformed_json":
        body, signature = signed(secret, b'[{"purchase_id": 1,')
    elif case == "not_a_list":
        body, signature = signed(secret, {"purchase_id": sale.pk, "disposition": "contacted"})
    elif case == "empty_list":
        body, signature = signed(secret, [])
    elif case == "one_bad_row":
        body, signature = signed(secret, [*good, {"purchase_id": sale.pk, "disposition": "sold"}])
    elif case == "not_mine":
        body, signature = signed(secret, [*good, {"purchase_id": other.pk, "disposition": "contacted"}])
    elif case == "oversized":
        body, signature = signed(secret, good + [{"purchase_id": sale.pk, "reason": "x" * 70_000}])
    response = post(client, webhook, body, signature)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if case in ("one_bad_row", "not_mine"):
        assert error["errors"][0]["param"] == "1." + ("revenue" if case == "one_bad_row" else "purchase_id")
    event = DispositionWebhookEvent.objects.get()
    assert (event.status_code, event.error_code, event.applied) == (status, code, 0)
    nothing_changed()


def test_an_unknown_token_is_404_and_a_rotated_secret_stops_working(client, hook, sale, buyer):
    webhook, secret = hook
    body, signature = signed(secret, [{"purchase_id": sale.pk, "disposition": "contacted"}])
    response = client.post("/hooks/dispositions/nope/", data=body, content_type="application/json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "unknown_webhook"
    old_token = webhook.token
    rotated = dispositions.disposition_webhook_rotate(buyer=buyer)
    assert rotated.token != old_token
    assert (
        client.post(f"/hooks/dispositions/{old_token}/", data=body, content_type="application/json").status_code == 404
    )
    assert post(client, rotated, body, signature).status_code == 401
    nothing_changed()


def test_the_page_creates_the_webhook_shows_the_secret_once_and_lists_calls(client, buyer, sale):
    client.force_login(buyer)
    page = client.get("/my/purchases/dispositions/webhook/").content.decode()
    assert 'data-testid="webhook-create"' in page
    page = client.post("/my/purchases/dispositions/webhook/").content.decode()
    secret = re.search(r'data-testid="webhook-secret">([^<]+)<', page).group(1)
    url = re.search(r'data-testid="webhook-url">([^<]+)<', page).group(1)
    body, signature = signed(secret, [{"purchase_id": sale.pk, "disposition": "appointment"}])
    assert (
        client.post(url, data=body, content_type="application/json", HTTP_LEADENGINE_SIGNATURE=signature).status_code
        == 200
    )
    client.post(url, data=b"{", content_type="application/json", HTTP_LEADENGINE_SIGNATURE=signature)
    page = client.get("/my/purchases/dispositions/webhook/").content.decode()
    assert secret not in page
    assert page.count('data-testid="webhook-event"') == 2 and "signature_invalid" in page


def test_another_buyer_cannot_see_the_webhook(client, hook):
    client.force_login(UserFactory(is_buyer=True))
    page = client.get("/my/purchases/dispositions/webhook/").content.decode()
    assert hook[0].token not in page


def test_the_python_recipe_in_the_docs_signs_a_call_we_accept(client, hook, sale):
    webhook, secret = hook
    section = DOC.read_text().split("## Dispositions from your CRM", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    request = namespace["send_dispositions"](
        f"http://testserver/hooks/dispositions/{webhook.token}/",
        secret,
        [{"purchase_id": sale.pk, "disposition": "sold", "revenue": "99.5"}],
    )
    response = client.post(
        f"/hooks/dispositions/{webhook.token}/",
        data=request.data,
        content_type="application/json",
        HTTP_LEADENGINE_SIGNATURE=request.get_header("Leadengine-signature"),
    )
    assert response.status_code == 200, response.content
    assert Disposition.objects.get(sale=sale).status == "sold"
