#!/usr/bin/env bash
# Installs everything the project needs from its own files, and does nothing when it is done
# already: a Python 3.11 virtual environment from pyproject.toml, the Node toolchain from
# package-lock.json (solc, anvil, OpenZeppelin, Solady), and the solc shim for py-solc-x.
# Each step keeps a stamp of the file it installed from and runs again only when that changes.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MSC_ROOT"

die() { echo "setup: $*" >&2; exit 1; }
stamp_ok() { [[ -f "$2" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$(cat "$2")" ]]; }
stamp_write() { sha256sum "$1" | cut -d' ' -f1 > "$2"; }

PYTHON="${MSC_PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
[[ -n "$PYTHON" ]] || die "Python 3.11 is needed (set MSC_PYTHON to its path)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || die "Python 3.11 is needed, $PYTHON is $("$PYTHON" --version 2>&1) (set MSC_PYTHON)"
command -v node >/dev/null || die "Node.js 20 or newer is needed (with npm)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) < 20 ? 1 : 0)' || die "Node.js 20 or newer is needed"
command -v npm >/dev/null || die "npm is needed"

# Python: one resolution of every dependency, eth-brownie's exact pins included.
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
if ! stamp_ok pyproject.toml .venv/.msc-installed; then
  echo "setup: installing Python dependencies (pyproject.toml)"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[dev]"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "pip install failed (full log: $log)"
  fi
  stamp_write pyproject.toml .venv/.msc-installed
fi

# schemathesis (API fuzzing in the test command) lives in its own venv: its hypothesis requirement
# conflicts with eth-brownie's pin in .venv. Exact pins in tools/schemathesis-requirements.txt.
if [[ ! -x .venv-schemathesis/bin/python ]]; then
  echo "setup: creating .venv-schemathesis"
  "$PYTHON" -m venv .venv-schemathesis
fi
if ! stamp_ok tools/schemathesis-requirements.txt .venv-schemathesis/.msc-installed; then
  echo "setup: installing schemathesis (tools/schemathesis-requirements.txt)"
  log=.venv-schemathesis/pip-install.log
  if ! .venv-schemathesis/bin/python -m pip install -r tools/schemathesis-requirements.txt >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "installing schemathesis failed (full log: $log)"
  fi
  stamp_write tools/schemathesis-requirements.txt .venv-schemathesis/.msc-installed
fi

# Node: exact versions from package-lock.json.
if ! stamp_ok package-lock.json node_modules/.msc-installed; then
  echo "setup: installing Node toolchain (package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  stamp_write package-lock.json node_modules/.msc-installed
fi

# solc: the version pinned in brownie-config.yaml must be the npm `solc` installed.
want="$(sed -n 's/^ *version: *\([0-9.]*\) *$/\1/p' brownie-config.yaml | head -n1)"
have="$(node -p 'require("./node_modules/solc/package.json").version')"
[[ "$want" == "$have" ]] || die "brownie-config.yaml pins solc $want but package.json installs $have"
mkdir -p .solcx
ln -sfn ../tools/solc-shim.js ".solcx/solc-v$want"
for stale in .solcx/solc-v*; do
  [[ "$stale" == ".solcx/solc-v$want" ]] || rm -f "$stale"
done

# Brownie's network list lives in ~/.brownie; add the project's test network to it.
.venv/bin/python tools/brownie_networks.py
