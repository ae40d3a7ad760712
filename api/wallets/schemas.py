"""Response shapes of the wallet metadata endpoint."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DeployedContractRead(BaseModel):
    """One deployed contract as a wallet or dapp needs it."""

    name: str = Field(description="Contract name, e.g. `MadiunStableCoin`.")
    address: str = Field(description="EIP-55 checksummed address.")
    block_number: int = Field(description="Block the contract was deployed in (where to start reading logs).")
    abi: list[dict[str, Any]] = Field(description="The contract's ABI as the compiler emitted it.")


class Eip712DomainRead(BaseModel):
    """An EIP-712 domain exactly as wallets put it in `eth_signTypedData_v4`."""

    name: str
    version: str
    chainId: int  # noqa: N815 - the EIP-712 field name
    verifyingContract: str  # noqa: N815 - the EIP-712 field name


class Eip712FieldRead(BaseModel):
    """One member of an EIP-712 struct type, as `eth_signTypedData_v4` takes it."""

    name: str
    type: str


class ContractsRead(BaseModel):
    """The platform's contracts on the API's network."""

    network: str = Field(description="Network id of the deployment file, e.g. `development`.")
    chain_id: int = Field(description="EIP-155 chain id the contracts live on.")
    contracts: list[DeployedContractRead]
    eip712_domains: dict[str, Eip712DomainRead] = Field(
        description="EIP-712 domains by contract name: `MadiunStableCoin` signs EIP-2612 permits and "
        "EIP-3009 authorizations, `CarbonCredits` signed retirements (`retireWithSig`), `CarbonMarket` "
        "orders."
    )
    eip712_types: dict[str, dict[str, list[Eip712FieldRead]]] = Field(
        description="The `types` of `eth_signTypedData_v4` by contract name (`EIP712Domain` and each struct "
        "the contract verifies: `Permit`, `TransferWithAuthorization`, `ReceiveWithAuthorization`, "
        "`CancelAuthorization`; `Retirement`; `Order`). Put one with the contract's domain, the struct's "
        "name as `primaryType` and the message."
    )
