"""The API keeps its published contract: Schemathesis (pinned in requirements-dev.txt) fuzzes every
operation of /api/schema/ with every check, once with a seller's key and once with a buyer's key,
against the Procfile's web server on the test database, and any finding fails the test.

The run prints Schemathesis' own report: each failure with the curl command that reproduces it, and
the seed. SCHEMATHESIS_SEED=<n> replays a run; SCHEMATHESIS_MAX_EXAMPLES raises the examples per
operation (the default keeps `make test` quick and still reaches every operation in every phase).
"""

import os
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.services import api_key_create
from auctions.services.auctions import ask_create
from auctions.services.autobid import autobid_rule_create
from chain.client import chain_web3
from chain.deploy import marketplace_deploy
from tests.asgi_server import AsgiServer
from tests.auctions.factories import funded_buyer, make_auction
from tests.auctions.factories_bounties import list_for_buy_now, make_bounty, sell_by_auction
from tests.factories import UserFactory
from verticals.services import vertical_upsert

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "schemathesis.toml"
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "12"))


@pytest.fixture
def marketplace_with_data():
    """A seller and a buyer with API keys, and one of each thing the API shows them, so the fuzzer
    meets real rows (ids 1… are drawn often) as well as missing ones."""
    vertical = vertical_upsert(
        slug="solar",
        name="Solar",
        reserve_price=10,
        quality_floor=0,
        fields=[
            {"key": "homeowner", "label": "Homeowner", "type": "boolean", "biddable": True},
            {
                "key": "roof_age_years",
                "label": "Roof age",
                "type": "integer",
                "min_value": 0,
                "max_value": 100,
                "biddable": True,
            },
        ],
    )
    seller = UserFactory(is_seller=True)
    buyer = funded_buyer(Decimal("100000"))
    t0 = timezone.now()
    make_auction(seller=seller, vertical=vertical)
    sell_by_auction(t0=t0, seller=seller, vertical=vertical, buyer=buyer)
    list_for_buy_now(t0=t0, seller=seller, vertical=vertical)
    ask_create(seller=seller, vertical=vertical, reserve_price=Decimal("12"))
    make_bounty(vertical=vertical, buyer=buyer)
    autobid_rule_create(
        buyer=buyer,
        name="solar",
        vertical=vertical,
        max_bid=Decimal("20"),
        daily_budget=Decimal("200"),
        daily_lead_cap=10,
    )
    marketplace_deploy(w3=chain_web3())  # withdrawals need the vault
    return {
        "seller": api_key_create(user=seller, name="fuzz").secret,
        "buyer": api_key_create(user=buyer, name="fuzz").secret,
    }


@pytest.fixture
def web_server(tmp_path, marketplace_with_data):
    env = {
        "RATE_LIMIT_ENABLED": "false",
        # Tasks the fuzzed requests queue go to a broker no worker reads.
        "CELERY_BROKER_URL": settings.TEST_SPARE_REDIS_URL,
    }
    # The API as production serves it: the Procfile's `web` (WSGI workers).
    server = AsgiServer(connection.settings_dict["NAME"], tmp_path / "web.log", env=env, process="web")
    yield server
    server.stop()


def _schemathesis(server: AsgiServer, key: str, seed: int, report: Path) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{server.url}/api/schema/",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(seed),
        "--header",
        f"Authorization: Api-Key {key}",
        # One worker thread per run (the two roles already run as two processes, one per core):
        # Hypothesis parses lambda sources with ast.parse, and on CPython 3.11 two threads doing
        # that at once can fail with "SystemError: AST constructor recursion depth mismatch"
        # (python/cpython#106905), which Schemathesis reports as an error of the operation.
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
        "--no-color",
        # The API refuses NUL characters anywhere (docs/api.md); the schema cannot say so of every string.
        "--generation-allow-x00",
        "false",
        "--generation-database",
        "none",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=report.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"},
    )


def test_schemathesis_finds_nothing_with_a_sellers_or_a_buyers_key(web_server, marketplace_with_data, tmp_path):
    seed = int(os.environ.get("SCHEMATHESIS_SEED") or random.randrange(2**31))
    started = time.monotonic()
    runs = {}
    for role, key in marketplace_with_data.items():
        report = tmp_path / f"schemathesis-{role}.txt"
        runs[role] = (_schemathesis(web_server, key, seed, report), report)
    failed = []
    for role, (process, report) in runs.items():
        code = process.wait(timeout=600)
        print(f"\n===== Schemathesis with the {role}'s key (seed {seed}, exit {code}) =====")
        print(report.read_text())
        if code != 0:
            failed.append(role)
    print(f"Schemathesis took {time.monotonic() - started:.0f} s; replay with SCHEMATHESIS_SEED={seed}")
    assert not failed, (
        f"Schemathesis found failures with the {' and '.join(failed)} key(s); "
        f"replay with SCHEMATHESIS_SEED={seed} (the reports are printed above)"
    )
