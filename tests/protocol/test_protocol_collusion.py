"""Colluding simulated attackers of one fleet process over real HTTP: they pool their honest updates of the
round and send the ALIE update crafted from them (the papers' partial-knowledge variant)."""

from __future__ import annotations

import threading

import numpy as np
import torch

from backend.chain.accounts import dev_account
from tests.protocol.conftest import StartOrchestrator
from workers.attacks import AttackConfig, cohort_mean_std
from workers.node import NodeClient, NodeReport, simulated_share
from workers.task import round_seed
from workers.tensors import flatten
from workers.training import train_local
from workers.wire import decode_tensors, payload_limit

KEYS = ["0x" + bytes(dev_account(i).key).hex() for i in range(1, 5)]
ADDRESSES = [dev_account(i).address for i in range(1, 5)]


def test_colluders_in_one_process_send_mean_minus_z_std_of_their_pooled_honest_updates(
    orchestrator: StartOrchestrator,
) -> None:
    attackers = ADDRESSES[2:]
    alie = AttackConfig(kind="alie", z=1.0)
    fake, url = orchestrator(nodes=ADDRESSES, rounds=2, attackers=dict.fromkeys(attackers, alie))
    # One training slot for all four: a colluder waiting for the other must not hold it.
    slots = threading.Semaphore(1)
    nodes = [NodeClient(url, key, training_slots=slots) for key in KEYS]
    reports: dict[str, NodeReport] = {}
    threads = [threading.Thread(target=lambda n=n: reports.__setitem__(n.address, n.run(1))) for n in nodes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for node in nodes:
            node.stop()
        for thread in threads:
            thread.join(10)

    assert fake.status == "completed" and not fake.rejected
    assert all(reports[a].submitted_rounds == [1, 2] for a in ADDRESSES)

    # From round 2 on both colluders know each other: each sends μ - z·std of their two honest updates
    # (identical updates also show that neither held the one training slot while it waited).
    base = decode_tensors(
        list(fake.models.values())[1], fake.layout, max_bytes=payload_limit(fake.layout)
    )  # the global model of round 2
    honest = []
    for address in attackers:
        sim = fake.task_for(address).simulation
        assert sim is not None
        data = simulated_share(sim, fake.data.train.spec)
        seed = round_seed(sim.seed, 2, sim.node_index)
        honest.append(
            flatten(train_local(fake.spec, base, data.x, data.y, fake.train_config, seed=seed).delta)
        )
    mean, std = cohort_mean_std(np.stack(honest))
    sent = {r.update.address: flatten(r.update.delta) for r in fake.received if r.round == 2}
    assert np.array_equal(sent[attackers[0]], sent[attackers[1]])
    torch.testing.assert_close(
        torch.from_numpy(sent[attackers[0]]),
        torch.from_numpy((mean - std).astype(np.float32)),
        rtol=1e-4,
        atol=1e-6,
    )
