"""The DICOM UL state transition table (PS3.8 §9.2.3, Table 9-10) and ``step``.

Sans-IO and pure: ``step(state, event, context, payload)`` looks the pair up in
``TRANSITIONS``, runs the action (``actions.py``) and returns the next state with the
action's effects. Nothing here touches sockets or clocks.

Invariants:

- The table is Table 9-10 cell for cell; ``_TABLE`` below is laid out as the standard
  prints it, one row per event, one column per state ("." is an empty cell).
- Each action has the next state PS3.8 Tables 9-6 to 9-9 give it. AE-6 and AR-8 have
  two; their effect list ends with a :class:`NextState` that must be one of them.
- Empty cells. PS3.8 defines no behaviour for them, and none can be reached by a peer:
  a PDU can only arrive in a state with an open transport, and every such cell is
  filled. What remains are local events:

  * a primitive or transport report the state does not allow is our own misuse and
    raises :class:`LocalProtocolError`, leaving the state unchanged;
  * a late "transport closed" (Evt17 in Sta1) or a stale ARTIM expiry (Evt18 outside
    Sta2/Sta13) is ignored: the driver cannot always cancel a timer or suppress a
    close notification in time, and neither changes anything once the association is
    gone or the timer no longer applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from dicomkit.errors import LocalProtocolError
from dicomkit.net.ul import actions
from dicomkit.net.ul.actions import ActionFunction, Context, Effect, NextState, Payload
from dicomkit.net.ul.events import Event
from dicomkit.net.ul.states import State

__all__ = ["ACTIONS", "TRANSITIONS", "Action", "step"]

S = State


@dataclass(frozen=True, slots=True)
class Action:
    """One action of PS3.8 Tables 9-6 to 9-9: its name, function and next state(s)."""

    name: str
    function: ActionFunction
    next_states: tuple[State, ...]

    @property
    def conditional(self) -> bool:
        return len(self.next_states) > 1


ACTIONS: Final[dict[str, Action]] = {
    action.name: action
    for action in (
        Action("AE-1", actions.ae_1, (S.STA4,)),
        Action("AE-2", actions.ae_2, (S.STA5,)),
        Action("AE-3", actions.ae_3, (S.STA6,)),
        Action("AE-4", actions.ae_4, (S.STA1,)),
        Action("AE-5", actions.ae_5, (S.STA2,)),
        Action("AE-6", actions.ae_6, (S.STA3, S.STA13)),
        Action("AE-7", actions.ae_7, (S.STA6,)),
        Action("AE-8", actions.ae_8, (S.STA13,)),
        Action("DT-1", actions.dt_1, (S.STA6,)),
        Action("DT-2", actions.dt_2, (S.STA6,)),
        Action("AR-1", actions.ar_1, (S.STA7,)),
        Action("AR-2", actions.ar_2, (S.STA8,)),
        Action("AR-3", actions.ar_3, (S.STA1,)),
        Action("AR-4", actions.ar_4, (S.STA13,)),
        Action("AR-5", actions.ar_5, (S.STA1,)),
        Action("AR-6", actions.ar_6, (S.STA7,)),
        Action("AR-7", actions.ar_7, (S.STA8,)),
        Action("AR-8", actions.ar_8, (S.STA9, S.STA10)),
        Action("AR-9", actions.ar_9, (S.STA11,)),
        Action("AR-10", actions.ar_10, (S.STA12,)),
        Action("AA-1", actions.aa_1, (S.STA13,)),
        Action("AA-2", actions.aa_2, (S.STA1,)),
        Action("AA-3", actions.aa_3, (S.STA1,)),
        Action("AA-4", actions.aa_4, (S.STA1,)),
        Action("AA-5", actions.aa_5, (S.STA1,)),
        Action("AA-6", actions.aa_6, (S.STA13,)),
        Action("AA-7", actions.aa_7, (S.STA13,)),
        Action("AA-8", actions.aa_8, (S.STA13,)),
    )
}

# PS3.8 Table 9-10, as printed: rows are events, columns states Sta1 .. Sta13.
_TABLE: Final = """
          Sta1  Sta2  Sta3  Sta4  Sta5  Sta6  Sta7  Sta8  Sta9  Sta10 Sta11 Sta12 Sta13
    Evt1  AE-1  .     .     .     .     .     .     .     .     .     .     .     .
    Evt2  .     .     .     AE-2  .     .     .     .     .     .     .     .     .
    Evt3  .     AA-1  AA-8  .     AE-3  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
    Evt4  .     AA-1  AA-8  .     AE-4  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
    Evt5  AE-5  .     .     .     .     .     .     .     .     .     .     .     .
    Evt6  .     AE-6  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
    Evt7  .     .     AE-7  .     .     .     .     .     .     .     .     .     .
    Evt8  .     .     AE-8  .     .     .     .     .     .     .     .     .     .
    Evt9  .     .     .     .     .     DT-1  .     AR-7  .     .     .     .     .
    Evt10 .     AA-1  AA-8  .     AA-8  DT-2  AR-6  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
    Evt11 .     .     .     .     .     AR-1  .     .     .     .     .     .     .
    Evt12 .     AA-1  AA-8  .     AA-8  AR-2  AR-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-6
    Evt13 .     AA-1  AA-8  .     AA-8  AA-8  AR-3  AA-8  AA-8  AR-10 AR-3  AA-8  AA-6
    Evt14 .     .     .     .     .     .     .     AR-4  AR-9  .     .     AR-4  .
    Evt15 .     .     AA-1  AA-2  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  AA-1  .
    Evt16 .     AA-2  AA-3  .     AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-3  AA-2
    Evt17 .     AA-5  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AA-4  AR-5
    Evt18 .     AA-2  .     .     .     .     .     .     .     .     .     .     AA-2
    Evt19 .     AA-1  AA-8  .     AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-8  AA-7
"""


def _parse_table(text: str) -> dict[tuple[State, Event], Action]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    states = [State[name.upper()] for name in header]
    table: dict[tuple[State, Event], Action] = {}
    for row in rows:
        event = Event[row[0].upper()]
        for state, cell in zip(states, row[1:], strict=True):
            if cell != ".":
                table[(state, event)] = ACTIONS[cell]
    return table


TRANSITIONS: Final[dict[tuple[State, Event], Action]] = _parse_table(_TABLE)

# Empty cells that are stale notifications rather than misuse (see the module docstring).
_IGNORED_WHEN_EMPTY: Final = frozenset({Event.EVT17, Event.EVT18})


def step(state: State, event: Event, context: Context, payload: Payload = None) -> tuple[State, list[Effect]]:
    """Run the action Table 9-10 gives for (state, event); return (next state, effects).

    Raises:
        LocalProtocolError: the cell is empty and the event is a local primitive or
            transport report that this state does not allow.
    """
    action = TRANSITIONS.get((state, event))
    if action is None:
        if event in _IGNORED_WHEN_EMPTY:
            return state, []
        raise LocalProtocolError(
            f"{event.name} ({event.description}) is not allowed in {state.name} ({state.description})"
        )
    effects = action.function(context, payload)
    if not action.conditional:
        return action.next_states[0], effects
    choice = effects.pop()
    if not isinstance(choice, NextState) or choice.state not in action.next_states:
        raise AssertionError(f"{action.name} chose {choice!r}, not one of {action.next_states}")
    return choice.state, effects
