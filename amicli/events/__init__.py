"""The PBX's event stream: filters, output formats and the reader/writer pipeline.

This is the library behind ``ami events`` (no click here).  The design has
one rule: reading the socket never waits on the output.

* A **reader thread** owns the socket.  It receives 256 KB at a time, splits
  the bytes into messages, filters, formats each *batch* (everything one
  ``recv`` completed) and hands it to a bounded :class:`EventBuffer`.  When
  no client-side filter is active and a received run of bytes holds only
  events in the usual CRLF shape, the batch is that run of bytes itself (a
  "region"): no object is made per event.  The reader also sends the
  keepalive Ping and reconnects.
* A **writer thread** only writes: one ``os.write`` per batch (whole lines
  of at most PIPE_BUF bytes to a pipe), as soon as the batch is queued.
  That is the same as flushing every line for a consumer reading a pipe, at
  a fraction of the system calls; and the two threads never take turns on
  the CPU, the writer being blocked in the kernel or idle.
* When the buffer is full because the consumer is slow, batches are
  dropped and counted; the count is reported on stderr as it happens and at
  exit.  Memory is bounded by the buffer, however many events go by.

JSON fast path
--------------
Each JSON line must equal ``json.dumps(message.to_dict())`` (repeated
headers become lists).  Building a dict per event and encoding it costs
more than everything else together, so an event block of the usual shape is
turned into JSON with a template instead: a compiled regular expression
that checks the block has exactly these header names and captures the
values, and a function made for those names that joins the values into the
JSON object (an f-string: the quickest join Python has).  That is only valid
when every line is ``Key: value`` with no ``:`` in the key, no key repeats,
and no control character needs escaping; those facts depend on the header
*names* only, so they are checked once, when the template is learned from
the first event that has those names.  Anything else takes the general
path (``json.dumps``), so the output is the same either way; the tests
compare the two.
"""

from .buffer import FULL_GRACE, Batch, EventBuffer, event_region_count
from .filters import EventFilter, HeaderTest, ServerFilter, check_server_filter, parse_filter
from .formats import KEY_FIELDS, AmiFormat, JsonFormat, TextFormat, event_time, make_format
from .pipeline import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    DEFAULT_BUFFER,
    TICK,
    Connector,
    EventStream,
    StreamCut,
    StreamOptions,
    StreamResult,
    backoff_delays,
)

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "DEFAULT_BUFFER",
    "FULL_GRACE",
    "KEY_FIELDS",
    "TICK",
    "AmiFormat",
    "Batch",
    "Connector",
    "EventBuffer",
    "EventFilter",
    "EventStream",
    "HeaderTest",
    "JsonFormat",
    "ServerFilter",
    "StreamCut",
    "StreamOptions",
    "StreamResult",
    "TextFormat",
    "backoff_delays",
    "check_server_filter",
    "event_region_count",
    "event_time",
    "make_format",
    "parse_filter",
]
