"""Deploy contract artifacts and record their addresses per chain id (`manage.py chain_deploy`).

An artifact is chain/artifacts/<Name>.json: {"contractName", "abi", "bytecode", ...}.

Re-running on a chain where the recorded address still has code is a no-op. When the recorded
address has no code the chain is not the one we deployed to (a dev chain restarted without its
state, `anvil_reset`): the contract is deployed again and the record re-anchored, loudly.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.client import DEV_CHAIN_ID, chain_code_at, chain_dev_keys_allowed, chain_errors, chain_id_check
from chain.models import ContractDeployment
from chain.transactions import signer_accounts

logger = logging.getLogger(__name__)

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
# anvil's first dev account (mnemonic "test test ... junk"): public knowledge, dev chains only.
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


class DeployError(Exception):
    """A deployment could not be made (no deployer key, reverted constructor, bad artifact)."""


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: str
    sha256: str

    @classmethod
    def load(cls, path: Path) -> "Artifact":
        raw = path.read_bytes()
        data = json.loads(raw)
        bytecode = data.get("bytecode")
        if isinstance(bytecode, dict):  # solc's {"object": "..."} shape
            bytecode = bytecode.get("object")
        if not bytecode or not isinstance(data.get("abi"), list):
            raise DeployError(f"{path} has no bytecode or abi")
        if not bytecode.startswith("0x"):
            bytecode = "0x" + bytecode
        return cls(
            name=data.get("contractName") or path.stem,
            abi=data["abi"],
            bytecode=bytecode,
            sha256=hashlib.sha256(raw).hexdigest(),
        )


def artifact_paths(directory: Path = ARTIFACTS_DIR) -> list[Path]:
    return sorted(directory.glob("*.json")) if directory.is_dir() else []


def deployer_account(*, chain_id: int) -> LocalAccount:
    """CHAIN_DEPLOYER_KEY, or anvil's first dev account on chain 31337 in the embedded and test
    profiles only (chain.client.chain_dev_keys_allowed)."""
    if settings.CHAIN_DEPLOYER_KEY:
        return Account.from_key(settings.CHAIN_DEPLOYER_KEY)
    if chain_dev_keys_allowed(chain_id=chain_id):
        return Account.from_key(ANVIL_DEV_KEY)
    raise DeployError(
        f"CHAIN_DEPLOYER_KEY is required to deploy on chain {chain_id} in the "
        f"{getattr(settings, 'PROFILE', '?')} profile (anvil's development key stands in for it "
        f"only in the embedded and test profiles)"
    )


def _send_deploy(w3: Web3, *, artifact: Artifact, account: LocalAccount, chain_id: int, constructor_args: list) -> dict:
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    with chain_errors():
        tx = factory.constructor(*constructor_args).build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=settings.CHAIN_RPC_TIMEOUT * 6)
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise DeployError(f"deploying {artifact.name} reverted (tx {tx_hash.to_0x_hex()})")
    return receipt


def contract_deploy(
    *, w3: Web3, artifact: Artifact, constructor_args: list | None = None, redeploy: bool = False
) -> tuple[ContractDeployment, str]:
    """Deploy `artifact` unless this chain already has it; returns (record, outcome) where the
    outcome is "deployed", "present", "re-anchored" (the recorded address had no code) or
    "redeployed" (asked for)."""
    chain_id = chain_id_check(w3)
    current = ContractDeployment.objects.filter(chain_id=chain_id, name=artifact.name).first()
    outcome = "deployed"
    if current is not None:
        if chain_code_at(w3, current.address) and not redeploy:
            if current.artifact_sha256 != artifact.sha256:
                logger.warning(
                    "chain_deploy: %s on chain %s was deployed from another artifact "
                    "(pass --redeploy to deploy this one)",
                    artifact.name,
                    chain_id,
                )
            return current, "present"
        outcome = "redeployed"
        if not redeploy:
            outcome = "re-anchored"
            logger.warning(
                "chain_deploy: no code at %s for %s on chain %s: a fresh chain; deploying again "
                "and re-anchoring the record",
                current.address,
                artifact.name,
                chain_id,
            )
    account = deployer_account(chain_id=chain_id)
    receipt = _send_deploy(
        w3, artifact=artifact, account=account, chain_id=chain_id, constructor_args=constructor_args or []
    )
    with transaction.atomic():
        record, _ = ContractDeployment.objects.update_or_create(
            chain_id=chain_id,
            name=artifact.name,
            defaults={
                "address": receipt["contractAddress"],
                "tx_hash": receipt["transactionHash"].to_0x_hex(),
                "block_number": receipt["blockNumber"],
                "artifact_sha256": artifact.sha256,
                "deployed_at": timezone.now(),
            },
        )
    logger.info("chain_deploy: %s %s on chain %s at %s", outcome, artifact.name, chain_id, record.address)
    return record, outcome


def contract_address(*, chain_id: int, name: str) -> str | None:
    """The recorded address of `name` on `chain_id`, if deployed."""
    return ContractDeployment.objects.filter(chain_id=chain_id, name=name).values_list("address", flat=True).first()


# ---------------------------------------------------------------- the marketplace's contracts

MARKETPLACE_CONTRACTS = ("MockUSDC", "EscrowVault", "LeadNFT", "VerticalNFT")


def _role(name: str) -> bytes:
    return Web3.keccak(text=name)


def _send_call(w3: Web3, *, account: LocalAccount, chain_id: int, call) -> None:
    with chain_errors():
        tx = call.build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), timeout=settings.CHAIN_RPC_TIMEOUT * 6
        )
    if receipt["status"] != 1:
        raise DeployError(f"transaction {receipt['transactionHash'].to_0x_hex()} reverted")


def platform_address(*, chain_id: int) -> str:
    """Where the platform fee goes in the vault: CHAIN_PLATFORM_ADDRESS, else the deployer."""
    if settings.CHAIN_PLATFORM_ADDRESS:
        return Web3.to_checksum_address(settings.CHAIN_PLATFORM_ADDRESS)
    return deployer_account(chain_id=chain_id).address


def marketplace_deploy(*, w3: Web3, redeploy: bool = False) -> dict[str, str]:
    """Deploy (or find) USDC, EscrowVault, LeadNFT and VerticalNFT with their constructor
    arguments, and grant the signer pool OPERATOR_ROLE on the vault and MINTER_ROLE on both NFTs.
    Idempotent; returns name -> outcome. USDC is CHAIN_USDC_ADDRESS when set, else MockUSDC (dev
    chains only)."""
    chain_id = chain_id_check(w3)
    deployer = deployer_account(chain_id=chain_id)
    platform = platform_address(chain_id=chain_id)
    outcomes: dict[str, str] = {}

    def deploy(name: str, args: list) -> ContractDeployment:
        artifact = Artifact.load(ARTIFACTS_DIR / f"{name}.json")
        record, outcome = contract_deploy(w3=w3, artifact=artifact, constructor_args=args, redeploy=redeploy)
        outcomes[name] = outcome
        return record

    usdc = settings.CHAIN_USDC_ADDRESS
    if not usdc:
        if chain_id != DEV_CHAIN_ID:
            raise DeployError(f"CHAIN_USDC_ADDRESS is required on chain {chain_id} (MockUSDC is for dev chains)")
        usdc = deploy("MockUSDC", []).address
    vault = deploy("EscrowVault", [usdc, deployer.address, deployer.address, settings.CHAIN_VAULT_EXIT_DELAY_SECONDS])
    lead = deploy("LeadNFT", [deployer.address, platform])
    vertical = deploy("VerticalNFT", [deployer.address, platform])
    signers = list(signer_accounts(chain_id=chain_id))
    grants = ((vault, "OPERATOR_ROLE"), (lead, "MINTER_ROLE"), (vertical, "MINTER_ROLE"))
    for record, role_name in grants:
        artifact = Artifact.load(ARTIFACTS_DIR / f"{record.name}.json")
        contract = w3.eth.contract(address=record.address, abi=artifact.abi)
        role = _role(role_name)
        for signer in signers:
            with chain_errors():
                has = contract.functions.hasRole(role, signer).call()
            if not has:
                _send_call(w3, account=deployer, chain_id=chain_id, call=contract.functions.grantRole(role, signer))
                logger.info("chain_deploy: granted %s on %s to %s", role_name, record.name, signer)
    return outcomes
