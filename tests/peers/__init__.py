"""Fake AMI peers for tests: one threaded server base, and the peers built on it.

* :mod:`peers.base`: :class:`~peers.base.FakePeer` (a TCP server on
  127.0.0.1 that serves each connection in a thread of its own) and the wire
  helpers every peer uses (splitting messages, reading a header, replies,
  closing with a FIN or a reset).
* :mod:`peers.script`: :class:`~peers.script.ScriptPeer`, which logs any
  client in and then sends what the test chose.
* :mod:`peers.faults`: :class:`~peers.faults.FaultPeer` and its table of
  faults (:data:`~peers.faults.FAULTS`): a bad network, a bad server, a
  hostile one, most of them relayed in front of a sim.
* :mod:`peers.hostile`: what the hostile faults of the fault peer send
  (floods, trickles, forged replies, terminal escapes, the secret quoted back).
* :mod:`peers.certs`: TLS certificates made with ``openssl``.

The replay of recorded sessions (``replay.ReplayServer``) is a FakePeer too;
the sim (``amicli.sim``) is the one peer that is a product of its own.
"""
