"""`manage.py chain_deploy` against anvil: deploys, records per chain id, is idempotent, and
re-anchors on a fresh chain."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from eth_utils import function_signature_to_4byte_selector

from chain.client import chain_web3
from chain.deploy import ANVIL_DEV_KEY, DeployError, deployer_account
from chain.models import ContractDeployment

pytestmark = pytest.mark.django_db

# anvil's 10th dev account: keeps these deployments off the nonces other tests use.
TEST_DEPLOYER_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"


def _creation_code(runtime_hex: str) -> str:
    """Init code that returns `runtime_hex` as the contract's code (CODECOPY + RETURN)."""
    length = len(runtime_hex) // 2
    return "0x" + f"60{length:02x}80600b6000396000f3" + runtime_hex


# Returns 42 to any call.
ANSWER_RUNTIME = "602a60005260206000f3"
ANSWER_ABI = [
    {
        "type": "function",
        "name": "answer",
        "inputs": [],
        "outputs": [{"name": "", "type": "uint256"}],
        "stateMutability": "view",
    }
]
# Reverts any call with the custom error Nope(42).
NOPE_SELECTOR = function_signature_to_4byte_selector("Nope(uint256)").hex()
NOPE_RUNTIME = f"63{NOPE_SELECTOR}60e01b600052602a60045260246000fd"
NOPE_ABI = [
    {"type": "function", "name": "fail", "inputs": [], "outputs": [], "stateMutability": "nonpayable"},
    {"type": "error", "name": "Nope", "inputs": [{"name": "code", "type": "uint256"}]},
]


def write_artifacts(directory) -> None:
    for name, runtime, abi in (("Answer", ANSWER_RUNTIME, ANSWER_ABI), ("Nope", NOPE_RUNTIME, NOPE_ABI)):
        (directory / f"{name}.json").write_text(
            json.dumps({"contractName": name, "abi": abi, "bytecode": _creation_code(runtime)})
        )


@pytest.fixture
def artifacts(tmp_path, settings):
    settings.CHAIN_DEPLOYER_KEY = TEST_DEPLOYER_KEY
    write_artifacts(tmp_path)
    return tmp_path


def deploy(artifacts, *names) -> str:
    out = StringIO()
    call_command("chain_deploy", *names, "--artifacts", str(artifacts), stdout=out)
    return out.getvalue()


def test_chain_deploy_deploys_and_records_each_artifact_for_the_chain_id(artifacts):
    output = deploy(artifacts)

    records = {r.name: r for r in ContractDeployment.objects.all()}
    assert set(records) == {"Answer", "Nope"} and "Answer: deployed" in output
    w3 = chain_web3()
    answer = w3.eth.contract(address=records["Answer"].address, abi=ANSWER_ABI)
    assert answer.functions.answer().call() == 42
    assert records["Answer"].chain_id == 31337 and records["Answer"].block_number > 0
    assert len(records["Answer"].artifact_sha256) == 64 and records["Answer"].tx_hash.startswith("0x")


def test_running_chain_deploy_again_on_the_same_chain_is_a_no_op(artifacts):
    deploy(artifacts)
    first = {r.name: (r.address, r.tx_hash) for r in ContractDeployment.objects.all()}

    output = deploy(artifacts)

    assert {r.name: (r.address, r.tx_hash) for r in ContractDeployment.objects.all()} == first
    assert "Answer: present" in output and "Nope: present" in output


def test_a_fresh_chain_without_the_recorded_code_is_re_anchored(artifacts):
    deploy(artifacts, "Answer")
    old = ContractDeployment.objects.get(name="Answer")
    # What a restart without state looks like from here: no code at the recorded address.
    chain_web3().provider.make_request("anvil_setCode", [old.address, "0x"])

    output = deploy(artifacts, "Answer")

    new = ContractDeployment.objects.get(name="Answer")
    assert "re-anchored" in output
    assert new.address != old.address and ContractDeployment.objects.filter(name="Answer").count() == 1
    assert chain_web3().eth.get_code(new.address) != b""


def test_constructor_arguments_are_required_for_a_named_contract_and_skipped_otherwise(artifacts):
    abi = [{"type": "constructor", "inputs": [{"name": "token", "type": "address"}], "stateMutability": "nonpayable"}]
    (artifacts / "NeedsArgs.json").write_text(
        json.dumps({"contractName": "NeedsArgs", "abi": abi, "bytecode": _creation_code(ANSWER_RUNTIME)})
    )

    assert "NeedsArgs: skipped" in deploy(artifacts)
    with pytest.raises(CommandError, match="constructor takes 1 arguments"):
        deploy(artifacts, "NeedsArgs")


@pytest.mark.parametrize("profile", ["embedded", "test"])
def test_the_dev_account_deploys_on_the_dev_chain_in_the_embedded_and_test_profiles(settings, profile):
    settings.CHAIN_DEPLOYER_KEY, settings.PROFILE = "", profile
    assert deployer_account(chain_id=31337).key.to_0x_hex() == ANVIL_DEV_KEY
    with pytest.raises(DeployError, match="CHAIN_DEPLOYER_KEY"):
        deployer_account(chain_id=1)


@pytest.mark.parametrize("profile", ["services", "production"])
def test_the_services_and_production_profiles_must_be_given_a_deployer_key(settings, profile):
    settings.CHAIN_DEPLOYER_KEY, settings.PROFILE = "", profile
    with pytest.raises(DeployError, match=f"CHAIN_DEPLOYER_KEY is required to deploy on chain 31337 in the {profile}"):
        deployer_account(chain_id=31337)
    settings.CHAIN_DEPLOYER_KEY = TEST_DEPLOYER_KEY
    assert deployer_account(chain_id=31337).key.to_0x_hex() == TEST_DEPLOYER_KEY


def test_chain_deploy_fails_clearly_when_the_node_is_down(artifacts, settings):
    settings.CHAIN_RPC_URL = "http://127.0.0.1:1"
    with pytest.raises(CommandError, match="unreachable"):
        deploy(artifacts)
