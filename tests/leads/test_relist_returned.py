"""A lead its buyer returned (refunded in full) is offered again only as a returned lead: the
seller's lead page offers it once, the new lead is marked, and nobody else can do it."""

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.choices import LeadStatus
from leads.models import Lead
from tests.auctions.factories import make_scored_lead
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _returned():
    lead = make_scored_lead()
    Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.RETURNED, returned_at=timezone.now())
    lead.refresh_from_db()
    return lead


def test_the_seller_offers_a_returned_lead_again_from_its_page(client):
    lead = _returned()
    client.force_login(lead.seller)
    page = client.get(reverse("seller-lead-detail", args=[lead.pk])).content.decode()
    assert 'data-testid="relist-form"' in page and 'data-testid="returned"' in page

    response = client.post(reverse("seller-lead-relist", args=[lead.pk]))
    again = Lead.objects.get(returned_from=lead)
    assert response.status_code == 302 and response["Location"] == reverse("seller-lead-detail", args=[again.pk])
    assert again.status == LeadStatus.RECEIVED and again.returned_at == lead.returned_at
    page = client.get(reverse("seller-lead-detail", args=[lead.pk])).content.decode()
    assert 'data-testid="relist-form"' not in page and f"lead #{again.pk}" in page

    response = client.post(reverse("seller-lead-relist", args=[lead.pk]), follow=True)
    assert "offered again already" in response.content.decode()
    assert Lead.objects.filter(returned_from=lead).count() == 1


def test_only_the_seller_and_only_a_returned_lead(client):
    lead = _returned()
    client.force_login(UserFactory(is_seller=True))
    assert client.post(reverse("seller-lead-relist", args=[lead.pk])).status_code == 404
    sold = make_scored_lead()
    client.force_login(sold.seller)
    response = client.post(reverse("seller-lead-relist", args=[sold.pk]), follow=True)
    assert "Only a lead its buyer returned" in response.content.decode()
    assert not Lead.objects.filter(returned_from__isnull=False).exists()
