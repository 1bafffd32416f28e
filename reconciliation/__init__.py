"""Reconciliation: every source matched against every other, data-quality suites, the break store and its
lifecycle, and the per-municipality release gate (docs/reconciliation.md). Imports only `contracts`; takes a
DuckDB connection and plain values (dates, paths, thresholds) from its caller."""
