"""What Schemathesis cannot read from the schema, taught once (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks,
loaded by tests/core/test_api_contract_fuzz.py).

- Formats whose values only the server or a checksum can make: a pagination `cursor` (a token from
  a `next`/`previous` link, signed: made here with the server's secret), a `lead-cursor` (signed by the server; the empty one means the first
  page) and an `eip55-address` (a checksummed Ethereum address).
- An Idempotency-Key names one request: a valid key the generator drew is made unique, so two
  different requests never share one (the server answers that with 422, as it should).

Rules between inputs that JSON Schema cannot state are listed per operation in tests/schemathesis.toml.
"""

import os
import re
import uuid
from datetime import UTC, datetime

import django
import schemathesis
from eth_utils import to_checksum_address
from hypothesis import strategies as st

# Cursors are signed with the server's secret (core.paging, the one cursor codec): the same
# settings and secret key as the server under test, which this process inherits.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from core.paging import cursor_dumps  # noqa: E402  (needs the settings above)


def _cursor(position: datetime, reverse: bool, offset: int) -> str:
    return cursor_dumps({"o": offset, "r": reverse, "p": position.isoformat()}, kind="api")


schemathesis.openapi.format(
    "cursor",
    st.builds(
        _cursor,
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
        st.booleans(),
        st.integers(min_value=0, max_value=5),
    ),
)
schemathesis.openapi.format("lead-cursor", st.just(""))
schemathesis.openapi.format(
    "eip55-address",
    st.binary(min_size=20, max_size=20).filter(any).map(lambda raw: to_checksum_address("0x" + raw.hex())),
)


IDEMPOTENCY_KEY = re.compile(r"^[!-~](?:[ -~]{0,198}[!-~])?$")


@schemathesis.hook
def map_headers(context, headers):
    key = (headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.fullmatch(key):
        headers["Idempotency-Key"] = uuid.uuid4().hex
    return headers
