"""PII key rotation and the vault's authenticated encryption."""

import base64
import io

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import CommandError, call_command
from django.test import override_settings

from leads import vault
from leads.models import LeadPII
from leads.selectors import lead_pii_read
from leads.services import Outcome, lead_submit
from leads.vault_rotation import pii_rotate, pii_rows_needing_rotation
from tests.leads.conftest import make_lead

pytestmark = pytest.mark.django_db

NEW_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def leads(seller_user, solar, settings):
    assert settings.PII_ACTIVE_KEY_ID == "test1"
    created = []
    for i in range(7):
        result = lead_submit(
            seller=seller_user,
            data=make_lead(email=f"rot{i}@gmail.com", phone=f"+1415555{6000 + i}", first_name=f"Zoë{i}"),
            source="api",
        )
        assert result.outcome == Outcome.CREATED
        created.append(result.lead)
    return created


@pytest.fixture
def two_keys(settings):
    """The old (test profile) key still configured, a new one active."""
    with override_settings(PII_KEYS=f"{settings.PII_KEYS},k2:{NEW_KEY}", PII_ACTIVE_KEY_ID="k2"):
        yield


def plaintexts(leads) -> dict:
    return {lead.pk: lead_pii_read(lead=LeadPII.objects.get(pk=lead.pk).lead) for lead in leads}


def test_rotation_reseals_old_rows_under_the_new_key_and_decrypts_the_same(leads, settings):
    before = plaintexts(leads)
    old_blobs = {p.pk: bytes(p.ciphertext) for p in LeadPII.objects.all()}
    assert set(LeadPII.objects.values_list("key_id", flat=True)) == {"test1"}
    with override_settings(PII_KEYS=f"{settings.PII_KEYS},k2:{NEW_KEY}", PII_ACTIVE_KEY_ID="k2"):
        assert pii_rows_needing_rotation() == 7
        assert pii_rotate(batch_size=3) == 7  # three batches: 3, 3, 1
        assert set(LeadPII.objects.values_list("key_id", flat=True)) == {"k2"}
        assert all(bytes(p.ciphertext) != old_blobs[p.pk] for p in LeadPII.objects.all())
        assert plaintexts(leads) == before
        assert before[leads[0].pk]["first_name"] == "Zoë0"
    # Once rotated, the old key can go.
    with override_settings(PII_KEYS=f"k2:{NEW_KEY}", PII_ACTIVE_KEY_ID="k2"):
        assert plaintexts(leads) == before


def test_running_rotation_twice_does_nothing(leads, two_keys):
    assert pii_rotate() == 7
    blobs = {p.pk: bytes(p.ciphertext) for p in LeadPII.objects.all()}
    assert pii_rotate() == 0
    assert {p.pk: bytes(p.ciphertext) for p in LeadPII.objects.all()} == blobs


def test_rows_already_under_the_active_key_are_left_alone(leads, two_keys):
    first = LeadPII.objects.get(pk=leads[0].pk)
    key_id, blob = vault.seal(lead_pii_read(lead=first.lead), context=str(first.pk))
    LeadPII.objects.filter(pk=first.pk).update(key_id=key_id, ciphertext=blob)
    assert pii_rotate() == 6
    assert bytes(LeadPII.objects.get(pk=first.pk).ciphertext) == blob


def test_without_a_new_active_key_there_is_nothing_to_rotate(leads):
    assert pii_rotate() == 0


def test_the_command_prints_counts(leads, two_keys):
    out = io.StringIO()
    call_command("pii_rotate_keys", "--batch-size", "2", stdout=out)
    text = out.getvalue()
    assert "7 row(s) under other keys" in text and "Re-encrypted 7 row(s); 0 remain" in text
    out = io.StringIO()
    call_command("pii_rotate_keys", stdout=out)
    assert "Re-encrypted 0 row(s); 0 remain" in out.getvalue()


def test_a_tampered_row_is_skipped_reported_and_the_rest_rotate(leads, two_keys):
    bad = LeadPII.objects.get(pk=leads[3].pk)
    blob = bytearray(bytes(bad.ciphertext))
    blob[-1] ^= 0x01
    LeadPII.objects.filter(pk=bad.pk).update(ciphertext=bytes(blob))
    assert pii_rotate(batch_size=2) == 6
    assert LeadPII.objects.get(pk=bad.pk).key_id == "test1"
    with pytest.raises(CommandError, match="1 row"):
        call_command("pii_rotate_keys", stdout=io.StringIO())


def test_a_tampered_ciphertext_fails_authentication(leads):
    pii = LeadPII.objects.get(pk=leads[0].pk)
    blob = bytes(pii.ciphertext)
    for position in (0, len(blob) // 2, len(blob) - 1):  # nonce, body, tag
        tampered = bytearray(blob)
        tampered[position] ^= 0x80
        with pytest.raises(InvalidTag):
            vault.open_sealed(key_id=pii.key_id, blob=bytes(tampered), context=str(pii.pk))
    with pytest.raises(InvalidTag):
        vault.open_sealed(key_id=pii.key_id, blob=blob[:-1], context=str(pii.pk))


def test_a_ciphertext_moved_to_another_lead_fails_authentication(leads):
    pii = LeadPII.objects.get(pk=leads[0].pk)
    with pytest.raises(InvalidTag):
        vault.open_sealed(key_id=pii.key_id, blob=pii.ciphertext, context=str(leads[1].pk))
    # Swapping two rows' blobs in the database is caught on read, too.
    other = LeadPII.objects.get(pk=leads[1].pk)
    LeadPII.objects.filter(pk=other.pk).update(ciphertext=bytes(pii.ciphertext))
    with pytest.raises(InvalidTag):
        lead_pii_read(lead=LeadPII.objects.get(pk=other.pk).lead)


def test_the_wrong_key_fails_authentication(leads, two_keys):
    pii = LeadPII.objects.get(pk=leads[0].pk)
    with pytest.raises(InvalidTag):
        vault.open_sealed(key_id="k2", blob=pii.ciphertext, context=str(pii.pk))


def test_a_missing_key_is_a_configuration_error_not_a_silent_failure(leads):
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(PII_KEYS=f"k2:{NEW_KEY}", PII_ACTIVE_KEY_ID="k2"):
        with pytest.raises(ImproperlyConfigured, match="test1"):
            lead_pii_read(lead=leads[0])
        with pytest.raises(ImproperlyConfigured):
            pii_rotate()
