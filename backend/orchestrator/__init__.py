"""The orchestrator's domain: experiment lifecycle, round runner, event bus and settlement outbox."""
