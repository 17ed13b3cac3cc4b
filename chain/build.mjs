#!/usr/bin/env node
// Compiles chain/contracts/*.sol with the pinned solc-js (offline, standard JSON) and writes one
// deterministic artifact per contract to chain/artifacts/<ContractName>.json.
// Usage: node chain/build.mjs   (from any directory; `make contracts` runs it)
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CONTRACTS_DIR = path.join(ROOT, "chain", "contracts");
const ARTIFACTS_DIR = path.join(ROOT, "chain", "artifacts");
const NODE_MODULES = path.join(ROOT, "node_modules");
const EVM_VERSION = "prague"; // py-evm knows forks up to Prague; solc 0.8.37 defaults to Osaka

const require = createRequire(import.meta.url);
const solc = require(path.join(NODE_MODULES, "solc"));

// Source unit names are paths relative to the repo root for our files ("chain/contracts/X.sol")
// and npm package paths for libraries ("@openzeppelin/contracts/..."), resolved in node_modules.
function resolveSource(unitName) {
  if (unitName.startsWith("chain/")) return path.join(ROOT, unitName);
  return path.join(NODE_MODULES, unitName);
}

function findImports(unitName) {
  const file = resolveSource(unitName);
  if (!file.startsWith(ROOT + path.sep) || !existsSync(file)) return { error: `File not found: ${unitName}` };
  return { contents: readFileSync(file, "utf8") };
}

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

const files = readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith(".sol")).sort();
const sources = Object.fromEntries(
  files.map((f) => [`chain/contracts/${f}`, { content: readFileSync(path.join(CONTRACTS_DIR, f), "utf8") }]),
);

const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

mkdirSync(ARTIFACTS_DIR, { recursive: true });
const written = new Set();
for (const file of files) {
  const unit = `chain/contracts/${file}`;
  for (const [name, contract] of Object.entries(output.contracts[unit] || {})) {
    const metadata = JSON.parse(contract.metadata);
    const used = Object.keys(metadata.sources).sort();
    const artifact = sortKeys({
      contractName: name,
      abi: contract.abi,
      bytecode: "0x" + contract.evm.bytecode.object,
      deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
      solcVersion: solc.version(),
      evmVersion: EVM_VERSION,
      sources: Object.fromEntries(used.map((u) => [u, sha256(readFileSync(resolveSource(u), "utf8"))])),
    });
    const out = path.join(ARTIFACTS_DIR, `${name}.json`);
    writeFileSync(out, JSON.stringify(artifact, null, 2) + "\n");
    written.add(`${name}.json`);
    console.log(`wrote ${path.relative(ROOT, out)} (${(contract.evm.deployedBytecode.object.length / 2) | 0} bytes runtime)`);
  }
}
// Drop artifacts of contracts that no longer exist so the directory mirrors the sources.
for (const f of readdirSync(ARTIFACTS_DIR)) {
  if (f.endsWith(".json") && !written.has(f)) unlinkSync(path.join(ARTIFACTS_DIR, f));
}
