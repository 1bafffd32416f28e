"""reader_agent: the shop-terminal program (seisan-reader). It reads a resident's My Number Card through PC/SC
(pyscard), identifies them by the JPKI user-authentication certificate, asks for the PIN safely, has the card
sign the transaction, gets the platform's authorisation, and writes the signed, hash-chained terminal log that
seisan ingests (FORMATS.md terminal/). See docs/reader-agent.md.

It imports only `contracts` of this project (never simulator, ingestion, duckdb, airflow...) so that a shop PC
needs nothing but pyscard and cryptography. It never stores, logs, echoes or raises with a PIN.
"""
