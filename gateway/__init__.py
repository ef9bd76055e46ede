"""edgepost gateway: the Raspberry Pi service.

Sub-packages, one concern each:

- ``gateway.config``  typed, strict TOML configuration (one pydantic model per concern)
- ``gateway.events``  event model, compact CBOR/JSON codec, topic tree (no vision deps)
- ``gateway.uplink``  durable on-disk spool and the MQTT 5 publisher that drains it
- ``gateway.service`` composition root: wires sources to the uplink, health, state, commands
- ``gateway.broker``  runs a private mosquitto for the demo, the tests and the benchmarks
- ``gateway.cli``     the ``edgepost`` command line
"""

__version__ = "0.1.0"
