"""Every curl example in README.md and docs/ runs against a live server and gets the answer the
docs promise: a 2xx, or the status a `# → 409` line in the block names.

The blocks run in bash as written, with two substitutions only: the documented host
(http://127.0.0.1:8000) becomes the live server's, and a placeholder key (`le_ab12cd34_…`, or
`$KEY` from the environment) a real key of a user who sells and buys. curl reports each answer's
status through a .curlrc in a temporary HOME, so the examples themselves stay untouched.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from accounts.services import api_key_create
from tests.factories import UserFactory
from verticals.seed_data import VERTICALS
from verticals.services import vertical_seed_tree

pytestmark = pytest.mark.django_db(transaction=True)  # the live server sees committed rows only

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED_HOST = "http://127.0.0.1:8000"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[a-z]*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_PLACEHOLDER_KEY = re.compile(r"le_[0-9a-z]+_…")
_EXPECT = re.compile(r"^\s*#\s*(?:→|->)\s*(\d{3})\b", re.M)
_STATUS = re.compile(r"^CURL_STATUS=(\d{3})$", re.M)


def curl_examples() -> list[tuple[str, str]]:
    """(where, block) for every fenced block that runs curl."""
    examples = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        text = path.read_text()
        for match in _FENCE.finditer(text):
            indent = match.group("indent")
            body = "".join(
                line[len(indent) :] if line.startswith(indent) else line
                for line in match.group("body").splitlines(keepends=True)
            )
            if re.search(r"(^|[\s;|&(])curl\s", body):
                line = text.count("\n", 0, match.start()) + 1
                examples.append((f"{path.relative_to(ROOT)}:{line}", body))
    return examples


EXAMPLES = curl_examples()


def test_the_docs_have_curl_examples_to_run():
    where = [w for w, _ in EXAMPLES]
    assert any(w.startswith("README.md") for w in where) and any(w.startswith("docs/ingestion.md") for w in where)


@pytest.fixture
def key(db):
    vertical_seed_tree(tree=VERTICALS)
    user = UserFactory(is_seller=True, is_buyer=True)
    return api_key_create(user=user, name="docs").secret


@pytest.mark.parametrize(("where", "block"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_a_curl_example_in_the_docs_gets_the_documented_answer(where, block, key, live_server, tmp_path):
    (tmp_path / ".curlrc").write_text('silent\nshow-error\nwrite-out = "\\nCURL_STATUS=%{http_code}\\n"\n')
    script = _PLACEHOLDER_KEY.sub(key, block).replace(DOCUMENTED_HOST, live_server.url)
    env = {**os.environ, "HOME": str(tmp_path), "CURL_HOME": str(tmp_path), "KEY": key}
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, f"{where}: {run.stderr}"
    statuses = [int(s) for s in _STATUS.findall(run.stdout)]
    expected = [int(s) for s in _EXPECT.findall(block)]
    assert statuses, f"{where}: no HTTP answer; output: {run.stdout[-2000:]}"
    if expected:
        assert statuses == expected, f"{where}: {run.stdout[-2000:]}"
    else:
        assert all(200 <= s < 300 for s in statuses), f"{where}: {run.stdout[-2000:]}"
