"""Payments: settlement statements, fee-aware payout planning, Zengin 総合振込 files with four-eyes approval, and
the payout ledger that pays every settlement item exactly once (docs/payments.md). Imports `contracts` and
`reconciliation` (the gate) only; takes a DuckDB connection and plain values from its caller."""
