"""Project verification documents: IPFS-compatible CIDs, verified stores and token metadata."""

from carbon.documents.cid import CID, ImportOptions, cid_for_bytes, cid_for_file, decode_cid, sha256_hex
from carbon.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFoundError,
    InvalidCIDError,
    IpfsNodeError,
)
from carbon.documents.metadata import (
    CarbonCreditMetadata,
    DocumentRef,
    Location,
    MetadataDocument,
    ProjectType,
    VerificationStatus,
    build_metadata,
)
from carbon.documents.store import (
    DocumentStore,
    IpfsHttpDocumentStore,
    LocalDocumentStore,
    StoredDocument,
)

__all__ = [
    "CID",
    "CarbonCreditMetadata",
    "DocumentIntegrityError",
    "DocumentNotFoundError",
    "DocumentRef",
    "DocumentStore",
    "ImportOptions",
    "InvalidCIDError",
    "IpfsHttpDocumentStore",
    "IpfsNodeError",
    "LocalDocumentStore",
    "Location",
    "MetadataDocument",
    "ProjectType",
    "StoredDocument",
    "VerificationStatus",
    "build_metadata",
    "cid_for_bytes",
    "cid_for_file",
    "decode_cid",
    "sha256_hex",
]
