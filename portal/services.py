"""The services the portal's pages use, built once per app and kept on ``app.state.portal``.

Pages reach everything through :func:`portal_services`: the database (the app's session factory,
opened by the lifespan), merchant accounts and the custodial wallets. Accounts and custody are
built on first use, not in ``create_app``: they read the custody master key, and an API process
that never serves a portal page must not need it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from accounts.seeds import SeedBox
from accounts.service import AccountService
from accounts.settings import AccountSettings
from api.wallets.service import MSC_CONTRACT, ContractsCatalog
from common.sql.helpers import utcnow
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import CustodySettings
from portal.settings import PortalSettings


@dataclass
class PortalServices:
    """What the portal's pages work with.

    Args:
        state: The app's state (``app.state``), where the lifespan puts the session factory.
        settings: The portal's settings.
        account_settings: Session lifetimes, throttling, hashing.
        contracts: The deployed contracts (chain id and MSC's address for custodial signatures).
        custody_settings_given: The custody master key ring (also seals TOTP seeds); default:
            ``MSC_CUSTODY_*``, read at first use.
        clock: Current UTC time (tests move it).
    """

    state: Any = field(repr=False)
    settings: PortalSettings
    account_settings: AccountSettings
    contracts: ContractsCatalog = field(repr=False)
    custody_settings_given: CustodySettings | None = field(default=None, repr=False)
    clock: Callable[[], datetime] = utcnow
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls, state: Any, contracts: ContractsCatalog) -> PortalServices:
        """Services configured from ``MSC_PORTAL_*``, ``MSC_ACCOUNTS_*`` and ``MSC_CUSTODY_*``."""
        return cls(state, PortalSettings.from_env(), AccountSettings.from_env(), contracts)

    @cached_property
    def custody_settings(self) -> CustodySettings:
        """The custody master keys (read at first use: production refuses to serve without one).

        Raises:
            ConfigurationError: the master key is missing in production, or invalid.
        """
        return self.custody_settings_given or CustodySettings.from_env()

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The app's session factory (set when the app starts)."""
        sessions: sessionmaker[Session] = self.state.sessions
        return sessions

    @cached_property
    def accounts(self) -> AccountService:
        """Merchant users, sessions, roles and CSRF."""
        with self._lock:
            return AccountService(
                self.sessions,
                self.account_settings,
                seeds=SeedBox(self.custody_settings.key_ring()),
                clock=self.clock,
            )

    @property
    def custody_enabled(self) -> bool:
        """Whether custodial wallets are offered: a master key is configured (always in production).

        Without one, a development process would protect keys with the published development
        key; the portal then offers no custodial wallet rather than a fake-safe one.
        """
        return bool(self.custody_settings.master_key.get_secret_value())

    @cached_property
    def _custody(self) -> CustodyService:
        contracts = self.contracts.current()
        token = next(c.address for c in contracts.contracts if c.name == MSC_CONTRACT)
        keys = EnvelopeKeyManager(self.custody_settings.key_ring(), clock=self.clock)
        return CustodyService(keys, chain_id=contracts.chain_id, token_address=token)

    @property
    def custody(self) -> CustodyService | None:
        """The custodial wallets, or None when no master key is configured (development only).

        Raises:
            ContractsNotDeployedError: a master key is set but no contracts are deployed yet.
        """
        if not self.custody_enabled:
            return None
        with self._lock:
            return self._custody


def portal_services(request: Request) -> PortalServices:
    """The app's portal services (``app.state.portal``)."""
    services: PortalServices = request.app.state.portal
    return services
