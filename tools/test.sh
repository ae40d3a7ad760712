#!/usr/bin/env bash
# The whole test suite in one pytest run: contracts on anvil (Brownie's plugin), the web3.py
# client, Python units and integrations, and Slither over contracts/.
# With CI=true the property tests run more examples (tests/conftest.py).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MSC_ROOT"
bash tools/services.sh
set +e
pytest --network msc-test "$@"
rc=$?
set -e
if [[ $rc == 5 ]]; then
  echo "test: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit $rc
