"""FedShield orchestrator: experiment lifecycle, Byzantine defense engine, chain settlement and CLI."""
