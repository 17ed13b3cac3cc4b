"""Outbound URLs under the production rules: private, loopback, link-local and reserved addresses
are refused after DNS resolution, at send time; the production profile pins the rules on."""

import os
import socket
import subprocess
import sys

import pytest

from integrations import outbound
from integrations.models import Delivery
from integrations.services import deliveries
from tests.integrations.helpers import ready_purchase, webhook_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_rules(settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_URLS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://10.1.2.3/hook",
        "http://10.255.255.254:8443/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 spelled as a number
        "http://0.0.0.0/hook",
        "http://192.168.1.1/hook",
        "http://100.64.0.1/hook",
        "http://localhost/hook",  # a name that resolves to loopback
    ],
)
def test_private_loopback_and_link_local_targets_are_refused(production_rules, url):
    with pytest.raises(outbound.UrlRefused):
        outbound.post(url=url, body=b"{}", headers={})


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.7", "169.254.169.254"])
def test_a_host_name_resolving_to_a_private_address_is_refused(production_rules, monkeypatch, address):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # the DNS answer of a hostile name (rebinding to the inside)
        if host == "hooks.attacker.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(outbound.UrlRefused, match=address):
        outbound.post(url="http://hooks.attacker.example/hook", body=b"{}", headers={})


def test_public_addresses_pass_the_check():
    assert outbound.address_allowed("93.184.216.34")
    assert outbound.address_allowed("2606:2800:220:1:248:1893:25c8:1946")
    assert not outbound.address_allowed("::ffff:10.0.0.1")
    assert not outbound.address_allowed("224.0.0.1")


def test_a_refused_target_is_dead_lettered_at_once_and_nothing_is_sent(production_rules, receiver):
    sale = ready_purchase()
    webhook_to(receiver.url("/ok"), owner=sale.buyer)  # 127.0.0.1: allowed when created in tests
    [delivery_id] = deliveries.deliveries_create_for_sale(sale_id=sale.pk)
    assert deliveries.delivery_attempt(delivery_id=delivery_id).state == "dead"
    delivery = Delivery.objects.get(pk=delivery_id)
    assert delivery.attempt_log.get().outcome == "refused" and "127.0.0.1" in delivery.last_error
    assert receiver.requests == []


def test_https_only_when_required(settings):
    settings.INTEGRATIONS_REQUIRE_HTTPS = True
    with pytest.raises(outbound.UrlRefused):
        outbound.check_url("http://hooks.example.com/x")
    outbound.check_url("https://hooks.example.com/x")
    with pytest.raises(outbound.UrlRefused):
        outbound.check_url("https://user:pw@hooks.example.com/x")


def test_the_production_profile_refuses_private_urls_and_plain_http():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "INTEGRATIONS_ALLOW_PRIVATE_URLS": "true",  # pinned off whatever the environment says
    }
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.INTEGRATIONS_ALLOW_PRIVATE_URLS, s.INTEGRATIONS_REQUIRE_HTTPS)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
