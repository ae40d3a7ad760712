# Sourced by the Makefile's recipes: puts the project's own toolchain first.
# - node_modules/.bin: anvil (Brownie's development network) and solcjs
# - .venv/bin: brownie, pytest, slither, msc
# - SOLCX_BINARY_PATH: where py-solc-x finds the solc shim (tools/solc-shim.js)
MSC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MSC_ROOT
export PATH="$MSC_ROOT/.venv/bin:$MSC_ROOT/node_modules/.bin:$PATH"
export SOLCX_BINARY_PATH="$MSC_ROOT/.solcx"
export PYTHONDONTWRITEBYTECODE=1
