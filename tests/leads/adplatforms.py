"""Helpers of the ad-platform intake tests (tests/leads/test_adplatforms_*.py)."""

import json

from leads.adplatforms.connections import ad_connection_create, connection_secrets

GOOGLE_FORM = "40000000001"
META_FORM = "1122334455"
CONSENT = "By submitting this form I agree to be contacted about solar quotes."

MAPPING_GOOGLE = {
    "full_name": "FULL_NAME",
    "email": "EMAIL",
    "phone": "PHONE_NUMBER",
    "street_address": "STREET_ADDRESS",
    "city": "CITY",
    "state": "REGION",
    "zip": "POSTAL_CODE",
    "fields.homeowner": "do_you_own_your_home?",
    "fields.monthly_electric_bill": "monthly_electric_bill",
    "fields.roof_type": "roof_type",
}
MAPPING_META = {
    "full_name": "full_name",
    "email": "email",
    "phone": "phone_number",
    "street_address": "street_address",
    "city": "city",
    "state": "state",
    "zip": "zip_code",
    "fields.homeowner": "homeowner",
    "fields.monthly_electric_bill": "monthly_electric_bill",
}


def google_connection(seller, vertical, **overrides):
    kwargs = {
        "seller": seller,
        "platform": "google",
        "vertical": vertical,
        "name": "Google solar form",
        "form_ids": [GOOGLE_FORM],
        "consent_text": CONSENT,
        "mapping": MAPPING_GOOGLE,
    } | overrides
    return ad_connection_create(**kwargs)


def meta_connection(seller, vertical, **overrides):
    kwargs = {
        "seller": seller,
        "platform": "meta",
        "vertical": vertical,
        "name": "Meta solar form",
        "form_ids": [META_FORM],
        "consent_text": CONSENT,
        "mapping": MAPPING_META,
        "app_secret": "meta-app-secret-for-tests",
        "page_access_token": "page-token-for-tests",
    } | overrides
    return ad_connection_create(**kwargs)


def google_payload(
    connection,
    *,
    lead_id="TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    is_test=False,
    email="maria.garcia@gmail.com",
    phone="+14155552671",
    **overrides,
) -> dict:
    payload = {
        "lead_id": lead_id,
        "user_column_data": [
            {"column_name": "Full Name", "string_value": "Maria Garcia", "column_id": "FULL_NAME"},
            {"column_name": "User Email", "string_value": email, "column_id": "EMAIL"},
            {"column_name": "User Phone", "string_value": phone, "column_id": "PHONE_NUMBER"},
            {"column_name": "Street address", "string_value": "1 Market St", "column_id": "STREET_ADDRESS"},
            {"column_name": "City", "string_value": "San Francisco", "column_id": "CITY"},
            {"column_name": "Region", "string_value": "CA", "column_id": "REGION"},
            {"column_name": "Postal code", "string_value": "94105", "column_id": "POSTAL_CODE"},
            {"column_name": "Do you own your home?", "string_value": "Yes", "column_id": "do_you_own_your_home?"},
            {"column_name": "Monthly electric bill", "string_value": "240", "column_id": "monthly_electric_bill"},
            {"column_name": "Roof type", "string_value": "metal", "column_id": "roof_type"},
        ],
        "api_version": "1.0",
        "form_id": int(GOOGLE_FORM),
        "campaign_id": 123456,
        "google_key": connection_secrets(connection=connection).google_key,
        "is_test": is_test,
        "gcl_id": "gclid-for-tests",
        "adgroup_id": 20000000000,
        "creative_id": 30000000000,
    }
    payload.update(overrides)
    return payload


def post_json(client, url, payload, **extra):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", REMOTE_ADDR="74.125.0.10", **extra)
