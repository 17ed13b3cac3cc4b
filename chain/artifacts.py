"""Compiled contract artifacts (chain/artifacts/<Name>.json, written by `make contracts`).

Each artifact records the sha256 of every source it was compiled from: our own files under
chain/contracts/ and the OpenZeppelin files under node_modules/, so a stale artifact is detected
without running the compiler.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "chain" / "artifacts"
NODE_MODULES = REPO_ROOT / "node_modules"
OWN_PREFIX = "chain/"


def artifact_names() -> list[str]:
    """Names of every committed artifact, sorted."""
    return sorted(p.stem for p in ARTIFACTS_DIR.glob("*.json"))


@cache
def load_artifact(name: str) -> dict:
    """The artifact of contract `name`: abi, bytecode, deployedBytecode, sources, compiler."""
    return json.loads((ARTIFACTS_DIR / f"{name}.json").read_text())


def _source_path(unit: str) -> Path:
    return REPO_ROOT / unit if unit.startswith(OWN_PREFIX) else NODE_MODULES / unit


def artifact_is_stale(name: str) -> list[str]:
    """Source paths whose current text no longer matches the artifact (empty list: up to date).

    Library sources are checked only when node_modules is installed; our own .sol files always.
    A .sol file added to chain/contracts/ without an artifact shows up in `contracts_without_artifact`.
    """
    recorded = json.loads((ARTIFACTS_DIR / f"{name}.json").read_text())["sources"]
    check_libraries = NODE_MODULES.is_dir()
    stale = []
    for unit, digest in sorted(recorded.items()):
        if not unit.startswith(OWN_PREFIX) and not check_libraries:
            continue
        path = _source_path(unit)
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            stale.append(unit)
    return stale


def contracts_without_artifact() -> list[str]:
    """Our .sol files that no artifact was built from (a new contract before `make contracts`)."""
    built = set()
    for name in artifact_names():
        built.update(load_artifact.__wrapped__(name)["sources"])
    return sorted(
        f"chain/contracts/{p.name}"
        for p in (REPO_ROOT / "chain" / "contracts").glob("*.sol")
        if f"chain/contracts/{p.name}" not in built
    )
