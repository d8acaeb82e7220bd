"""The ledger: what the database promises about the chain, and the loop that keeps it true (docs/LEDGER.md)."""
