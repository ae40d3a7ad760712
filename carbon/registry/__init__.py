"""Registry sync: the national registry (SRN-PPI / IDXCarbon) side of tokenised carbon credits.

``interface`` is the Protocol the platform codes against; ``http`` implements it over the REST API of
``API.md``; ``local`` is a registry with real state (served over HTTP by ``server`` for tests and the
demo); ``outbox`` delivers retirements and bridge-backs exactly once across crashes.
"""

from carbon.registry.errors import (
    DuplicateSerialsError,
    IdempotencyKeyReusedError,
    InsufficientTokenisedUnitsError,
    InsufficientVerifiedUnitsError,
    InvalidRegistryRequestError,
    RegistryAuthError,
    RegistryProtocolError,
    RegistryRefusedError,
    RegistryStateConflictError,
    RegistryUnavailableError,
    UnknownBridgeBackError,
    UnknownProjectError,
    UnknownRegistryAccountError,
    UnknownTokenError,
    UnknownTokenisationError,
)
from carbon.registry.interface import (
    BridgeBackRequest,
    BridgeBackStatus,
    RegistryAdapter,
    RetirementRecord,
    SerialRange,
    TokenisationReceipt,
    TokenisationStatus,
)

__all__ = [
    "BridgeBackRequest",
    "BridgeBackStatus",
    "DuplicateSerialsError",
    "IdempotencyKeyReusedError",
    "InsufficientTokenisedUnitsError",
    "InsufficientVerifiedUnitsError",
    "InvalidRegistryRequestError",
    "RegistryAdapter",
    "RegistryAuthError",
    "RegistryProtocolError",
    "RegistryRefusedError",
    "RegistryStateConflictError",
    "RegistryUnavailableError",
    "RetirementRecord",
    "SerialRange",
    "TokenisationReceipt",
    "TokenisationStatus",
    "UnknownBridgeBackError",
    "UnknownProjectError",
    "UnknownRegistryAccountError",
    "UnknownTokenError",
    "UnknownTokenisationError",
]
