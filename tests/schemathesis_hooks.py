"""What Schemathesis cannot read from the schema, taught once (SCHEMATHESIS_HOOKS=tests.schemathesis_hooks,
loaded by tests/marketplace/test_api_contract_fuzz.py).

- Formats whose values only the server or a checksum can make: a pagination `cursor` (a token from
  a `next`/`previous` link), a `lead-cursor` (signed by the server; the empty one means the first
  page) and an `eip55-address` (a checksummed Ethereum address).
- An Idempotency-Key names one request: a valid key the generator drew is made unique, so two
  different requests never share one (the server answers that with 422, as it should).

Rules between inputs that JSON Schema cannot state are listed per operation in tests/schemathesis.toml.
"""

import base64
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import schemathesis
from eth_utils import to_checksum_address
from hypothesis import strategies as st


def _cursor(position: datetime, reverse: bool, offset: int) -> str:
    tokens = {"p": position.isoformat()}
    if reverse:
        tokens["r"] = "1"
    if offset:
        tokens["o"] = str(offset)
    return base64.b64encode(urlencode(tokens).encode()).decode()


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
