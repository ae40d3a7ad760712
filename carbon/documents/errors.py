"""Errors of the project-document store.

Each error names the document (its CID) it is about, so the API's single :class:`MSCError` handler can
answer the caller with a clear message and a stable ``code``.
"""

from __future__ import annotations

from common.errors import MSCError, NotFoundError, ValidationError


class InvalidCIDError(ValidationError):
    """A CID string given by a caller cannot be parsed as a base32 CIDv1 with a sha2-256 multihash."""

    code = "invalid_cid"

    def __init__(self, cid: str, reason: str) -> None:
        super().__init__(f"{cid!r} is not a valid CIDv1 (base32, sha2-256): {reason}", cid=cid, reason=reason)


class DocumentNotFoundError(NotFoundError):
    """No document with this CID is held by the store."""

    code = "document_not_found"

    def __init__(self, cid: str) -> None:
        super().__init__(f"no project document with CID {cid} is stored", cid=cid)


class DocumentIntegrityError(MSCError):
    """Bytes read or added do not hash to the CID they were stored or announced under.

    Raised instead of returning the bytes: a verification document that does not match its
    content address must never reach a buyer or a registry as if it were the verified one.
    """

    code = "document_integrity_error"
    status_code = 502

    def __init__(self, expected_cid: str, actual_cid: str, source: str) -> None:
        super().__init__(
            f"document from {source} does not match its content address: expected {expected_cid}, "
            f"the bytes hash to {actual_cid}",
            expected_cid=expected_cid,
            actual_cid=actual_cid,
            source=source,
        )


class IpfsNodeError(MSCError):
    """The IPFS node could not be reached or answered something other than what its RPC API promises."""

    code = "ipfs_node_error"
    status_code = 502

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"IPFS node failed during {operation}: {reason}", operation=operation, reason=reason)
