"""Whatever a client sends to the ingestion endpoints, the answer is a 2xx, a 409, or a 4xx whose JSON
names what is wrong — never a 5xx — and a 400 stores nothing. Property-based (hypothesis)."""

import itertools
import json

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from leads.models import Lead, LeadPII
from leads.selectors import lead_pii_read
from leads.services import Outcome, _store, lead_submit
from leads.validation import TOP_LEVEL_KEYS, _path_label, check_lead_input
from tests.api_errors import api_error
from tests.leads.conftest import make_lead
from verticals.selectors import vertical_fields_effective
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db

URL, BULK = "/api/v1/leads/", "/api/v1/leads/bulk/"
FAST = hsettings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SLOWER = hsettings(FAST, max_examples=40)
_unique = itertools.count(1)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.RATE_LIMIT_ENABLED = False  # hundreds of requests per test; the limiter has its own tests


@pytest.fixture
def probe(solar):
    """A vertical whose number fields have no bounds (solar's all have)."""
    return vertical_upsert(
        slug="probe",
        name="Probe",
        quality_floor=0,
        fields=[
            {"key": "count", "label": "Count", "type": "integer"},
            {"key": "amount", "label": "Amount", "type": "decimal"},
            {"key": "note", "label": "Note", "type": "text"},
            {"key": "colours", "label": "Colours", "type": "multi_choice", "choices": ["red", "green"]},
            {"key": "day", "label": "Day", "type": "date"},
            {"key": "home_zip", "label": "ZIP", "type": "us_zip"},
            {"key": "ok", "label": "OK", "type": "boolean"},
        ],
    )


def fresh_contact() -> dict:
    n = next(_unique)
    return {"email": f"fuzz{n}@gmail.com", "phone": None}


def post_raw(client, url: str, body: bytes, content_type: str = "application/json"):
    return client.generic("POST", url, body, content_type=content_type)


def assert_sane(response) -> dict | list | None:
    """2xx, or a 4xx with the error envelope saying what is wrong; never a 5xx."""
    code = response.status_code
    assert code < 500, response.content[:500]
    assert code in (200, 201) or 400 <= code < 500, code
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    if 400 <= code < 500:
        error = api_error(response)
        assert error["message"] and all(
            isinstance(e["param"], str) and e["param"] for e in error["errors"] if e["param"] is not None
        ), error
    return response.json()


def errors_of(body: dict) -> dict:
    """{param: [messages]} from an error envelope's body."""
    params: dict = {}
    for item in body["error"]["errors"]:
        params.setdefault(item["param"], []).append(item["message"])
    return params


def submit(client, url: str, payload, nothing_stored_on_400: bool = True):
    before = Lead.objects.count()
    response = client.post(url, json.dumps(payload), content_type="application/json")
    body = assert_sane(response)
    if response.status_code == 400 and nothing_stored_on_400:
        assert Lead.objects.count() == before
    return response, body


# ---------------------------------------------------------------- bytes, content types, any JSON


@FAST
@given(raw=st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
@example(raw=b"{")
@example(raw=b'{"vertical": "solar-residential",}')
@example(raw=b"NaN")
@example(raw=b'{"a": Infinity}')
@example(raw=b"\xff\xfe{}")
@example(raw=b'"\\ud800"')
@example(raw=b'{"first_name": "\\udc00x", "vertical": "solar-residential"}')
@example(raw=b'{"\\ud800": 1}')
@example(raw=b"[" * 100_000 + b"]" * 100_000)
@example(raw=b"[" * 40 + b"]" * 40)
@example(raw=b'{"leads": ' + b"[" * 5000 + b"]" * 5000 + b"}")
@example(raw=b"1" * 5000)
def test_malformed_bytes_are_a_4xx(seller_api, solar, raw):
    for url in (URL, BULK):
        before = Lead.objects.count()
        response = post_raw(seller_api, url, raw)
        assert_sane(response)
        assert Lead.objects.count() == before or response.status_code != 400


@FAST
@given(
    content_type=st.sampled_from(
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml",
            "text/csv",
            "application/octet-stream",
            "application/jsonx",
            "",
            "image/png",
        ]
    ),
    body=st.sampled_from([b"", b"vertical=solar-residential", json.dumps(make_lead()).encode()]),
)
def test_wrong_content_types_are_a_4xx(seller_api, solar, content_type, body):
    for url in (URL, BULK):
        response = post_raw(seller_api, url, body, content_type)
        assert 400 <= response.status_code < 500
        assert_sane(response)
    assert not Lead.objects.exists()


@SLOWER
@given(value=json_values)
def test_any_json_value_is_answered_sanely(seller_api, solar, value):
    submit(seller_api, URL, value)
    submit(seller_api, BULK, value)
    submit(seller_api, BULK, {"leads": value})
    if isinstance(value, list) and value:
        response, body = submit(seller_api, BULK, {"leads": value[:500]})
        assert response.status_code == 200
        assert [r["index"] for r in body["results"]] == list(range(len(value[:500])))


# ---------------------------------------------------------------- leads with wrong parts


def _maybe(valid, strategy=json_values):
    return st.one_of(st.just(valid), strategy)


def lead_with_random_parts():
    base = make_lead()
    consent = st.fixed_dictionaries({k: _maybe(v) for k, v in base["consent"].items()})
    fields = st.fixed_dictionaries({k: _maybe(v) for k, v in base["fields"].items()})
    top = {k: _maybe(v) for k, v in base.items() if k not in ("consent", "fields", "vertical")}
    return st.fixed_dictionaries(
        {
            **top,
            "vertical": _maybe("solar-residential"),
            "consent": _maybe(None, consent),
            "fields": _maybe(None, fields),
        }
    )


@SLOWER
@given(data=lead_with_random_parts())
def test_random_types_in_every_field_never_break_ingestion(seller_api, solar, data):
    data = {k: v for k, v in data.items() if v is not None}
    response, body = submit(seller_api, URL, data)
    if response.status_code == 400:
        assert body["error"]["code"] == "validation_error" and body["error"]["errors"]
    bulk, body = submit(seller_api, BULK, {"leads": [data, data]})
    assert bulk.status_code == 200 and len(body["results"]) == 2


@FAST
@given(
    fields=st.dictionaries(
        st.sampled_from(["count", "amount", "note", "colours", "day", "home_zip", "ok", "zzz"]),
        json_values
        | st.sampled_from(
            [
                "1e9999999",
                "-1e9999999",
                "1e-9999999",
                "1" * 60,
                "NaN",
                "sNaN",
                "-Infinity",
                "1,000.5",
                "0x10",
                "٣",
                "94105",
                "٩٤١٠٥",
                "2026-02-30",
                "red, green",
                "true",
            ]
        ),
        max_size=7,
    )
)
@example(fields={"amount": "1e9999999"})
@example(fields={"count": "1e999999999999999999"})
@example(fields={"amount": "12345678901234567890.5"})
@example(fields={"home_zip": "٩٤١٠٥"})
def test_vertical_fields_of_any_value_never_break_ingestion(seller_api, probe, fields):
    submit(seller_api, URL, make_lead(vertical="probe", fields=fields, **fresh_contact()))


@FAST
@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=30).filter(lambda k: k not in TOP_LEVEL_KEYS), json_values, min_size=1, max_size=3
    )
)
def test_unknown_fields_are_named_and_refused(seller_api, solar, extra):
    response, body = submit(seller_api, URL, {**make_lead(**fresh_contact()), **extra})
    assert response.status_code == 400
    assert {_path_label(key) for key in extra} <= set(errors_of(body))


TEXT_FIELDS = [
    "external_id",
    "campaign",
    "sub_id",
    "first_name",
    "last_name",
    "street_address",
    "city",
    "email",
    "phone",
    "state",
    "zip",
    "country",
]


@FAST
@given(
    field=st.sampled_from(
        TEXT_FIELDS + ["consent.text", "consent.user_agent", "consent.page_url", "consent.ip", "fields.roof_type"]
    ),
    size=st.integers(min_value=5_001, max_value=400_000),
    char=st.sampled_from(["x", "é", "💥", " ", "-"]),
)
def test_huge_strings_are_refused_naming_the_field(seller_api, solar, field, size, char):
    data = make_lead(**fresh_contact())
    target, _, key = field.rpartition(".")
    (data[target] if target else data)[key] = "a" + char * size + "b"  # inner: strip() does not shorten it
    response, body = submit(seller_api, URL, data)
    assert response.status_code in (400, 413)  # 413 once the body itself is over LEAD_MAX_BODY_BYTES
    if response.status_code == 400:
        assert field in errors_of(body)


@FAST
@given(count=st.integers(min_value=501, max_value=3_000), item=st.sampled_from([{}, 1, None, "x", []]))
def test_bulk_arrays_over_500_are_refused(seller_api, solar, count, item):
    response, body = submit(seller_api, BULK, {"leads": [item] * count})
    assert response.status_code == 400 and "leads" in errors_of(body)
    assert "500" in errors_of(body)["leads"][0]


# ---------------------------------------------------------------- text that must be kept intact

names = st.text(alphabet=st.characters(categories=["L", "M", "So", "Sk", "Nd"]), min_size=1, max_size=60).filter(
    lambda s: s == s.strip() and s[0].isprintable()
)


@SLOWER
@given(first=names, last=names)
@example(first="张伟", last="欧阳")
@example(first="محمد", last="الفارسي")
@example(first="Ελένη", last="Παπαδοπούλου")
@example(first="Дмитрий", last="Сергеевич")
@example(first="Ñandú", last="Ærøskøbing-Łódź")
@example(first="👩‍👩‍👧‍👦", last="🦄🌞")
@example(first="José", last="Nguyễn")  # combining marks, not precomposed
def test_non_latin_and_emoji_names_are_accepted_and_stored_intact(seller_api, solar, first, last):
    response, body = submit(seller_api, URL, make_lead(first_name=first, last_name=last, **fresh_contact()))
    assert response.status_code == 201, body
    stored = lead_pii_read(lead=Lead.objects.get(pk=body["id"]))
    assert (stored["first_name"], stored["last_name"]) == (first, last)


HOSTILE = [
    "<script>alert(document.cookie)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "'; DROP TABLE leads_lead; --",
    "1' OR '1'='1",
    "Robert'); DROP TABLE students;--",
    "%s%s%s %(x)s {0} ${x}",
    "{{ 7*7 }} {% debug %}",
    "\\x00\\n",
    "../../../etc/passwd",
    "UNION SELECT password FROM marketplace_user",
]


@FAST
@given(
    text=st.sampled_from(HOSTILE),
    field=st.sampled_from(
        [
            "campaign",
            "sub_id",
            "external_id",
            "first_name",
            "last_name",
            "street_address",
            "city",
            "consent.text",
            "consent.user_agent",
            "fields.note",
        ]
    ),
)
def test_script_and_sql_text_is_stored_intact_and_never_executed(seller_api, probe, text, field):
    data = make_lead(vertical="probe", fields={}, **fresh_contact())
    target, _, key = field.rpartition(".")
    (data[target] if target else data)[key] = text
    response, body = submit(seller_api, URL, data)
    assert response.status_code == 201, body
    lead = Lead.objects.get(pk=body["id"])
    stored = {
        "campaign": lead.campaign,
        "sub_id": lead.sub_id,
        "external_id": lead.external_id,
        "city": lead.city,
        "consent.text": lead.consent_text,
        "consent.user_agent": lead.consent_user_agent,
        "fields.note": lead.fields.get("note"),
        **lead_pii_read(lead=lead),
    }
    assert stored[field] == text
    assert Lead.objects.filter(pk=lead.pk).exists() and LeadPII.objects.filter(lead=lead).exists()


@FAST
@given(
    phone=st.from_regex(r"\A[0-9]{1,6}\Z")
    | st.text(alphabet="()-. +#*", min_size=1, max_size=20)
    | st.sampled_from(
        [
            "+1 999 876 5432",
            "+1 (800) 555-0100",
            "+1 900 555 0199",
            "000-000-0000",
            "+44",
            "+1 415 555 267",
            "4155552671x" + "9" * 40,
            "١٢٣",
            "+٤١٥٥٥٥٢٦٧١",
            "+999 1234567",
        ]
    )
)
def test_invalid_phones_are_refused_naming_phone(seller_api, solar, phone):
    response, body = submit(seller_api, URL, make_lead(phone=phone, email=None))
    assert response.status_code == 400
    assert "phone" in errors_of(body)


# ---------------------------------------------------------------- limits and specific past 500s


def test_a_body_over_the_limit_is_413_even_when_the_lead_is_valid(seller_api, solar, settings):
    settings.LEAD_MAX_BODY_BYTES = 64 * 1024
    body = json.dumps(make_lead()).encode()
    padded = body[:-1] + b" " * (settings.LEAD_MAX_BODY_BYTES - len(body) + 1) + b"}"
    assert len(padded) == settings.LEAD_MAX_BODY_BYTES + 1
    for url in (URL, BULK):
        response = post_raw(seller_api, url, padded)
        assert response.status_code == 413
        assert_sane(response)
    assert not Lead.objects.exists()
    just_fits = body[:-1] + b" " * (settings.LEAD_MAX_BODY_BYTES - len(body)) + b"}"
    assert post_raw(seller_api, URL, just_fits).status_code == 201


@pytest.mark.parametrize("megabytes", [3, 12])
def test_a_body_over_djangos_upload_limit_is_a_json_413_too(seller_api, solar, settings, megabytes):
    assert megabytes * 1024 * 1024 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    raw = b'{"leads": [' + b" " * (megabytes * 1024 * 1024) + b"]}"
    for url in (URL, BULK):
        response = post_raw(seller_api, url, raw)
        assert response.status_code == 413
        assert "bytes" in assert_sane(response)["error"]["message"]


def test_the_default_body_limit_refuses_a_big_bulk(seller_api, solar, settings):
    assert settings.LEAD_MAX_BODY_BYTES == 2 * 1024 * 1024
    lead = make_lead(consent={**make_lead()["consent"], "text": "I agree. " * 500})
    raw = json.dumps({"leads": [lead] * 500}).encode()
    assert len(raw) > settings.LEAD_MAX_BODY_BYTES
    response = post_raw(seller_api, BULK, raw)
    assert response.status_code == 413
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "vertical", ["solar\x00residential", "\ud800", "x" * 81, "solar residential", "ſolar", "../solar"]
)
def test_odd_vertical_slugs_are_an_unknown_vertical(seller_api, solar, vertical):
    payload = json.dumps(make_lead(vertical=vertical))  # ensure_ascii: a surrogate travels as \ud800
    response = post_raw(seller_api, URL, payload.encode())
    body = assert_sane(response)
    assert response.status_code in (400, 404)  # 400: a string the JSON parser refuses (the lone surrogate)
    assert body["error"]["param"] == "vertical" or body["error"]["code"] == "parse_error"


@pytest.mark.parametrize("ip", ["fe80::1%eth0", "fe80::1%1", "1.2.3.4/32", "::ffff:999.1.1.1", "1.2.3"])
def test_consent_ips_postgres_cannot_store_are_refused(seller_api, solar, ip):
    data = make_lead()
    data["consent"]["ip"] = ip
    response, body = submit(seller_api, URL, data)
    assert response.status_code == 400 and "consent.ip" in errors_of(body)


@pytest.mark.parametrize("zip_code", ["٩٤١٠٥", "９４１０５", "9410５", "94105-12345", "94105 1234"])
def test_zip_codes_in_other_digits_are_refused(seller_api, solar, zip_code):
    response, body = submit(seller_api, URL, make_lead(zip=zip_code))
    assert response.status_code == 400 and "zip" in errors_of(body)


def test_control_characters_are_stripped_not_stored(seller_api, solar):
    response, body = submit(seller_api, URL, make_lead(campaign="spr\x00ing\x07", city="San\x1b Francisco"))
    assert response.status_code == 201
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.campaign, lead.city) == ("spring", "San Francisco")


@pytest.mark.parametrize("blank", [" ", "\t", "\x00", "   \x07 "])
def test_a_blank_phone_without_email_is_no_contact_at_all(seller_api, solar, blank):
    response, body = submit(seller_api, URL, make_lead(phone=blank, email=None))
    assert response.status_code == 400
    assert errors_of(body)["phone"] == ["A phone number or an email address is required."]


def test_a_lead_without_contact_never_dedupes_against_every_lead(seller_user, solar):
    """Defence in depth below validation: no phone and no email hash must not match everything."""
    assert lead_submit(seller=seller_user, data=make_lead(), source="api").outcome == Outcome.CREATED
    schema = [ef.field for ef in vertical_fields_effective(vertical=solar)]
    clean = check_lead_input(make_lead(email="other@gmail.com", phone=None), schema=schema, allow_keys={"vertical"})
    clean.email = ""
    result = _store(seller=seller_user, vertical=solar, clean=clean, source="api", now=timezone.now())
    assert result.outcome == Outcome.CREATED
