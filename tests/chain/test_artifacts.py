"""Committed artifacts must match their sources: change a .sol file, run `make contracts`."""

import hashlib
import json

import pytest

from chain import artifacts
from chain.artifacts import artifact_is_stale, artifact_names, contracts_without_artifact, load_artifact

# The suite's autouse fixtures touch the database; these tests themselves do not.
pytestmark = pytest.mark.django_db

EXPECTED = {"EscrowVault", "LeadNFT", "MockUSDC", "VerticalNFT"}


def test_every_contract_has_an_artifact():
    assert set(artifact_names()) >= EXPECTED
    assert contracts_without_artifact() == [], "run `make contracts` and commit chain/artifacts/"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_artifact_is_up_to_date_with_its_sources(name):
    assert artifact_is_stale(name) == [], f"{name} is stale: run `make contracts` and commit chain/artifacts/"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_artifact_records_compiler_settings_and_bytecode(name):
    artifact = load_artifact(name)
    assert artifact["contractName"] == name
    assert artifact["evmVersion"] == "prague"
    assert artifact["solcVersion"].startswith("0.8.37+")
    assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 2
    assert f"chain/contracts/{name}.sol" in artifact["sources"]
    assert any(path.startswith("@openzeppelin/contracts/") for path in artifact["sources"])


def test_a_changed_source_makes_the_artifact_stale(tmp_path, monkeypatch):
    (tmp_path / "chain" / "contracts").mkdir(parents=True)
    (tmp_path / "chain" / "artifacts").mkdir()
    sol = tmp_path / "chain" / "contracts" / "Thing.sol"
    sol.write_text("contract Thing {}\n")
    digest = hashlib.sha256(sol.read_bytes()).hexdigest()
    (tmp_path / "chain" / "artifacts" / "Thing.json").write_text(
        json.dumps({"sources": {"chain/contracts/Thing.sol": digest, "@openzeppelin/contracts/X.sol": "00"}})
    )
    monkeypatch.setattr(artifacts, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(artifacts, "ARTIFACTS_DIR", tmp_path / "chain" / "artifacts")
    monkeypatch.setattr(artifacts, "NODE_MODULES", tmp_path / "node_modules")

    # node_modules absent: only our own files are checked.
    assert artifact_is_stale("Thing") == []
    sol.write_text("contract Thing { uint x; }\n")
    assert artifact_is_stale("Thing") == ["chain/contracts/Thing.sol"]
    # node_modules present: library files are checked too (here: missing → stale).
    (tmp_path / "node_modules").mkdir()
    assert artifact_is_stale("Thing") == ["@openzeppelin/contracts/X.sol", "chain/contracts/Thing.sol"]
