"""Typed web3.py client for FLToken and FedShieldStaking: reads, stakes, settlement and history."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import BlockNotFound, TransactionNotFound
from web3.logs import DISCARD
from web3.types import RPCEndpoint, TxReceipt

from backend.chain.deployment import Deployment, load_deployment
from backend.chain.errors import ChainError, ChainUnreachable, NoContractAtAddress, WrongChain
from backend.chain.reverts import RevertDecoder
from backend.chain.sender import TransactionSender, translate_errors

T = TypeVar("T")

WEI_PER_FLT = 10**18
RPC_TIMEOUT_S = 10
# Events of the staking contract that make up a round's or a wallet's history.
HISTORY_EVENTS = ("RoundSettled", "RewardPaid", "Slashed", "Staked", "UnstakeRequested", "Withdrawn")


def flt(amount: int | float | str | Decimal) -> int:
    """FLT (18 decimals) to wei."""
    return int(Decimal(str(amount)) * WEI_PER_FLT)


def to_flt(wei: int) -> Decimal:
    """Wei to FLT."""
    return Decimal(wei) / WEI_PER_FLT


@dataclass(frozen=True)
class NodeStatus:
    """What the chain says of one address."""

    address: str
    balance: int
    stake: int
    pending: int
    unlock_at: int
    eligible: bool


@dataclass(frozen=True)
class ChainParameters:
    """The staking contract's configuration in force."""

    reward: int
    slash: int
    min_stake: int
    cooldown: int
    treasury: str
    orchestrator: str
    last_round_id: int


@dataclass(frozen=True)
class DecodedEvent:
    """One log decoded against the contracts' ABIs."""

    name: str
    args: dict[str, Any]
    contract: str
    tx_hash: str
    block_number: int
    log_index: int


@dataclass(frozen=True)
class TransactionResult:
    """A mined transaction with its decoded events (none when it reverted)."""

    tx_hash: str
    block_number: int
    gas_used: int
    sender: str
    to: str
    events: list[DecodedEvent]
    succeeded: bool = True

    def events_named(self, name: str) -> list[DecodedEvent]:
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class RoundSettlement:
    """What one `settleRound` call carries: the round id it takes and the round's outcome."""

    round_id: int
    model_hash: str | bytes
    results_root: str | bytes
    accepted: list[str]
    slashed: list[str]


@dataclass(frozen=True)
class SettledRound:
    """A round as recorded on chain."""

    round_id: int
    model_hash: str
    results_root: str
    tx_hash: str
    block_number: int
    rewards: dict[str, int] = field(default_factory=dict)
    slashes: dict[str, int] = field(default_factory=dict)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | HexBytes):
        return "0x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _bytes32(value: str | bytes) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value) if isinstance(value, str) else value
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


def connect(rpc_url: str) -> Web3:
    """A Web3 for ``rpc_url`` that has answered once, or ChainUnreachable naming the URL."""
    # web3's call validation asks for the chain id before every eth_call; a chain's id does not change, so
    # ask once (it doubled the RPCs of the intake's stake check: 4 calls became 8 round trips).
    provider = Web3.HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": RPC_TIMEOUT_S},
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    w3 = Web3(provider)
    try:
        w3.eth.chain_id  # noqa: B018 - the first request proves the endpoint answers
    except Exception as exc:
        raise ChainUnreachable(rpc_url, type(exc).__name__) from None
    return w3


class ChainClient:
    """The orchestrator's handle on the deployed contracts; thread-safe."""

    def __init__(
        self,
        deployment: Deployment,
        orchestrator_key: str,
        *,
        rpc_url: str | None = None,
        deployment_file: str = "<in memory>",
    ) -> None:
        self.deployment = deployment
        self.rpc_url = rpc_url or deployment.rpc_url
        self.w3 = connect(self.rpc_url)
        chain_id = self.w3.eth.chain_id
        if chain_id != deployment.chain_id:
            raise WrongChain(self.rpc_url, deployment.chain_id, chain_id)
        for name, contract in (("FLToken", deployment.token), ("FedShieldStaking", deployment.staking)):
            if not self.w3.eth.get_code(Web3.to_checksum_address(contract.address)):
                raise NoContractAtAddress(name, contract.address, chain_id, deployment_file)
        self.token: Contract = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.token.address), abi=deployment.token.abi
        )
        self.staking: Contract = self.w3.eth.contract(
            address=Web3.to_checksum_address(deployment.staking.address), abi=deployment.staking.abi
        )
        self.decoder = RevertDecoder([deployment.token.abi, deployment.staking.abi])
        self.orchestrator: LocalAccount = Account.from_key(orchestrator_key)
        self._senders: dict[str, TransactionSender] = {}
        self._senders_lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path, orchestrator_key: str, *, rpc_url: str | None = None) -> ChainClient:
        return cls(load_deployment(path), orchestrator_key, rpc_url=rpc_url, deployment_file=str(path))

    # -- plumbing -------------------------------------------------------------------------------------

    def sender_for(self, account: LocalAccount) -> TransactionSender:
        """The one sender of ``account`` in this process (created on first use)."""
        with self._senders_lock:
            sender = self._senders.get(account.address)
            if sender is None:
                sender = TransactionSender(self.w3, account, self.decoder, self.rpc_url)
                self._senders[account.address] = sender
            return sender

    def _call(self, action: Callable[[], T]) -> T:
        return translate_errors(self.rpc_url, self.decoder, action)

    def _read(self, fn: Any) -> Any:
        return self._call(fn.call)

    def _result(self, receipt: TxReceipt) -> TransactionResult:
        return TransactionResult(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            sender=receipt["from"],
            to=receipt["to"],
            events=self.decode_logs(receipt),
            succeeded=receipt["status"] == 1,
        )

    def rpc(self, method: str, *params: Any) -> Any:
        """A raw JSON-RPC call (a dev chain's ``anvil_setBalance``, ``evm_snapshot``, ...); ChainError if refused."""
        answer = self._call(lambda: self.w3.provider.make_request(RPCEndpoint(method), list(params)))
        if "error" in answer:
            raise ChainError(f"{method} refused by {self.rpc_url}: {answer['error']}")
        return answer.get("result")

    def decode_logs(self, receipt: TxReceipt) -> list[DecodedEvent]:
        """Every log of ``receipt`` that one of our contracts emitted, decoded, in log order."""
        decoded: list[DecodedEvent] = []
        for contract, label in ((self.token, "FLToken"), (self.staking, "FedShieldStaking")):
            for event_abi in contract.abi:
                if event_abi.get("type") != "event":
                    continue
                event = contract.events[str(event_abi.get("name"))]()
                for log in event.process_receipt(receipt, errors=DISCARD):
                    decoded.append(self._decoded(log, label))
        decoded.sort(key=lambda e: e.log_index)
        return decoded

    @staticmethod
    def _decoded(log: Any, contract: str) -> DecodedEvent:
        return DecodedEvent(
            name=log["event"],
            args={k: _jsonable(v) for k, v in dict(log["args"]).items()},
            contract=contract,
            tx_hash="0x" + bytes(log["transactionHash"]).hex(),
            block_number=log["blockNumber"],
            log_index=log["logIndex"],
        )

    # -- reads ----------------------------------------------------------------------------------------

    def flt_balance(self, address: str) -> int:
        return int(self._read(self.token.functions.balanceOf(Web3.to_checksum_address(address))))

    def eth_balance(self, address: str) -> int:
        """Wei of ETH (for gas) that ``address`` holds."""
        checksum = Web3.to_checksum_address(address)
        return int(self._call(lambda: self.w3.eth.get_balance(checksum)))

    def transaction(self, tx_hash: str) -> TransactionResult | None:
        """The mined transaction ``tx_hash`` (status, block, gas, decoded events); None while the chain, as it
        is now, holds no receipt for it (still pending, never sent, or lost with its blocks)."""

        def fetch() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        receipt = self._call(fetch)
        return None if receipt is None else self._result(receipt)

    def node_status(self, address: str) -> NodeStatus:
        """Balance, stake, pending withdrawal and eligibility of ``address``."""
        checksum = Web3.to_checksum_address(address)
        pending, unlock_at = self._read(self.staking.functions.pendingWithdrawalOf(checksum))
        return NodeStatus(
            address=checksum,
            balance=self.flt_balance(checksum),
            stake=int(self._read(self.staking.functions.stakeOf(checksum))),
            pending=int(pending),
            unlock_at=int(unlock_at),
            eligible=bool(self._read(self.staking.functions.isEligible(checksum))),
        )

    def parameters(self) -> ChainParameters:
        f = self.staking.functions
        return ChainParameters(
            reward=int(self._read(f.rewardAmount())),
            slash=int(self._read(f.slashAmount())),
            min_stake=int(self._read(f.minStake())),
            cooldown=int(self._read(f.cooldown())),
            treasury=str(self._read(f.treasury())),
            orchestrator=str(self._read(f.orchestrator())),
            last_round_id=int(self._read(f.lastRoundId())),
        )

    def last_round_id(self) -> int:
        return int(self._read(self.staking.functions.lastRoundId()))

    def round_model_hash(self, round_id: int) -> str:
        return "0x" + bytes(self._read(self.staking.functions.roundModelHash(round_id))).hex()

    # -- writes ---------------------------------------------------------------------------------------

    def fund(self, address: str, amount: int, *, eth: int = 0) -> TransactionResult:
        """Send ``amount`` FLT wei (and ``eth`` wei for gas, if any) from the orchestrator to ``address``."""
        checksum = Web3.to_checksum_address(address)
        if eth:
            self._send_eth(checksum, eth)
        sender = self.sender_for(self.orchestrator)
        return self._result(sender.send(self.token.functions.transfer(checksum, amount)))

    def _send_eth(self, to: str, amount: int) -> None:
        # Through the orchestrator's sender, so the ETH transfer takes its nonce from the shared counter.
        self.sender_for(self.orchestrator).send_value(to, amount)

    def stake(self, node: LocalAccount, amount: int) -> TransactionResult:
        """Approve and stake ``amount`` FLT wei from ``node``'s own balance, signed by ``node``."""
        sender = self.sender_for(node)
        sender.send(self.token.functions.approve(self.staking.address, amount))
        return self._result(sender.send(self.staking.functions.stake(amount)))

    def request_unstake(self, node: LocalAccount, amount: int) -> TransactionResult:
        return self._result(self.sender_for(node).send(self.staking.functions.requestUnstake(amount)))

    def withdraw(self, node: LocalAccount) -> TransactionResult:
        return self._result(self.sender_for(node).send(self.staking.functions.withdraw()))

    def settle_call(self, settlement: RoundSettlement) -> Any:
        """The unsent `settleRound` call (for a sender that persists its attempts before broadcasting)."""
        return self.staking.functions.settleRound(
            settlement.round_id,
            _bytes32(settlement.model_hash),
            _bytes32(settlement.results_root),
            [Web3.to_checksum_address(a) for a in settlement.accepted],
            [Web3.to_checksum_address(a) for a in settlement.slashed],
        )

    def head(self) -> int:
        """The newest block number."""
        return int(self._call(lambda: self.w3.eth.block_number))

    def block_hash(self, number: int) -> str | None:
        """The hash of the chain's block ``number`` as it is now; None if the chain has no such block."""

        def fetch() -> str | None:
            try:
                return "0x" + bytes(self.w3.eth.get_block(number)["hash"]).hex()
            except BlockNotFound:
                return None

        return self._call(fetch)

    def settle_round(
        self,
        round_id: int,
        model_hash: str | bytes,
        results_root: str | bytes,
        accepted: list[str],
        slashed: list[str],
        *,
        gas: int | None = None,
    ) -> TransactionResult:
        """Settle a whole round in one transaction: rewards, slashes and the model hash."""
        call = self.settle_call(RoundSettlement(round_id, model_hash, results_root, accepted, slashed))
        return self._result(self.sender_for(self.orchestrator).send(call, gas=gas))

    # -- history --------------------------------------------------------------------------------------

    def events(
        self, names: tuple[str, ...] = HISTORY_EVENTS, *, from_block: int | None = None, **filters: Any
    ) -> list[DecodedEvent]:
        """Staking-contract events by name since the deployment block, in chain order."""
        start = self.deployment.deployment_block if from_block is None else from_block
        found: list[DecodedEvent] = []
        for name in names:
            event = self.staking.events[name]()

            def fetch(event: Any = event) -> Any:
                return event.get_logs(from_block=start, argument_filters=filters or None)

            found.extend(self._decoded(log, "FedShieldStaking") for log in self._call(fetch))
        found.sort(key=lambda e: (e.block_number, e.log_index))
        return found

    def settled_rounds(self, *, with_payouts: bool = True) -> list[SettledRound]:
        """Every settled round, with its rewards and slashes unless told not to, read from events."""
        events = self.events(("RoundSettled", "RewardPaid", "Slashed") if with_payouts else ("RoundSettled",))
        rounds: dict[int, SettledRound] = {}
        for e in events:
            if e.name == "RoundSettled":
                rounds[e.args["roundId"]] = SettledRound(
                    round_id=e.args["roundId"],
                    model_hash=e.args["modelHash"],
                    results_root=e.args["resultsRoot"],
                    tx_hash=e.tx_hash,
                    block_number=e.block_number,
                )
        for e in events:
            if e.name == "RewardPaid" and e.args["roundId"] in rounds:
                rounds[e.args["roundId"]].rewards[e.args["node"]] = e.args["amount"]
            elif e.name == "Slashed" and e.args["roundId"] in rounds:
                rounds[e.args["roundId"]].slashes[e.args["node"]] = e.args["amount"]
        return [rounds[k] for k in sorted(rounds)]

    def wallet_history(self, address: str) -> list[DecodedEvent]:
        """Stakes, unstakes, withdrawals, rewards and slashes of one wallet."""
        checksum = Web3.to_checksum_address(address)
        return self.events(
            ("RewardPaid", "Slashed", "Staked", "UnstakeRequested", "Withdrawn"), node=checksum
        )
