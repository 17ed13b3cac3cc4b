"""docs/integrations.md's verification snippet, executed as written, accepts our signature and
refuses a tampered body, another secret and an old timestamp."""

import re
import time
from pathlib import Path

from integrations.payload import signature_header

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def _snippet() -> dict:
    section = DOC.read_text().split("## Delivering purchases into the buyer's systems", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace


def test_the_documented_verification_accepts_our_signature_and_refuses_tampering():
    verify = _snippet()["verify"]
    body = b'{"version":"1","type":"lead.purchased"}'
    header = signature_header(secret="whsec_abc", body=body)
    assert verify("whsec_abc", header, body)
    assert not verify("whsec_abc", header, body + b" ")
    assert not verify("whsec_other", header, body)
    old = signature_header(secret="whsec_abc", body=body, timestamp=int(time.time()) - 3600)
    assert not verify("whsec_abc", old, body)
