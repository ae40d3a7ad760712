"""An independent client: the deployed token driven with plain web3.py, as a wallet would.

No Brownie objects touch the token here: keys are local (eth_account), transactions are signed
locally and sent raw over JSON-RPC through :mod:`chain`, permits are EIP-712 typed data.
Brownie only deploys (scripts/deploy.py) and funds the fresh wallets with ETH for gas.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from brownie import accounts
from brownie import web3 as brownie_web3
from eth_account import Account

from chain import eip712
from chain.deployments import Deployment, check_deployment
from chain.errors import ContractRevertError, StaleDeploymentError
from chain.platform import Platform, load_platform
from chain.sender import TransactionSender
from chain.settings import ChainSettings
from chain.signer import Signer
from common.money import rupiah


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Platform:
    from scripts.deploy import deploy

    out: Path = tmp_path_factory.mktemp("deployments")
    deployment = deploy(deployer=accounts[0], deployments_dir=out)
    settings = ChainSettings(
        rpc_url=brownie_web3.provider.endpoint_uri, network=deployment.network, deployments_dir=out
    )
    return load_platform(settings)


@pytest.fixture(scope="module")
def issuer(platform: Platform) -> TransactionSender:
    """The deployer holds every role on a development deployment; it signs as Signer.dev(0)."""
    sender = TransactionSender(platform.w3, Signer.dev(0), platform.decoder)
    msc = platform.msc
    sender.transact(msc.functions.attestReserves(rupiah(10_000_000), "WALLET-TEST"))
    sender.transact(msc.functions.configureMinter(sender.address, rupiah(10_000_000)))
    return sender


def _fresh_wallet(platform: Platform, issuer: TransactionSender, funds: int) -> Signer:
    wallet = Signer(Account.create())
    accounts[0].transfer(wallet.address, "1 ether")
    if funds:
        issuer.transact(platform.msc.functions.mint(wallet.address, funds))
    return wallet


def test_wallet_transfersWithLocallySignedTransaction(platform: Platform, issuer: TransactionSender) -> None:
    wallet = _fresh_wallet(platform, issuer, rupiah(50_000))
    payee = Account.create().address
    sender = TransactionSender(platform.w3, wallet, platform.decoder)
    receipt = sender.transact(platform.msc.functions.transfer(payee, rupiah(12_500)))
    assert receipt["status"] == 1
    assert platform.msc.functions.balanceOf(payee).call() == rupiah(12_500)
    assert platform.msc.functions.balanceOf(wallet.address).call() == rupiah(37_500)
    (event,) = platform.msc.events.Transfer().process_receipt(receipt)
    assert (event.args["from"], event.args["to"], event.args["value"]) == (
        wallet.address,
        payee,
        rupiah(12_500),
    )


def test_wallet_revertBecomesTypedErrorAndNothingIsSent(
    platform: Platform, issuer: TransactionSender
) -> None:
    wallet = _fresh_wallet(platform, issuer, 100)
    sender = TransactionSender(platform.w3, wallet, platform.decoder)
    nonce_before = platform.w3.eth.get_transaction_count(wallet.address)
    with pytest.raises(ContractRevertError) as info:
        sender.transact(platform.msc.functions.transfer(Account.create().address, 101))
    assert info.value.error_name == "ERC20InsufficientBalance"
    assert info.value.args_by_name == {"sender": wallet.address, "balance": 100, "needed": 101}
    assert info.value.tx_hash is None
    assert platform.w3.eth.get_transaction_count(wallet.address) == nonce_before


def test_wallet_onChainRevertIsReplayedForItsError(
    platform: Platform, issuer: TransactionSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    """State can change between the dry run and mining; the mined revert is still decoded by name."""
    wallet = _fresh_wallet(platform, issuer, 100)
    sender = TransactionSender(platform.w3, wallet, platform.decoder)
    fn = platform.msc.functions.transfer(Account.create().address, 500)
    monkeypatch.setattr(type(fn), "estimate_gas", lambda self, *a, **k: 100_000)
    with pytest.raises(ContractRevertError) as info:
        sender.transact(fn)
    assert info.value.error_name == "ERC20InsufficientBalance"
    assert info.value.tx_hash is not None
    assert platform.w3.eth.get_transaction_receipt(info.value.tx_hash)["status"] == 0


def test_wallet_paysWithPermitRelayedByAnotherAccount(platform: Platform, issuer: TransactionSender) -> None:
    wallet = _fresh_wallet(platform, issuer, rupiah(10_000))
    relayer = TransactionSender(platform.w3, Signer.dev(3), platform.decoder)
    msc = platform.msc
    deadline = platform.w3.eth.get_block("latest")["timestamp"] + 3600
    domain = eip712.msc_domain(platform.w3.eth.chain_id, msc.address)
    typed = eip712.permit(domain, wallet.address, relayer.address, rupiah(4_000), 0, deadline)
    v, r, s = eip712.split_signature(wallet.sign_typed_data(typed).signature)
    relayer.transact(msc.functions.permit(wallet.address, relayer.address, rupiah(4_000), deadline, v, r, s))
    assert msc.functions.allowance(wallet.address, relayer.address).call() == rupiah(4_000)
    relayer.transact(msc.functions.transferFrom(wallet.address, relayer.address, rupiah(4_000)))
    assert msc.functions.balanceOf(wallet.address).call() == rupiah(6_000)
    with pytest.raises(ContractRevertError) as info:
        relayer.transact(
            msc.functions.permit(wallet.address, relayer.address, rupiah(4_000), deadline, v, r, s)
        )
    assert info.value.error_name == "MSCInvalidSignature"


def test_wallet_gaslessTransferWithAuthorization(platform: Platform, issuer: TransactionSender) -> None:
    """EIP-3009: the payer holds no ETH at all; a relayer submits the signed authorization."""
    payer = Signer(Account.create())
    issuer.transact(platform.msc.functions.mint(payer.address, rupiah(2_000)))
    relayer = TransactionSender(platform.w3, Signer.dev(4), platform.decoder)
    payee = Account.create().address
    now = platform.w3.eth.get_block("latest")["timestamp"]
    nonce = b"\x42" * 32
    domain = eip712.msc_domain(platform.w3.eth.chain_id, platform.msc.address)
    typed = eip712.authorization(
        domain, "TransferWithAuthorization", payer.address, payee, rupiah(1_500), 0, now + 600, nonce
    )
    v, r, s = eip712.split_signature(payer.sign_typed_data(typed).signature)
    relayer.transact(
        platform.msc.functions.transferWithAuthorization(
            payer.address, payee, rupiah(1_500), 0, now + 600, nonce, v, r, s
        )
    )
    assert platform.w3.eth.get_balance(payer.address) == 0
    assert platform.msc.functions.balanceOf(payee).call() == rupiah(1_500)
    assert platform.msc.functions.authorizationState(payer.address, nonce).call() is True


def test_sender_concurrentSendsGetDistinctNonces(platform: Platform, issuer: TransactionSender) -> None:
    wallet = _fresh_wallet(platform, issuer, rupiah(1_000))
    sender = TransactionSender(platform.w3, wallet, platform.decoder)
    payees = [Account.create().address for _ in range(8)]
    errors: list[BaseException] = []
    start_nonce = platform.w3.eth.get_transaction_count(wallet.address)

    def pay(payee: str) -> None:
        try:
            sender.transact(platform.msc.functions.transfer(payee, rupiah(100)))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(p,)) for p in payees]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert platform.w3.eth.get_transaction_count(wallet.address) == start_nonce + 8
    assert [platform.msc.functions.balanceOf(p).call() for p in payees] == [rupiah(100)] * 8
    assert platform.msc.functions.balanceOf(wallet.address).call() == rupiah(200)


def test_checkDeployment_refusesAnotherChainsFile(platform: Platform) -> None:
    stale = Deployment(
        network=platform.deployment.network,
        chain_id=platform.deployment.chain_id,
        genesis_hash="0x" + "00" * 32,
        contracts=platform.deployment.contracts,
    )
    with pytest.raises(StaleDeploymentError, match="another chain"):
        check_deployment(platform.w3, stale)
