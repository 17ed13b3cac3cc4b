"""Deploy contract artifacts (chain/artifacts/<Name>.json) and record their addresses per chain id.

    manage.py chain_deploy                       # the marketplace's set, wired (chain.deploy.marketplace_deploy)
    manage.py chain_deploy MockUSDC EscrowVault --args 'EscrowVault=["@MockUSDC", "@deployer"]'

Constructor arguments are JSON lists; "@Name" is the recorded address of another contract on
the same chain, "@deployer" the deploying account. Idempotent: a contract whose recorded
address still has code is left alone; a fresh chain gets it again (re-anchored).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chain.client import ChainMisconfigured, ChainUnavailable, chain_id_check, chain_web3
from chain.deploy import (
    ARTIFACTS_DIR,
    Artifact,
    DeployError,
    artifact_paths,
    contract_address,
    contract_deploy,
    deployer_account,
    marketplace_deploy,
)


def _constructor_arity(artifact) -> int:
    return next((len(e.get("inputs", [])) for e in artifact.abi if e.get("type") == "constructor"), 0)


class Command(BaseCommand):
    help = "Deploy contract artifacts to the chain at CHAIN_RPC_URL and record their addresses."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="contract names (default: every artifact)")
        parser.add_argument("--artifacts", default=str(ARTIFACTS_DIR), help="directory of <Name>.json artifacts")
        parser.add_argument(
            "--args",
            action="append",
            default=[],
            metavar="NAME=JSON",
            dest="constructor_args",
            help='constructor arguments, e.g. EscrowVault=["@MockUSDC"]',
        )
        parser.add_argument("--redeploy", action="store_true", help="deploy again even when the contract is present")

    def handle(self, *args, names, artifacts, constructor_args, redeploy, **options):
        directory = Path(artifacts)
        available = {p.stem: p for p in artifact_paths(directory)}
        if not names and directory == ARTIFACTS_DIR:
            try:
                outcomes = marketplace_deploy(w3=chain_web3(), redeploy=redeploy)
            except (ChainUnavailable, ChainMisconfigured, DeployError) as exc:
                raise CommandError(str(exc)) from exc
            for name, outcome in outcomes.items():
                self.stdout.write(self.style.SUCCESS(f"{name}: {outcome}"))
            return
        wanted = names or sorted(available)
        if not wanted:
            self.stdout.write(f"chain_deploy: no artifacts in {directory}: nothing to deploy")
            return
        missing = [n for n in wanted if n not in available]
        if missing:
            raise CommandError(f"no artifact for {', '.join(missing)} in {directory}")
        constructor = {}
        for item in constructor_args:
            name, sep, raw = item.partition("=")
            if not sep:
                raise CommandError(f"--args wants NAME=JSON, got {item!r}")
            try:
                constructor[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise CommandError(f"--args {name}: {exc}") from exc
        try:
            w3 = chain_web3()
            chain_id = chain_id_check(w3)
            for name in wanted:
                artifact = Artifact.load(available[name])
                needs = _constructor_arity(artifact)
                if needs and name not in constructor:
                    if not names:  # deploying "everything": leave what needs arguments to an explicit run
                        self.stdout.write(f"{name}: skipped (its constructor takes {needs} arguments: pass --args)")
                        continue
                    raise CommandError(f"{name}'s constructor takes {needs} arguments: pass --args '{name}=[...]'")
                values = [self._resolve(v, chain_id=chain_id) for v in constructor.get(name, [])]
                record, outcome = contract_deploy(w3=w3, artifact=artifact, constructor_args=values, redeploy=redeploy)
                style = self.style.WARNING if outcome == "re-anchored" else self.style.SUCCESS
                note = " (the chain was reset: re-anchored)" if outcome == "re-anchored" else ""
                self.stdout.write(style(f"{name}: {outcome} at {record.address} on chain {chain_id}{note}"))
        except (ChainUnavailable, ChainMisconfigured, DeployError) as exc:
            raise CommandError(str(exc)) from exc

    @staticmethod
    def _resolve(value, *, chain_id: int):
        if isinstance(value, str) and value.startswith("@"):
            ref = value[1:]
            if ref == "deployer":
                return deployer_account(chain_id=chain_id).address
            address = contract_address(chain_id=chain_id, name=ref)
            if address is None:
                raise CommandError(f"{value}: {ref} is not deployed on chain {chain_id} (deploy it first)")
            return address
        if isinstance(value, list):
            return [Command._resolve(v, chain_id=chain_id) for v in value]
        return value
