"""The round engine: pure functions from a cohort of updates to verdicts and a new global model.

Nothing here touches the database, the chain or the network; the orchestrator, the simulator, the
Attack Lab probe and the benches all call the same code (docs/ARCHITECTURE.md).
"""
