"""A virtual JPKI (My Number) card for tests: the applet state machine (`card`), the vpcd socket client
(`vpcd`), card files from the simulated JPKI CA (`profiles`), and `python -m reader_harness.virtual_card` to run
one card as its own process. Simulation only: it must never hold real keys or real PINs.
"""
