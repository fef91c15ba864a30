"""One originated call on the simulated PBX: a Local channel pair, from Newchannel to Hangup.

Only ``Local`` is a loaded channel technology of the sim.  Event sequences
and ``OriginateResponse`` reasons are those of the ``originate-*``,
``events-call-lifecycle``, ``filter`` and ``hangup-getvar`` transcripts.

Each call runs in its own thread (the dialled half, ``;2``, in a second
one).  The channels are in ``pbx.channels`` while up, so CoreShowChannels,
Hangup and Getvar see them; a channel removed by someone else (an AMI
Hangup) ends the call through its ``on_remove``: the ``OriginateResponse``
still owed goes out (Reason 1, hangup).

Time: the ring timeout (Originate's ``Timeout``) and everything before the
answer run in real time; what follows the answer (``Wait(600)``...) is scaled
by the PBX's ``time_scale`` (else the ``AMI_SIM_TIME_SCALE`` environment
variable, else 1), so tests see whole calls quickly while ring timeouts stay
honoured.
"""

from __future__ import annotations

import os
import threading
import time

from . import callevents
from . import queues as simqueues
from .callspec import CallRequest
from .channel import Channel
from .dialplan import Step
from .pbx import PBX

# How often a waiting call thread looks at pbx.stopping.
_POLL = 0.25


def time_scale(pbx: PBX) -> float:
    """How much faster than real time the sim's calls run after the answer (1: real time)."""
    for value in (pbx.time_scale, os.environ.get("AMI_SIM_TIME_SCALE")):
        if value is None or value == "":
            continue
        try:
            scale = float(value)
        except (TypeError, ValueError):
            continue
        if scale >= 0:
            return scale
    return 1.0


class LocalCall:
    """One originated Local channel pair and its life."""

    def __init__(self, pbx: PBX, spec: CallRequest) -> None:
        self.pbx = pbx
        self.spec = spec
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.device = f"Local/{spec.dial_string}"
        #: dialing -> answered -> ended (or dialing -> ended).
        self.phase = "dialing"
        self.ended = False
        self.reason: int | None = None
        self.decided = threading.Event()
        self.answered_at: float | None = None
        self.queued_in: list[str] = []
        self.one = Channel("")
        self.two = Channel("")
        self.created = time.time()

    # -- helpers ----------------------------------------------------------------

    def leg(self, number: int) -> Channel:
        return self.one if number == 1 else self.two

    def emit(self, event_class: str, headers: list[tuple[str, str]]) -> None:
        if not self.pbx.stopping.is_set():
            self.pbx.broadcast(event_class, headers)

    def block(self, channel: Channel, prefix: str = "") -> list[tuple[str, str]]:
        with self.pbx.lock:
            return channel.snapshot(prefix)

    def update(self, channel: Channel, **fields: object) -> None:
        """Change channel fields under the PBX lock (readers see whole changes)."""
        with self.pbx.lock:
            for name, value in fields.items():
                setattr(channel, name, value)

    def set_state(self, channel: Channel, state: int) -> None:
        self.update(channel, state=state)
        self.emit("call", [("Event", "Newstate"), *self.block(channel)])

    def device_state(self, state: str) -> None:
        self.emit("call", [("Event", "DeviceStateChange"), ("Device", self.device), ("State", state)])

    def hangup_event(self, channel: Channel, cause: int) -> None:
        self.emit("call", callevents.hangup(self.block(channel), cause))

    def request_event(self, name: str, channel: Channel, cause: int) -> None:
        self.emit("call", [("Event", name), *self.block(channel), ("Cause", str(cause))])

    def to_h(self, channel: Channel) -> None:
        """After its dialplan ends, a channel runs the context's ``h`` extension (then sits at h,2)."""
        if self.pbx.dialplan.has(channel.context, "h"):
            self.update(channel, exten="h", priority=2)

    def originate_response(self, success: bool, reason: int) -> None:
        """The OriginateResponse event (Async only)."""
        if self.spec.run_async:
            self.emit("call", callevents.originate_response(self.spec, self.one if success else None, reason))

    def cdr(self, channel: Channel, last_app: str, last_data: str) -> None:
        self.emit("cdr", callevents.cdr(self.spec, channel, (last_app, last_data), (self.created, self.answered_at)))

    def newexten(self, channel: Channel, app: str, data: str) -> None:
        self.emit(
            "dialplan",
            [
                ("Event", "Newexten"),
                *self.block(channel),
                ("Extension", channel.exten),
                ("Application", app),
                ("AppData", data),
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

    def join_queue(self, leg: int, queue: str) -> None:
        channel = self.leg(leg)
        if simqueues.join_queue(self.pbx, queue, channel):
            self.queued_in.append(channel.name)

    def _release(self) -> None:
        """Forget both channels (ended is set first, so the removal hook stays quiet)."""
        for name in self.queued_in:
            simqueues.leave_queue(self.pbx, name)
        for channel in (self.one, self.two):
            if channel.name:
                self.pbx.remove_channel(channel.name)

    def _decide(self, reason: int) -> None:
        self.reason = reason
        self.decided.set()
        self.cond.notify_all()

    # -- the life of the call ------------------------------------------------------

    def start(self) -> None:
        threading.Thread(target=self.run, name=f"sim-call-{self.spec.dial_string}", daemon=True).start()

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

    def _new_channels(self) -> None:
        pbx, spec = self.pbx, self.spec
        base = f"Local/{spec.dial_string}-{pbx.next_local():08x}"
        uid1 = spec.channel_id or pbx.next_uniqueid()
        uid2 = spec.other_id or pbx.next_uniqueid()
        common = {"account_code": spec.account, "context": spec.context, "exten": spec.exten, "priority": 1}
        self.one = pbx.add_channel(
            Channel(
                f"{base};1",
                0,
                **common,  # type: ignore[arg-type]
                uniqueid=uid1,
                linkedid=uid1,
                application="AppDial2",
                application_data="(Outgoing Line)",
                variables=dict(spec.variables),
                on_remove=self._removed,
            )
        )
        # The Local driver copies every variable of ;1 to ;2.
        self.two = pbx.add_channel(
            Channel(
                f"{base};2",
                4,
                **common,  # type: ignore[arg-type]
                uniqueid=uid2,
                linkedid=uid1,
                variables=dict(spec.variables),
                on_remove=self._removed,
            )
        )
        self.emit("call", [("Event", "Newchannel"), *self.block(self.one)])
        self.emit("call", [("Event", "Newchannel"), *self.block(self.two)])

    def _run(self) -> None:
        spec = self.spec
        with self.lock:
            self._new_channels()
            steps = self.pbx.dialplan.find(spec.context, spec.exten)
            if steps is None:
                self._fail_no_extension()
                return
            if spec.cid_num or spec.cid_name:
                self._caller_id()
            self.newexten(self.one, "AppDial2", "(Outgoing Line)")
            self.emit(
                "call",
                [
                    ("Event", "LocalBridge"),
                    *self.block(self.one, "LocalOne"),
                    *self.block(self.two, "LocalTwo"),
                    ("Context", spec.context),
                    ("Exten", spec.exten),
                    ("LocalOptimization", "Yes"),
                ],
            )
            self.emit("call", [("Event", "DialBegin"), *self.block(self.one, "Dest"), ("DialString", spec.dial_string)])
        threading.Thread(target=self._run_leg, args=(2, steps), name=f"sim-call-{self.two.name}", daemon=True).start()
        if self._wait_answer():
            self._run_originator()

    def _wait_answer(self) -> bool:
        """The originating side waits for the answer, up to the ring timeout (real time)."""
        deadline = time.monotonic() + self.spec.ring_timeout
        with self.cond:
            while self.phase == "dialing" and not self.ended and not self.pbx.stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail_no_answer()
                    return False
                self.cond.wait(min(remaining, _POLL))
            return self.phase == "answered" and not self.ended

    def _run_originator(self) -> None:
        """Answered: ;1 runs the target, an application or an extension."""
        spec = self.spec
        if spec.app:
            self.update(self.one, application=spec.app, application_data=spec.app_data)
            # An application that returns (or does not exist) leaves the channel to hang up.
            handler = self.pbx.dialplan.application(spec.app)
            if handler is not None:
                handler(self, 1, spec.app_data)
            self.leg_ended(1)
            return
        target = self.pbx.dialplan.find(spec.target_context, spec.target_exten) or []
        try:
            first = max(1, int(spec.target_priority or 1))
        except ValueError:
            first = 1
        with self.lock:
            self.update(self.one, context=spec.target_context, exten=spec.target_exten, priority=first)
        self._run_leg(1, target, first)

    def _run_leg(self, leg: int, steps: list[Step], first: int = 1) -> None:
        channel = self.leg(leg)
        for priority in range(first, len(steps) + 1):
            if self.ended or self.pbx.stopping.is_set():
                return
            app, data = steps[priority - 1]
            with self.lock:
                if self.ended:
                    return
                self.update(channel, priority=priority, application=app, application_data=data)
                self.newexten(channel, app, data)
            handler = self.pbx.dialplan.application(app)
            if handler is None or handler(self, leg, data):
                break
        self.leg_ended(leg)

    def _caller_id(self) -> None:
        num, name = self.spec.cid_num or "<unknown>", self.spec.cid_name or "<unknown>"
        self.update(self.one, caller_num=num, caller_name=name)
        self.emit("call", [("Event", "NewCallerid"), *self.block(self.one), ("CID-CallingPres", callevents.CID_PRES)])
        self.update(self.one, connected_num=num, connected_name=name)
        self.emit("call", [("Event", "NewConnectedLine"), *self.block(self.one)])
        self.update(self.two, caller_num=num, caller_name=name, connected_num=num, connected_name=name)
        self.emit("call", [("Event", "NewCallerid"), *self.block(self.two), ("CID-CallingPres", callevents.CID_PRES)])
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
                self._fail_busy()
            else:
                self._fail_congestion()
            self.cond.notify_all()

    def _fail_busy(self) -> None:
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

    def _fail_congestion(self) -> None:
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
            else:
                self.phase, self.ended = "ended", True
                self._hang_up_answered(leg)
            self.device_state("NOT_INUSE")
            self.device_state("NOT_INUSE")
            self.cond.notify_all()

    def _hang_up_answered(self, leg: int) -> None:
        one_app = (self.one.application, self.one.application_data)
        two_app = (self.two.application, self.two.application_data)
        if leg == 2:
            # events-call-lifecycle: the dialled side ran Hangup().
            self.request_event("SoftHangupRequest", self.two, 16)
            if self.pbx.dialplan.has(self.two.context, "h"):
                self.update(self.two, exten="h", priority=1)
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
        self.cdr(self.two, *two_app)
        self.cdr(self.one, *one_app)

    def _removed(self, channel: Channel) -> None:
        """A channel's ``on_remove``: someone else (an AMI Hangup) removed one of ours.

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

    def _after_removal(self, channel: Channel) -> None:
        time.sleep(0.01)
        with self.lock:
            if self.ended:
                return
            dialing = self.phase == "dialing"
            self.phase, self.ended = "ended", True
            other = self.two if channel is self.one else self.one
            if other.name and self.pbx.find_channel(other.name) is not None:
                self.pbx.remove_channel(other.name)
                self.hangup_event(other, 16)
                self.device_state("NOT_INUSE")
            self._release()
            if dialing:
                self.originate_response(False, 1)
                self._decide(1)
            self.cond.notify_all()
