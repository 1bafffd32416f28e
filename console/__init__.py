"""The officers' console (issue 13): the morning's work in a browser, each person seeing only what is theirs.

A FastAPI application with server-rendered Jinja2 pages (console.app), its accounts and its own audit log
(console.accounts, a SQLite file under SEISAN_HOME), signed session cookies and CSRF tokens (console.security).
It adds no business rule: every action calls the functions the command line calls (reconciliation.breaks,
seisan.steps.gate_step, payments.signing/file_steps), and every page reads the warehouse read-only.
"""
