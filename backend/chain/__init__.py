"""The orchestrator's view of the chain: deployment file, nonce-safe sender, typed client, local anvil."""
