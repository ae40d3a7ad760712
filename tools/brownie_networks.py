"""Registers the project's Brownie networks in Brownie's network list, idempotently.

Brownie keeps its networks in ~/.brownie/network-config.yaml, not in the project, so setup adds
the ones the project needs:
- ``msc-test``: anvil on port 8555 for the test suite, so tests never touch a chain that
  ``make run`` is serving on 8545.
- ``msc-bench``: anvil on port 8565 for bench/, apart from both.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

NETWORKS = [
    {
        "name": "Anvil (MSC tests)",
        "id": "msc-test",
        "cmd": "anvil",
        "host": "http://127.0.0.1",
        "cmd_settings": {
            "port": 8555,
            "accounts": 10,
            "chain_id": 31337,
            "gas_limit": 12000000,
            "base_fee": 0,
        },
    },
    {
        "name": "Anvil (MSC benchmarks)",
        "id": "msc-bench",
        "cmd": "anvil",
        "host": "http://127.0.0.1",
        "cmd_settings": {
            "port": 8565,
            "accounts": 10,
            "chain_id": 31337,
            "gas_limit": 30000000,
            "base_fee": 0,
        },
    },
]


def main() -> int:
    import brownie._config  # noqa: F401  (creates ~/.brownie/network-config.yaml on first import)

    path = Path.home() / ".brownie" / "network-config.yaml"
    config = yaml.safe_load(path.read_text())
    development = config.setdefault("development", [])
    changed = False
    for network in NETWORKS:
        current = next((n for n in development if n.get("id") == network["id"]), None)
        if current != network:
            if current is not None:
                development.remove(current)
            development.append(network)
            changed = True
    if changed:
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        print(f"setup: registered Brownie networks {[n['id'] for n in NETWORKS]} in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
