"""A local signer: a private key or an encrypted keystore, never a node-side account."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.datastructures import SignedMessage, SignedTransaction
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from chain.settings import ChainSettings
from common.errors import ConfigurationError

# anvil's (and Hardhat's) public development mnemonic: its keys hold test ETH on local chains only.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


@lru_cache(maxsize=32)
def _dev_account(index: int) -> LocalAccount:
    """Derives a development key once (BIP-39 seed derivation is deliberately slow)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def dev_private_key(index: int) -> str:
    """The 0x-hex private key of development account ``index`` (local chains only: it is public)."""
    return "0x" + bytes(_dev_account(index).key).hex()


class Signer:
    """Signs transactions and EIP-712 messages with one local key."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @property
    def address(self) -> str:
        """The checksummed address."""
        return str(self._account.address)

    @classmethod
    def from_key(cls, private_key: str) -> Signer:
        """A signer from a hex private key."""
        try:
            return cls(Account.from_key(private_key))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError("the signer key is not a valid private key") from exc

    @classmethod
    def from_keystore(cls, path: Path, password: str) -> Signer:
        """A signer from a Web3 Secret Storage (JSON keystore) file."""
        try:
            key = Account.decrypt(json.loads(path.read_text()), password)
        except FileNotFoundError as exc:
            raise ConfigurationError(f"no keystore at {path}") from exc
        except ValueError as exc:
            raise ConfigurationError(f"cannot decrypt the keystore at {path}: wrong password?") from exc
        return cls(Account.from_key(key))

    @classmethod
    def from_settings(cls, settings: ChainSettings) -> Signer:
        """The signer the settings name: ``MSC_SIGNER_KEY`` or ``MSC_KEYSTORE_PATH`` + password."""
        if settings.signer_key is not None:
            return cls.from_key(settings.signer_key.get_secret_value())
        if settings.keystore_path is not None:
            password = settings.keystore_password.get_secret_value() if settings.keystore_password else ""
            return cls.from_keystore(settings.keystore_path, password)
        raise ConfigurationError("no signer configured: set MSC_SIGNER_KEY or MSC_KEYSTORE_PATH")

    @classmethod
    def dev(cls, index: int) -> Signer:
        """Development account ``index`` of anvil's public mnemonic (local chains only)."""
        return cls(_dev_account(index))

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        """Signs a filled transaction dict."""
        return self._account.sign_transaction(tx)

    def sign_typed_data(self, typed_data: dict[str, Any]) -> SignedMessage:
        """Signs an EIP-712 message given as ``{"types", "primaryType", "domain", "message"}``."""
        return self._account.sign_message(encode_typed_data(full_message=typed_data))
