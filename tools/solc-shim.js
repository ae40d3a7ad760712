#!/usr/bin/env node
// A native-solc look-alike over the npm `solc` package (solc-js), for py-solc-x and Brownie.
//
// py-solc-x treats any executable named `solc-v<version>` in $SOLCX_BINARY_PATH as an installed
// compiler. It calls it as `solc --version` and `solc --standard-json [--allow-paths P]` with the
// input JSON on stdin. This shim answers both, so nothing is downloaded at compile time. It also
// answers the legacy `solc [remap=target ...] file.sol --combined-json abi,ast,...` form, which
// crytic-compile (and so slither-check-erc) uses, by translating it to standard JSON.
// Imports are read from disk by the import callback, but only from inside the allowed paths
// (the working directory and each --allow-paths entry), as native solc would.
"use strict";

const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..");
let solc;
try {
  solc = require(path.join(projectRoot, "node_modules", "solc"));
} catch (err) {
  process.stderr.write(
    "solc-shim: the npm package `solc` is not installed. Run `make setup` in " + projectRoot + "\n"
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    version: false, standardJson: false, combined: null, allowPaths: [], files: [], remappings: [],
    optimize: false, runs: 200, evmVersion: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--version") opts.version = true;
    else if (arg === "--standard-json") opts.standardJson = true;
    else if (arg === "--allow-paths") opts.allowPaths.push(...String(argv[++i] || "").split(","));
    else if (arg.startsWith("--allow-paths=")) opts.allowPaths.push(...arg.slice(14).split(","));
    else if (arg === "-") continue;
    else if (arg === "--base-path" || arg === "--include-path") opts.allowPaths.push(argv[++i]);
    else if (arg === "--combined-json") opts.combined = String(argv[++i] || "").split(",");
    else if (arg === "--optimize") opts.optimize = true;
    else if (arg === "--optimize-runs") opts.runs = Number(argv[++i]);
    else if (arg === "--evm-version") opts.evmVersion = argv[++i];
    else if (arg.startsWith("--")) continue; // other flags change nothing we produce
    else if (arg.includes("=")) opts.remappings.push(arg);
    else opts.files.push(arg);
  }
  opts.allowPaths = opts.allowPaths.filter(Boolean).map((p) => path.resolve(p));
  return opts;
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

function makeImportCallback(allowed) {
  return function findImport(importPath) {
    const candidate = path.resolve(process.cwd(), importPath);
    if (!allowed.some((dir) => isInside(candidate, dir))) {
      return { error: "File outside of allowed directories: " + importPath };
    }
    try {
      return { contents: fs.readFileSync(candidate, "utf8") };
    } catch (err) {
      return { error: "File not found: " + importPath };
    }
  };
}

// Legacy --combined-json: compile the named files and reshape the output as native solc does.
function combinedJson(opts, findImport) {
  const sources = {};
  for (const file of opts.files) sources[file] = { content: fs.readFileSync(file, "utf8") };
  const settings = {
    remappings: opts.remappings,
    optimizer: { enabled: opts.optimize, runs: opts.runs },
    outputSelection: {
      "*": {
        "*": [
          "abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.bytecode.sourceMap",
          "evm.deployedBytecode.sourceMap", "userdoc", "devdoc", "evm.methodIdentifiers",
        ],
        "": ["ast"],
      },
    },
  };
  if (opts.evmVersion) settings.evmVersion = opts.evmVersion;
  const out = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings }), { import: findImport }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) {
    process.stderr.write(errors.map((e) => e.formattedMessage || e.message).join("\n") + "\n");
    return 1;
  }
  const want = new Set(opts.combined);
  const contracts = {};
  for (const [file, byName] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(byName)) {
      const entry = {};
      if (want.has("abi")) entry.abi = c.abi;
      if (want.has("bin")) entry.bin = c.evm.bytecode.object;
      if (want.has("bin-runtime")) entry["bin-runtime"] = c.evm.deployedBytecode.object;
      if (want.has("srcmap")) entry.srcmap = c.evm.bytecode.sourceMap || "";
      if (want.has("srcmap-runtime")) entry["srcmap-runtime"] = c.evm.deployedBytecode.sourceMap || "";
      if (want.has("userdoc")) entry.userdoc = c.userdoc;
      if (want.has("devdoc")) entry.devdoc = c.devdoc;
      if (want.has("hashes")) entry.hashes = c.evm.methodIdentifiers;
      contracts[file + ":" + name] = entry;
    }
  }
  const sourceList = Object.keys(out.sources || {}).sort((a, b) => out.sources[a].id - out.sources[b].id);
  const sourcesOut = {};
  for (const file of sourceList) sourcesOut[file] = { AST: out.sources[file].ast, id: out.sources[file].id };
  process.stdout.write(JSON.stringify({ contracts, sourceList, sources: sourcesOut, version: solc.version() }));
  return 0;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    // The same two lines native solc prints; py-solc-x parses "<x.y.z>+commit.<hash>".
    process.stdout.write(
      "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n"
    );
    return 0;
  }
  const allowed = [process.cwd(), ...opts.allowPaths];
  if (opts.combined) return combinedJson(opts, makeImportCallback(allowed));
  if (!opts.standardJson) {
    process.stderr.write("solc-shim: supports --version, --standard-json and --combined-json\n");
    return 1;
  }
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: makeImportCallback(allowed) }));
  return 0;
}

process.exitCode = main();
