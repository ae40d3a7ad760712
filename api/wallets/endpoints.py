"""``GET /v1/wallets/contracts``: public metadata wallets and dapps need to use the contracts."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.errors import error_responses
from api.wallets.schemas import ContractsRead
from api.wallets.service import ContractsCatalog

router = APIRouter(prefix="/v1/wallets", tags=["wallets"])


@router.get(
    "/contracts",
    response_model=ContractsRead,
    responses=error_responses(503),
    summary="Deployed contracts, ABIs and EIP-712 domains",
)
def get_contracts(request: Request) -> ContractsRead:
    """Chain id, every deployed contract's name, address and ABI, and MSC's EIP-712 domain.

    Public (no key): the same facts are on chain. Read from the deployment file and build
    artifacts, never from the node; 503 `contracts_not_deployed` until a deployment exists.
    """
    catalog: ContractsCatalog = request.app.state.contracts
    return catalog.current()
