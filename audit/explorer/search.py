"""The explorer's search box: an address, a transaction hash, a block, a payment id or a certificate.

What the text looks like decides what is looked up, and only confirmed data is found:

- ``0x`` + 40 hex: an address (always answered: an address with no activity shows zeros).
- ``0x`` + 64 hex: a transaction hash with a platform event, else an escrow payment id.
- digits: a block number and a certificate id (both are offered when both exist).
- ``#12``, ``cert 12``, ``certificate:12``: a certificate id only.
- any other text: a settlement payment's UUID or Pi payment id (the settlement keys its escrow
  deposit by the UUID), a Pi payment id hashed with ``keccak256`` (deposits made directly on the
  contract, as the demo does), or a carbon project's registry id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection
from web3 import Web3

from audit.explorer import queries
from audit.explorer.formatting import BASE
from audit.explorer.queries import AsOf
from common.errors import ValidationError
from webui.i18n import N_

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
CERTIFICATE = re.compile(r"^(?:#|cert(?:ificate)?[\s:#]*)(\d+)$", re.IGNORECASE)
MAX_QUERY = 200
UINT256_MAX = 2**256 - 1


@dataclass(frozen=True)
class Match:
    """One thing the search found: what it is, how to name it, where its page is.

    The name is an English msgid with ``%(name)s`` values, so a page says it in its language.
    """

    kind: str
    message: str
    url: str
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The name in English (the msgid with its values)."""
        return self.message % dict(self.values) if self.values else self.message


def search(conn: Connection, at: AsOf, text: str) -> list[Match]:
    """What ``text`` finds, as of the confirmed block (an empty list: nothing).

    Raises:
        ValidationError: empty or longer than :data:`MAX_QUERY` characters.
    """
    text = text.strip()
    if not text:
        raise ValidationError(
            "type an address, a transaction hash, a block, a payment id or a certificate id"
        )
    if len(text) > MAX_QUERY:
        raise ValidationError(f"a search is at most {MAX_QUERY} characters", length=len(text))
    if not text.isprintable():
        raise ValidationError("a search cannot contain control characters")
    if ADDRESS.match(text):
        return [Match("address", text.lower(), f"{BASE}/address/{text.lower()}")]
    if HASH.match(text):
        return _hash(conn, at, text.lower())
    if text.isascii() and text.isdigit():
        return _number(conn, at, int(text))
    certificate = CERTIFICATE.match(text)
    if certificate:
        return _certificate(conn, at, int(certificate.group(1)))
    return _text(conn, at, text)


def _hash(conn: Connection, at: AsOf, value: str) -> list[Match]:
    found = []
    block = queries.tx_block(conn, at, value)
    if block is not None:
        found.append(
            Match(
                "transaction",
                N_("transaction in block %(block)s"),
                f"{BASE}/tx/{value}",
                {"block": str(block)},
            )
        )
    if queries.escrow_payment(conn, at, value) is not None:
        found.append(Match("payment", N_("escrow payment"), f"{BASE}/payment/{value}"))
    return found


def _number(conn: Connection, at: AsOf, number: int) -> list[Match]:
    found = []
    if at.block is not None and number <= at.block:
        found.append(
            Match("block", N_("block %(number)s"), f"{BASE}/block/{number}", {"number": str(number)})
        )
    found += _certificate(conn, at, number)
    return found


def _certificate(conn: Connection, at: AsOf, number: int) -> list[Match]:
    if number > UINT256_MAX:
        return []
    row = queries.certificate(conn, at, number)
    if row is None:
        return []
    return [
        Match(
            "certificate",
            N_("retirement certificate #%(number)s"),
            f"{BASE}/certificate/{number}",
            {"number": str(number)},
        )
    ]


def _text(conn: Connection, at: AsOf, text: str) -> list[Match]:
    found = []
    # The settlement's key (the payment's UUID, also found by its Pi payment id), then the
    # convention of deposits made directly on the contract: keccak256 of the Pi payment id.
    candidates = [queries.settlement_escrow_id(conn, text), Web3.keccak(text=text).to_0x_hex()]
    for payment_id in dict.fromkeys(c for c in candidates if c is not None):
        if queries.escrow_payment(conn, at, payment_id) is not None:
            found.append(
                Match(
                    "payment",
                    N_("escrow payment of %(text)s"),
                    f"{BASE}/payment/{payment_id}",
                    {"text": text},
                )
            )
    project = queries.project_by_registry_id(conn, at, text)
    if project is not None:
        found.append(
            Match(
                "project",
                N_("carbon project %(registry_id)s"),
                f"{BASE}/carbon#project-{project['project_key']}",
                {"registry_id": str(project["registry_id"])},
            )
        )
    return found
