"""The chain client against the real dev chain (anvil, started by `make test`)."""

import socket

import pytest

from chain.client import ChainDisabled, ChainMisconfigured, ChainUnavailable, chain_id_check, chain_status, chain_web3

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_chain_status_reads_the_dev_chain_id_and_latest_block():
    status = chain_status()
    assert status["chain_id"] == 31337
    assert status["block_number"] >= 0 and status["ok"] is True


def test_chain_web3_is_one_instance_per_process_and_url(settings):
    assert chain_web3() is chain_web3()
    settings.CHAIN_RPC_URL = "http://127.0.0.1:1"
    assert chain_web3() is not None and chain_web3().provider.endpoint_uri == "http://127.0.0.1:1"


def test_a_closed_port_raises_chain_unavailable(settings):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ChainUnavailable):
        chain_status()


def test_an_empty_rpc_url_means_the_chain_is_disabled(settings):
    settings.CHAIN_RPC_URL = ""
    with pytest.raises(ChainDisabled):
        chain_web3()


def test_a_node_on_another_chain_id_is_reported_and_refused(settings):
    settings.CHAIN_ID = 1
    assert chain_status()["chain_id_ok"] is False
    with pytest.raises(ChainMisconfigured):
        chain_id_check(chain_web3())


@pytest.mark.django_db(databases="__all__")
def test_healthz_reports_the_chain_without_failing_when_it_is_down(client, settings):
    settings.CHAIN_HEALTHCHECK = True
    body = client.get("/healthz").json()
    assert body["checks"]["chain"]["ok"] is True and body["checks"]["chain"]["chain_id"] == 31337

    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{_closed_port()}"
    response = client.get("/healthz")
    assert response.json()["checks"]["chain"]["ok"] is False
    assert response.status_code == 200, "a down chain node must not take the marketplace out of rotation"


@pytest.mark.django_db(databases="__all__")
def test_healthz_has_no_chain_check_when_the_chain_is_disabled(client, settings):
    settings.CHAIN_HEALTHCHECK = True
    settings.CHAIN_RPC_URL = ""
    response = client.get("/healthz")
    assert "chain" not in response.json()["checks"] and response.status_code == 200
