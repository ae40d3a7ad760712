"""Building the refund service from the environment (the worker's and the portal's one place)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from chain.errors import ChainError
from chain.platform import load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import ConfigurationError
from custody.keystore import EnvelopeKeyManager, KeyManager
from custody.service import CustodyService
from custody.settings import CustodySettings
from merchant_refunds.errors import RefundsUnavailableError
from merchant_refunds.sending import RefundSender
from merchant_refunds.service import MerchantRefundService
from merchant_refunds.settings import RefundSettings
from settlement.workers.settings import WorkerSettings

log = logging.getLogger(__name__)


def build_refunds(
    sessions: sessionmaker[Session], environ: Mapping[str, str], *, keys: KeyManager | None = None
) -> MerchantRefundService | None:
    """The refund service ``environ`` configures, or None when no platform signer is set.

    The relayer is the platform's signer (``MSC_SIGNER_KEY`` / keystore: it pays the gas, the
    escrow checks the merchant's signature); the guarantee-fund operator is
    ``MSC_REFUNDS_OPERATOR_KEY`` (unset: no refunds after release). Refunds are confirmed at the
    releaser's depth.

    Raises:
        DeploymentNotFoundError: no platform is deployed on the configured network.
        ConfigurationError: a setting is invalid.
    """
    chain = ChainSettings.from_env(environ)
    if chain.signer_key is None and chain.keystore_path is None:
        return None
    own = RefundSettings.from_env(environ)
    platform = load_platform(chain)
    chain_id = int(platform.w3.eth.chain_id)
    custody = CustodyService(
        keys or EnvelopeKeyManager(CustodySettings.from_env(environ).key_ring()),
        chain_id=chain_id,
        token_address=platform.msc.address,
        escrow_address=platform.escrow.address,
    )
    operator = Signer.from_key(own.operator_key.get_secret_value()) if own.operator_key is not None else None
    sender = RefundSender(
        sessions,
        platform,
        custody,
        Signer.from_settings(chain),
        operator,
        confirmations=WorkerSettings.from_env(environ).mint_confirmations(chain_id),
        authorization_ttl_s=own.authorization_ttl_seconds,
        pending_timeout_s=chain.receipt_timeout_s,
    )
    return MerchantRefundService(
        sessions,
        platform,
        custody,
        sender,
        guarantee_refunds=operator is not None,
        authorization_ttl_s=own.authorization_ttl_seconds,
    )


def app_refunds(state: Any) -> MerchantRefundService:
    """The refund service of a web app (``state.refunds``), built from the environment on first use
    over the app's session factory (``state.sessions``) and kept there.

    Raises:
        RefundsUnavailableError: no platform signer, or no platform deployed where it points.
    """
    service: MerchantRefundService | None = getattr(state, "refunds", None)
    if service is None:
        try:
            service = build_refunds(state.sessions, os.environ)
        except (ConfigurationError, ChainError) as exc:
            log.warning("refunds are unavailable: %s", exc.message)
            raise RefundsUnavailableError() from None
        if service is None:
            raise RefundsUnavailableError()
        state.refunds = service
    return service
