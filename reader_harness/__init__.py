"""The reader agent's test harness, outside the simulated world: a virtual JPKI card reached through pcscd and
vpcd (`reader_harness.virtual_card`) and a stand-in for the point platform's terminal API on loopback HTTPS
(`reader_harness.standin_platform`). It imports only `contracts` and `reader_agent`; nothing of the back office
or of `simulator` imports it. Test use only: never run on a shop PC, never exposed beyond 127.0.0.1.
"""
