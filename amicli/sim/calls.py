"""Calls on the simulated PBX: Originate into a small dialplan of Local channels.

The dialplan mirrors the recorded PBX's extensions.conf (``[default]``: 100
answers and hangs up after 2 s, 200 answers and waits 600 s, 300/400 enter
the queues, busy, congest, noanswer, echo, event; ``[agents]`` answers,
``[ringonly]`` only rings).  Only ``Local`` is a loaded channel technology:
any other (``PJSIP/...``, ``SIP/...``, ``Foo/bar``) fails as a technology
that is not loaded does.

Replies, event sequences and ``OriginateResponse`` reasons are those of the
``originate-*``, ``events-call-lifecycle``, ``filter`` and ``hangup-getvar``
transcripts:

* ``Async: true``: ``Originate successfully queued`` at once, then the call's
  events, the outcome in ``OriginateResponse`` (a ``call`` event: sessions
  without read=call or with call events off never see it).
* Without Async the session blocks until the call is answered or fails, then
  answers ``Originate successfully queued`` or ``Originate failed`` (no
  reason); as on Asterisk, the events of that session wait until then.

Each call runs in its own thread (the dialled half, ``;2``, in a second
one).  The channels are in ``pbx.channels`` while up, so CoreShowChannels,
Hangup and Getvar (sim/channels.py) see them; a channel removed by someone
else (an AMI Hangup) ends the call through the ``_on_remove`` hook of
pbx.py: the ``OriginateResponse`` still owed goes out (Reason 1, hangup).

Time: the ring timeout (Originate's ``Timeout``) and everything before the
answer run in real time; what follows the answer (``Wait(600)``...) is scaled
by ``time_scale`` (an attribute of the SimServer or its PBX, else the
``AMI_SIM_TIME_SCALE`` environment variable, else 1), so tests see whole
calls quickly while ring timeouts stay honoured.

Other sim modules may add extensions (:func:`register_extension`) and
applications (:func:`register_app`).
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from typing import TYPE_CHECKING, Callable

from ..protocol import Message, serialize
from .server import Session, action
from .users import permission_mask

if TYPE_CHECKING:
    from .pbx import PBX

Step = tuple[str, str]

#: context -> extension (or ``_pattern``) -> the priorities, as (application, data).
DIALPLAN: dict[str, dict[str, list[Step]]] = {
    "default": {
        "100": [("Answer", ""), ("Wait", "2"), ("Hangup", "")],
        "200": [("Answer", ""), ("Wait", "600"), ("Hangup", "")],
        "300": [("Answer", ""), ("Queue", "support,,,,600"), ("Hangup", "")],
        "400": [("Answer", ""), ("Queue", "sales,,,,600"), ("Hangup", "")],
        "busy": [("Busy", "5")],
        "congest": [("Congestion", "5")],
        "noanswer": [("Ringing", ""), ("Wait", "120")],
        "echo": [("Answer", ""), ("Echo", "")],
        "event": [("Answer", ""), ("UserEvent", "Deploy,Status: done,Build: 42"), ("Hangup", "")],
        "h": [("NoOp", "hangup")],
    },
    "agents": {"_X.": [("Answer", ""), ("Wait", "600")]},
    "ringonly": {"_X.": [("Ringing", ""), ("Wait", "600")]},
}

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    34: "Circuit/channel congestion",
}
#: Channel fields in the order of Newchannel (and of CoreShowChannel, which adds the last three).
CHANNEL_KEYS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
CID_PRES = "0 (Presentation Allowed, Not Screened)"
# How often a waiting call thread looks at pbx.stopping.
_POLL = 0.25


def register_extension(context: str, exten: str, steps: list[Step]) -> None:
    """Add (or replace) an extension of the dialplan: ``steps`` are its priorities."""
    DIALPLAN.setdefault(context, {})[exten] = list(steps)


def _pattern_matches(pattern: str, exten: str) -> bool:
    """Asterisk's extension patterns: ``_`` then X, Z, N, [set], ``.`` (one or more), ``!``."""
    rx = ""
    i = 0
    body = pattern[1:]
    while i < len(body):
        c = body[i]
        if c in "xX":
            rx += "[0-9]"
        elif c in "zZ":
            rx += "[1-9]"
        elif c in "nN":
            rx += "[2-9]"
        elif c == ".":
            rx += ".+"
        elif c == "!":
            rx += ".*"
        elif c == "[":
            end = body.find("]", i)
            if end < 0:
                return False
            rx += "[" + re.escape(body[i + 1 : end]).replace("\\-", "-") + "]"
            i = end
        else:
            rx += re.escape(c)
        i += 1
    return re.fullmatch(rx, exten) is not None


def find_extension(context: str, exten: str) -> list[Step] | None:
    """The priorities of ``exten@context`` (an exact name first, then patterns)."""
    extensions = DIALPLAN.get(context)
    if not extensions or not exten:
        return None
    if exten in extensions:
        return extensions[exten]
    for name, steps in extensions.items():
        if name.startswith("_") and _pattern_matches(name, exten):
            return steps
    return None


# -- applications ---------------------------------------------------------------

#: ``app(call, leg, data) -> bool``: run one dialplan application on a leg
#: (1: the originated half, 2: the dialled half); True ends the leg.
AppHandler = Callable[["LocalCall", int, str], bool]
APPS: dict[str, AppHandler] = {}


def register_app(name: str, handler: AppHandler) -> None:
    """Add (or replace) a dialplan application of the sim."""
    APPS[name.lower()] = handler


def _app_answer(call: "LocalCall", leg: int, data: str) -> bool:
    if leg == 2:
        call.answer()
    return False


def _app_ringing(call: "LocalCall", leg: int, data: str) -> bool:
    if leg == 2:
        call.ringing()
    return False


def _seconds(data: str) -> float:
    try:
        return max(0.0, float(data.split(",")[0] or 0))
    except ValueError:
        return 0.0


def _app_wait(call: "LocalCall", leg: int, data: str) -> bool:
    call.sleep(_seconds(data))
    return False


def _app_busy(call: "LocalCall", leg: int, data: str) -> bool:
    if leg == 2 and call.phase == "dialing":
        call.fail("busy")
        return True
    call.sleep(_seconds(data))
    return True


def _app_congestion(call: "LocalCall", leg: int, data: str) -> bool:
    if leg == 2 and call.phase == "dialing":
        call.fail("congestion")
        return True
    call.sleep(_seconds(data))
    return True


def _app_forever(call: "LocalCall", leg: int, data: str) -> bool:
    call.sleep(None)
    return True


def _app_queue(call: "LocalCall", leg: int, data: str) -> bool:
    from . import queues as simqueues

    channel = call.leg(leg)
    queue = data.split(",")[0]
    if simqueues.join_queue(call.pbx, queue, channel):
        call.queued_in.append(channel["Channel"])
    call.sleep(None)
    return True


def _app_user_event(call: "LocalCall", leg: int, data: str) -> bool:
    name, *pairs = data.split(",")
    extra = []
    for pair in pairs:
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            extra.append((key.strip(), value.strip()))
    call.emit("user", [("Event", "UserEvent"), *call.block(call.leg(leg)), ("UserEvent", name), *extra])
    return False


def _app_hangup(call: "LocalCall", leg: int, data: str) -> bool:
    return True


def _app_noop(call: "LocalCall", leg: int, data: str) -> bool:
    return False


for _name, _handler in (
    ("Answer", _app_answer),
    ("Ringing", _app_ringing),
    ("Wait", _app_wait),
    ("Busy", _app_busy),
    ("Congestion", _app_congestion),
    ("Echo", _app_forever),
    ("MusicOnHold", _app_forever),
    ("Queue", _app_queue),
    ("UserEvent", _app_user_event),
    ("Hangup", _app_hangup),
    ("NoOp", _app_noop),
    ("Playback", _app_noop),
    ("Progress", _app_noop),
    ("Set", _app_noop),
):
    register_app(_name, _handler)


# -- parsing what the action carries ----------------------------------------------


def separate_args(text: str, delim: str = ",") -> list[str]:
    """Asterisk's application-argument splitter (``AST_STANDARD_APP_ARGS``).

    Splits at ``delim`` outside parentheses, brackets and double quotes;
    quotes are removed, a backslash makes the next character literal.
    """
    out: list[str] = []
    cur: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "(":
            paren += 1
            cur.append(c)
        elif c == ")":
            paren = max(0, paren - 1)
            cur.append(c)
        elif c == "[":
            bracket += 1
            cur.append(c)
        elif c == "]":
            bracket = max(0, bracket - 1)
            cur.append(c)
        elif c == '"' and delim != '"':
            quote = not quote
        elif c == "\\":
            i += 1
            if i < len(text):
                cur.append(text[i])
        elif c == delim and not paren and not quote and not bracket:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def parse_variables(request: Message) -> dict[str, str]:
    """The ``Variable:`` headers as Asterisk reads them (several NAME=VALUE per header)."""
    variables: dict[str, str] = {}
    for header in request.get_all("Variable"):
        for item in separate_args(header.lstrip()):
            name, sep, value = item.partition("=")
            if sep and name:
                variables[name] = value
    return variables


def parse_callerid(text: str) -> tuple[str | None, str | None]:
    """``"Ops" <9025>`` -> (name, number), as ast_callerid_parse does; None when absent."""
    text = text.strip()
    match = re.match(r"^(.*?)<([^>]*)>", text)
    if match:
        name, number = match.group(1).strip().strip('"').strip(), match.group(2).strip()
    elif re.fullmatch(r"[0-9+*#()\-. ]+", text or "x"):
        name, number = "", text
    else:
        name, number = text.strip('"'), ""
    number = re.sub(r"[()\-. ]", "", number)
    return (name or None), (number or None)


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("yes", "true", "y", "t", "1", "on")


def time_scale(pbx: PBX) -> float:
    """How much faster than real time the sim's calls run after the answer (1: real time)."""
    for value in (
        getattr(pbx, "time_scale", None),
        getattr(pbx.server, "time_scale", None),
        os.environ.get("AMI_SIM_TIME_SCALE"),
    ):
        if value is None or value == "":
            continue
        try:
            scale = float(value)
        except (TypeError, ValueError):
            continue
        if scale >= 0:
            return scale
    return 1.0


_local_seq: dict[int, itertools.count] = {}
_local_seq_lock = threading.Lock()


def _next_local(pbx: PBX) -> int:
    with _local_seq_lock:
        counter = _local_seq.setdefault(id(pbx), itertools.count(1))
        return next(counter)


# -- one call ---------------------------------------------------------------------------


class LocalCall:
    """One originated Local channel pair and its life, from Newchannel to Hangup."""

    def __init__(self, pbx: PBX, request: Message, exten: str, context: str, run_async: bool) -> None:
        self.pbx = pbx
        self.server = pbx.server
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.action_id = request.get("ActionID") or ""
        self.run_async = run_async
        self.requested = request.get("Channel") or ""
        self.exten, self.context = exten, context
        self.dial_string = self.requested.split("/", 1)[1].split("/", 1)[0]
        self.device = f"Local/{self.dial_string}"
        self.app = request.get("Application") or ""
        self.app_data = request.get("Data") or ""
        self.target_context = request.get("Context") or ""
        self.target_exten = request.get("Exten") or ""
        self.target_priority = request.get("Priority") or ""
        timeout = request.get("Timeout")
        self.ring_timeout = int(re.match(r"\s*([+-]?\d+)", timeout).group(1)) / 1000 if timeout else 30.0
        self.cid_name, self.cid_num = parse_callerid(request.get("CallerID") or "")
        self.account = request.get("Account") or ""
        self.variables = parse_variables(request)
        self.channel_id = request.get("ChannelId") or ""
        self.other_id = request.get("OtherChannelId") or ""
        #: dialing -> answered -> ended (or dialing -> ended).
        self.phase = "dialing"
        self.ended = False
        self.reason: int | None = None
        self.decided = threading.Event()
        self.answered_at: float | None = None
        self.queued_in: list[str] = []
        self.one: dict = {}
        self.two: dict = {}
        self.created = time.time()

    # -- helpers ----------------------------------------------------------------

    def leg(self, number: int) -> dict:
        return self.one if number == 1 else self.two

    def emit(self, event_class: str, headers: list[tuple[str, str]]) -> None:
        if not self.pbx.stopping.is_set():
            self.server.broadcast(event_class, headers)

    def block(self, channel: dict, prefix: str = "") -> list[tuple[str, str]]:
        with self.pbx.lock:
            return [(prefix + key, str(channel.get(key, ""))) for key in CHANNEL_KEYS]

    def update(self, channel: dict, **fields: object) -> None:
        with self.pbx.lock:
            channel.update({k: str(v) for k, v in fields.items()})

    def set_state(self, channel: dict, state: int) -> None:
        self.update(channel, ChannelState=state, ChannelStateDesc=STATE_DESC[state])
        self.emit("call", [("Event", "Newstate"), *self.block(channel)])

    def device_state(self, state: str) -> None:
        self.emit("call", [("Event", "DeviceStateChange"), ("Device", self.device), ("State", state)])

    def hangup_event(self, channel: dict, cause: int) -> None:
        self.emit(
            "call",
            [
                ("Event", "Hangup"),
                *self.block(channel),
                ("Cause", str(cause)),
                ("Cause-txt", CAUSE_TEXT.get(cause, "Unknown")),
            ],
        )

    def request_event(self, name: str, channel: dict, cause: int) -> None:
        self.emit("call", [("Event", name), *self.block(channel), ("Cause", str(cause))])

    def to_h(self, channel: dict) -> None:
        """After its dialplan ends, a channel runs the context's ``h`` extension (then sits at h,2)."""
        if "h" in DIALPLAN.get(channel.get("Context", ""), {}):
            self.update(channel, Exten="h", Priority=2)

    def originate_response(self, success: bool, reason: int) -> None:
        """The OriginateResponse event (Async only), shaped as manager.c builds it."""
        if not self.run_async:
            return
        headers: list[tuple[str, str]] = [("Event", "OriginateResponse")]
        if self.action_id:
            headers.append(("ActionID", self.action_id))
        channel = self.one.get("Channel") if success else self.requested
        headers += [("Response", "Success" if success else "Failure"), ("Channel", channel or self.requested)]
        if self.app:
            headers += [("Application", self.app), ("Data", self.app_data)]
        else:
            headers += [("Context", self.target_context), ("Exten", self.target_exten)]
        uniqueid = self.one.get("Uniqueid") if success else (self.channel_id or "<unknown>")
        headers += [
            ("Reason", str(reason)),
            ("Uniqueid", uniqueid or "<unknown>"),
            ("CallerIDNum", self.cid_num or "<unknown>"),
            ("CallerIDName", self.cid_name or "<unknown>"),
        ]
        self.emit("call", headers)

    def cdr(self, channel: dict, disposition: str, last_app: str, last_data: str) -> None:
        def stamp(t: float | None) -> str:
            return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""

        now = time.time()
        answered = self.answered_at
        self.emit(
            "cdr",
            [
                ("Event", "Cdr"),
                ("AccountCode", self.account),
                ("Source", self.cid_num or ""),
                ("Destination", self.exten),
                ("DestinationContext", self.context),
                ("CallerID", f'"{self.cid_name or ""}" <{self.cid_num or ""}>'),
                ("Channel", channel.get("Channel", "")),
                ("DestinationChannel", ""),
                ("LastApplication", last_app),
                ("LastData", last_data),
                ("StartTime", stamp(self.created)),
                ("AnswerTime", stamp(answered)),
                ("EndTime", stamp(now)),
                ("Duration", str(int(now - self.created))),
                ("BillableSeconds", str(int(now - answered) if answered else 0)),
                ("Disposition", disposition),
                ("AMAFlags", "DOCUMENTATION"),
                ("UniqueID", channel.get("Uniqueid", "")),
                ("UserField", ""),
            ],
        )

    def sleep(self, seconds: float | None) -> None:
        """Wait (until the call ends); after the answer the sim's time scale applies."""
        if seconds is not None and self.phase != "dialing":
            seconds *= time_scale(self.pbx)
        deadline = None if seconds is None else time.monotonic() + seconds
        with self.cond:
            while not self.ended and not self.pbx.stopping.is_set():
                remaining = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
                if remaining <= 0:
                    return
                self.cond.wait(remaining)

    def _release(self) -> None:
        """Forget both channels (ended is set first, so the removal hook stays quiet)."""
        from . import queues as simqueues

        for name in self.queued_in:
            simqueues.leave_queue(self.pbx, name)
        for channel in (self.one, self.two):
            if channel:
                self.pbx.remove_channel(channel["Channel"])

    def _decide(self, reason: int) -> None:
        self.reason = reason
        self.decided.set()
        self.cond.notify_all()

    # -- the life of the call ------------------------------------------------------

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"sim-call-{self.dial_string}", daemon=True).start()

    def run(self) -> None:
        try:
            self._run()
        except Exception:  # noqa: BLE001 - a sim bug must not leave a session waiting forever
            with self.lock:
                if not self.decided.is_set():
                    self._decide(0)
                self.ended = True
                self.cond.notify_all()
            raise

    def _run(self) -> None:
        pbx = self.pbx
        seq = _next_local(pbx)
        base = f"Local/{self.dial_string}-{seq:08x}"
        uid1 = self.channel_id or pbx.next_uniqueid()
        uid2 = self.other_id or pbx.next_uniqueid()
        common = {
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
            "ConnectedLineNum": "<unknown>",
            "ConnectedLineName": "<unknown>",
            "Language": "en",
            "AccountCode": self.account,
            "Context": self.context,
            "Exten": self.exten,
            "Priority": "1",
        }
        with self.lock:
            self.one = pbx.add_channel(
                {
                    "Channel": f"{base};1",
                    "ChannelState": "0",
                    "ChannelStateDesc": "Down",
                    **common,
                    "Uniqueid": uid1,
                    "Linkedid": uid1,
                    "Application": "AppDial2",
                    "ApplicationData": "(Outgoing Line)",
                    "BridgeId": "",
                    "_vars": dict(self.variables),
                    "_on_remove": self._removed,
                }
            )
            # The Local driver copies every variable of ;1 to ;2.
            self.two = pbx.add_channel(
                {
                    "Channel": f"{base};2",
                    "ChannelState": "4",
                    "ChannelStateDesc": "Ring",
                    **common,
                    "Uniqueid": uid2,
                    "Linkedid": uid1,
                    "Application": "",
                    "ApplicationData": "",
                    "BridgeId": "",
                    "_vars": dict(self.variables),
                    "_on_remove": self._removed,
                }
            )
            self.emit("call", [("Event", "Newchannel"), *self.block(self.one)])
            self.emit("call", [("Event", "Newchannel"), *self.block(self.two)])
            steps = find_extension(self.context, self.exten)
            if steps is None:
                self._fail_no_extension()
                return
            if self.cid_num or self.cid_name:
                self._caller_id()
            self.newexten(self.one, "AppDial2", "(Outgoing Line)")
            self.emit(
                "call",
                [
                    ("Event", "LocalBridge"),
                    *self.block(self.one, "LocalOne"),
                    *self.block(self.two, "LocalTwo"),
                    ("Context", self.context),
                    ("Exten", self.exten),
                    ("LocalOptimization", "Yes"),
                ],
            )
            self.emit("call", [("Event", "DialBegin"), *self.block(self.one, "Dest"), ("DialString", self.dial_string)])
        threading.Thread(target=self._run_leg, args=(2, steps), name=f"sim-call-{base};2", daemon=True).start()
        # The originating side: wait for the answer, up to the ring timeout (real time).
        deadline = time.monotonic() + self.ring_timeout
        with self.cond:
            while self.phase == "dialing" and not self.ended and not pbx.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail_no_answer()
                    return
                self.cond.wait(min(remaining, _POLL))
            if self.phase != "answered" or self.ended:
                return
        # Answered: ;1 runs the target, an application or an extension.
        if self.app:
            with self.lock:
                self.update(self.one, Application=self.app, ApplicationData=self.app_data)
            # An application that returns (or does not exist) leaves the channel to hang up.
            handler = APPS.get(self.app.lower())
            if handler is not None:
                handler(self, 1, self.app_data)
            self.leg_ended(1)
        else:
            target = find_extension(self.target_context, self.target_exten) or []
            try:
                first = max(1, int(self.target_priority or 1))
            except ValueError:
                first = 1
            with self.lock:
                self.update(self.one, Context=self.target_context, Exten=self.target_exten, Priority=first)
            self._run_leg(1, target, first)

    def newexten(self, channel: dict, app: str, data: str) -> None:
        self.emit(
            "dialplan",
            [
                ("Event", "Newexten"),
                *self.block(channel),
                ("Extension", channel.get("Exten", "")),
                ("Application", app),
                ("AppData", data),
            ],
        )

    def _run_leg(self, leg: int, steps: list[Step], first: int = 1) -> None:
        channel = self.leg(leg)
        for priority in range(first, len(steps) + 1):
            if self.ended or self.pbx.stopping.is_set():
                return
            app, data = steps[priority - 1]
            with self.lock:
                if self.ended:
                    return
                self.update(channel, Priority=priority, Application=app, ApplicationData=data)
                self.newexten(channel, app, data)
            handler = APPS.get(app.lower())
            if handler is None or handler(self, leg, data):
                break
        self.leg_ended(leg)

    def _caller_id(self) -> None:
        cid = {"CallerIDNum": self.cid_num or "<unknown>", "CallerIDName": self.cid_name or "<unknown>"}
        connected = {"ConnectedLineNum": cid["CallerIDNum"], "ConnectedLineName": cid["CallerIDName"]}
        self.update(self.one, **cid)
        self.emit("call", [("Event", "NewCallerid"), *self.block(self.one), ("CID-CallingPres", CID_PRES)])
        self.update(self.one, **connected)
        self.emit("call", [("Event", "NewConnectedLine"), *self.block(self.one)])
        self.update(self.two, **cid, **connected)
        self.emit("call", [("Event", "NewCallerid"), *self.block(self.two), ("CID-CallingPres", CID_PRES)])
        self.emit("call", [("Event", "NewConnectedLine"), *self.block(self.two)])

    # -- what the dialled side does while dialing (called from its thread) -------------

    def answer(self) -> None:
        """Answer: both halves up, DialEnd ANSWER, OriginateResponse Success (order of hangup-getvar)."""
        with self.lock:
            if self.phase != "dialing" or self.ended:
                return
            self.phase = "answered"
            self.answered_at = time.time()
            self.set_state(self.two, 6)
            self.device_state("INUSE")
            self.set_state(self.one, 6)
            self.emit("call", [("Event", "DialEnd"), *self.block(self.one, "Dest"), ("DialStatus", "ANSWER")])
            self.originate_response(True, 4)
            self.device_state("INUSE")
            self._decide(4)

    def ringing(self) -> None:
        with self.lock:
            if self.phase != "dialing" or self.ended:
                return
            self.set_state(self.one, 5)
            self.emit("call", [("Event", "DialState"), *self.block(self.one, "Dest"), ("DialStatus", "RINGING")])
            self.device_state("INUSE")

    def fail(self, how: str) -> None:
        """The dialled side answered Busy or Congestion: the sequences of originate-async-busy/-congestion."""
        with self.lock:
            if self.phase != "dialing" or self.ended:
                return
            self.phase, self.ended = "ended", True
            if how == "busy":
                self.set_state(self.two, 7)
                self.emit("call", [("Event", "DialEnd"), *self.block(self.one, "Dest"), ("DialStatus", "BUSY")])
                self.request_event("HangupRequest", self.two, 0)
                self.request_event("SoftHangupRequest", self.two, 16)
                self.to_h(self.two)
                self.hangup_event(self.two, 17)
                self.hangup_event(self.one, 0)
                self._release()
                self.originate_response(False, 5)
                self.device_state("INUSE")
                self.device_state("NOT_INUSE")
                self.device_state("NOT_INUSE")
                self._decide(5)
            else:
                self.emit("call", [("Event", "DialEnd"), *self.block(self.one, "Dest"), ("DialStatus", "CONGESTION")])
                self.set_state(self.two, 7)
                self.request_event("HangupRequest", self.two, 0)
                self.device_state("INUSE")
                self.hangup_event(self.one, 0)
                self.originate_response(False, 8)
                self._decide(8)
                self.request_event("SoftHangupRequest", self.two, 16)
                self.device_state("NOT_INUSE")
                self.to_h(self.two)
                self.hangup_event(self.two, 34)
                self.device_state("NOT_INUSE")
                self._release()
            self.cond.notify_all()

    def _fail_no_answer(self) -> None:
        """The ring timeout passed (originate-async-noanswer): Reason 3."""
        self.phase, self.ended = "ended", True
        self.request_event("HangupRequest", self.two, 19)
        self.originate_response(False, 3)
        self._decide(3)
        self.request_event("SoftHangupRequest", self.two, 16)
        self.to_h(self.two)
        self.hangup_event(self.two, 19)
        self.hangup_event(self.one, 19)
        self.device_state("NOT_INUSE")
        self.device_state("NOT_INUSE")
        self._release()
        self.cond.notify_all()

    def _fail_no_extension(self) -> None:
        """The Local channel's extension does not exist (originate-async-no-exten): Reason 0."""
        self.phase, self.ended = "ended", True
        self.hangup_event(self.two, 0)
        self.originate_response(False, 0)
        self._decide(0)
        self.hangup_event(self.one, 0)
        self.device_state("INVALID")
        self.device_state("INVALID")
        self._release()

    # -- the end of an answered call, or of a dialing one whose callee hung up --------

    def leg_ended(self, leg: int) -> None:
        """A leg's program is over: it hangs up, and takes the other half with it."""
        with self.lock:
            if self.ended:
                return
            if self.phase == "dialing":
                # The dialled side gave up before answering: the originator sees a hangup.
                self.phase, self.ended = "ended", True
                self.to_h(self.two)
                self.hangup_event(self.two, 16)
                self.hangup_event(self.one, 16)
                self._release()
                self.originate_response(False, 1)
                self._decide(1)
                self.device_state("NOT_INUSE")
                self.device_state("NOT_INUSE")
                self.cond.notify_all()
                return
            self.phase, self.ended = "ended", True
            one_app = (self.one.get("Application", ""), self.one.get("ApplicationData", ""))
            two_app = (self.two.get("Application", ""), self.two.get("ApplicationData", ""))
            if leg == 2:
                # events-call-lifecycle: the dialled side ran Hangup().
                self.request_event("SoftHangupRequest", self.two, 16)
                if "h" in DIALPLAN.get(self.two.get("Context", ""), {}):
                    self.update(self.two, Exten="h", Priority=1)
                    self.newexten(self.two, "NoOp", "hangup")
                self.request_event("HangupRequest", self.one, 16)
                self.to_h(self.two)
                self.hangup_event(self.two, 16)
                self.hangup_event(self.one, 16)
            else:
                # filter: the originated side's application returned.
                self.request_event("HangupRequest", self.two, 0)
                self.hangup_event(self.one, 0)
                self.to_h(self.two)
                self.hangup_event(self.two, 0)
            self._release()
            self.cdr(self.two, "ANSWERED", *two_app)
            self.cdr(self.one, "ANSWERED", *one_app)
            self.device_state("NOT_INUSE")
            self.device_state("NOT_INUSE")
            self.cond.notify_all()

    def _removed(self, channel: dict) -> None:
        """pbx.remove_channel hook: someone else (an AMI Hangup) removed one of our channels.

        Whoever removed it sent its Hangup events (sim/channels.py does, for
        both halves of a Local channel).  Here the call stops, the other half
        goes too if still there, and the OriginateResponse still owed goes
        out: Reason 1, hangup.  Done in a thread of its own, a moment later,
        so the remover's reply and events come first and no lock is taken
        inside the remover's.
        """
        if self.ended:
            return
        threading.Thread(target=self._after_removal, args=(channel,), daemon=True).start()

    def _after_removal(self, channel: dict) -> None:
        time.sleep(0.01)
        with self.lock:
            if self.ended:
                return
            dialing = self.phase == "dialing"
            self.phase, self.ended = "ended", True
            other = self.two if channel is self.one else self.one
            if other and self.pbx.find_channel(other["Channel"]) is not None:
                self.pbx.remove_channel(other["Channel"])
                self.hangup_event(other, 16)
                self.device_state("NOT_INUSE")
            self._release()
            if dialing:
                self.originate_response(False, 1)
                self._decide(1)
            self.cond.notify_all()


# -- the action ------------------------------------------------------------------------


class _HeldWrites:
    """Hold a session's events while its synchronous Originate blocks it.

    Asterisk writes a session's events only between its actions, so the
    events of a synchronous Originate reach that session after the
    response (originate-sync-ok).  Other sessions get them as they happen.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.buffer: list[bytes] = []
        self.lock = threading.Lock()
        self.holding = True
        session.write = self.write  # type: ignore[method-assign]

    def write(self, data: bytes) -> None:
        with self.lock:
            if self.holding:
                self.buffer.append(data)
                return
        Session.write(self.session, data)

    def release(self, first: bytes) -> None:
        with self.lock:
            self.holding = False
            Session.write(self.session, first + b"".join(self.buffer))
            self.buffer = []
        try:
            del self.session.write
        except AttributeError:
            pass


def _reply(request: Message, response: str, message: str) -> bytes:
    headers = [("Response", response)]
    if request.get("ActionID") is not None:
        headers.append(("ActionID", request.get("ActionID") or ""))
    headers.append(("Message", message))
    return serialize(headers)


@action("Originate", "originate")
def originate(session: Session, request: Message) -> None:
    """Originate, with manager.c's checks in its order and its messages."""
    channel = request.get("Channel") or ""
    exten = request.get("Exten") or ""
    context = request.get("Context") or ""
    priority = request.get("Priority") or ""
    timeout = request.get("Timeout") or ""
    app = request.get("Application") or ""
    data = request.get("Data") or ""
    run_async = _is_true(request.get("Async"))
    if not channel:
        session.error(request, "Channel not specified")
        return
    pi = 0
    if priority:
        match = re.match(r"\s*([+-]?\d+)", priority)
        if match is None:
            # A label: the sim's dialplan has none.
            session.error(request, "Invalid priority")
            return
        pi = int(match.group(1))
    if timeout and re.match(r"\s*[+-]?\d+", timeout) is None:
        session.error(request, "Invalid timeout")
        return
    tech, slash, dial = channel.partition("/")
    if not slash:
        session.error(request, "Invalid channel")
        return
    user = session.user
    if app and user is not None and not (user.write & permission_mask("system")):
        lowered = app.lower()
        if "system" in lowered or "exec" in lowered:
            session.error(request, "Originate Access Forbidden: Application")
            return
        if "SHELL" in data or "EVAL" in data:
            session.error(request, "Originate Access Forbidden: Data")
            return
    if pi and find_extension(context, exten) is None:
        session.error(request, "Extension does not exist.")
        return
    if not run_async and not app and not pi:
        session.error(request, "Originate with 'Exten' requires 'Context' and 'Priority'")
        return
    pbx = session.server.pbx
    call: LocalCall | None = None
    if tech.lower() == "local":
        lexten, _, lcontext = dial.split("/", 1)[0].partition("@")
        call = LocalCall(pbx, request, lexten, lcontext or "default", run_async)
    if run_async:
        session.respond(request, "Success", [("Message", "Originate successfully queued")])
        if call is not None:
            call.start()
        else:
            # The technology is not loaded: the request fails before any channel exists.
            _no_such_technology(pbx, request)
        return
    if call is None:
        session.error(request, "Originate failed")
        return
    held = _HeldWrites(session)
    try:
        call.start()
        while not call.decided.wait(_POLL):
            if pbx.stopping.is_set() or not session.alive:
                break
    finally:
        ok = call.reason == 4
        held.release(
            _reply(request, "Success" if ok else "Error", "Originate successfully queued" if ok else "Originate failed")
        )


def _no_such_technology(pbx: PBX, request: Message) -> None:
    """originate-async-bad-tech: OriginateResponse Failure, Reason 0, and nothing else."""
    headers: list[tuple[str, str]] = [("Event", "OriginateResponse")]
    if request.get("ActionID"):
        headers.append(("ActionID", request.get("ActionID") or ""))
    headers += [("Response", "Failure"), ("Channel", request.get("Channel") or "")]
    if request.get("Application"):
        headers += [("Application", request.get("Application") or ""), ("Data", request.get("Data") or "")]
    else:
        headers += [("Context", request.get("Context") or ""), ("Exten", request.get("Exten") or "")]
    name, number = parse_callerid(request.get("CallerID") or "")
    headers += [
        ("Reason", "0"),
        ("Uniqueid", request.get("ChannelId") or "<unknown>"),
        ("CallerIDNum", number or "<unknown>"),
        ("CallerIDName", name or "<unknown>"),
    ]
    pbx.server.broadcast("call", headers)
