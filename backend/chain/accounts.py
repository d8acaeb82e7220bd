"""Anvil's well-known development accounts, used by the local chain, the demo and the tests."""

from __future__ import annotations

from eth_account import Account
from eth_account.signers.local import LocalAccount

# Anvil derives its dev accounts from this public test mnemonic: never use these keys on a real network.
ANVIL_MNEMONIC = "test test test test test test test test test test test junk"
# Account 0 of that mnemonic: the deployer and orchestrator of the local chain.
ANVIL_ORCHESTRATOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ACCOUNT_COUNT = 10

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int, mnemonic: str = ANVIL_MNEMONIC) -> LocalAccount:
    """The ``index``-th account that anvil derives from ``mnemonic`` (m/44'/60'/0'/0/index)."""
    if index < 0:
        raise ValueError(f"account index must be >= 0, got {index}")
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")


def dev_accounts(count: int, *, start: int = 0) -> list[LocalAccount]:
    """``count`` consecutive dev accounts from ``start``."""
    return [dev_account(i) for i in range(start, start + count)]


def address_of_key(key: bytes | str) -> str:
    """The checksummed address that signs with private key ``key``."""
    return str(Account.from_key(key).address)
