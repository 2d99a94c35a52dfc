"""A local call simulator: runs contact flows with the Lex emulation and the real Lambda code, offline.

Semantics follow the flow language (shared reference §1.2): an action that fails takes the Errors entry of its
error type, else NoMatchingError; an action with a result takes the first matching condition, else
NoMatchingCondition, else NextAction. Transfers end the flow on success (the NextAction Connect requires is
counted as covered, not followed). Each caller input answers the next prompt: digits for DTMF, words for the bot,
``timeout`` for silence, a view action (``Next``) for ShowView, a Wait event (``CustomerReturned``) for Wait.
A call still waiting for input when the inputs run out ends ``stuck``.

Every flow type runs: inbound, transfer, customer queue (the loop of prompts plays until an agent answers; an
interruption runs once), hold and whisper flows (they end with EndFlowExecution or their prompt loop), and modules
(InvokeFlowModule runs the module and comes back on EndFlowModuleExecution). Queue metrics for CheckMetricData and
GetMetricData come from ``metrics``; a flow's own bot from ``Resources.bots``, keyed by its alias ARN or
placeholder. Every other action type of the catalogue is acted out from ``flowkit.simulate.effects``: what it sets
(flow attributes, contact data, language, voice, recording, routing, event hooks, tags) is stored in the call and
visible to later blocks and to scenarios; an action that needs the outside world takes the result ``outside``
supplies, else its documented default.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowkit.language.catalogue import spec_for
from flowkit.language.lint import PLACEHOLDER
from flowkit.simulate.effects import CONTACT_DATA, OUTSIDE, REFUSED, contact_defaults
from flowkit.simulate.lex import LexEmulator, LexTurn
from regions.config import DAYS, HoursOfOperation

MAX_STEPS = 500
#: Where a loop of prompts leaves the contact, by flow type: it plays until Connect ends the flow.
_LOOP_ENDS = {
    "CUSTOMER_QUEUE": "in queue until an agent answers",
    "CUSTOMER_HOLD": "on hold until the agent resumes",
    "AGENT_HOLD": "on hold until the agent resumes",
}
_PATH = re.compile(r"\$\.([A-Za-z]+)((?:\.[A-Za-z0-9_-]+)*)")

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class Override:
    """What a hook makes an action do instead of running: take an error branch, or a result (and ``$.External``)."""

    error: str | None = None
    result: str | None = None
    external: Mapping[str, Any] | None = None


#: Called as each action starts with (flow, action, state: queue, attributes, steps so far); an Override replaces
#: the action's run (a test case's OverrideSystemBehavior). Used by ``flowkit.testcase``.
ActionHook = Callable[[str, Mapping[str, Any], Mapping[str, Any]], "Override | None"]


class SimulationError(RuntimeError):
    """The flow cannot be simulated (an unknown action type, an unmapped Lambda); the message names it."""


class _Inputs:
    """The caller's inputs, one at a time, with a look at the next one (Wait events are only taken if named)."""

    def __init__(self, inputs: list[str]) -> None:
        self._items = list(inputs)
        self._index = 0

    def __iter__(self) -> _Inputs:
        return self

    def __next__(self) -> str:
        if self._index >= len(self._items):
            raise StopIteration
        self._index += 1
        return self._items[self._index - 1]

    def peek(self) -> str | None:
        return self._items[self._index] if self._index < len(self._items) else None


@dataclass
class Step:
    flow: str
    action: str
    type: str
    prompt: str | None
    input: str | None
    branch: str
    dialog: list[tuple[str, str]] | None = None  # a conversation with the bot, in order
    reached: str | None = None  # the function a Lambda block invoked, as the flow named it (region resolved)
    intent: str | None = None  # the intent the bot matched (Lex blocks)


@dataclass
class Outcome:
    kind: str  # disconnected, queued, transferred, ended, stuck
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class CallResult:
    flow: str
    steps: list[Step]
    outcome: Outcome
    attributes: dict[str, str]
    covered: set[tuple[str, str, str]] = field(default_factory=set)
    callbacks: list[dict[str, str]] = field(default_factory=list)
    #: The flow attributes of the flow the call ended in (``UpdateFlowAttributes``; they do not cross flows).
    flow_attributes: dict[str, str] = field(default_factory=dict)
    #: The contact data the call ended with: language, voice, recording, routing, event hooks, tags, and what
    #: outside-world actions returned (``$.Customer``, ``$.Case``...).
    contact: dict[str, Any] = field(default_factory=dict)
    #: Contacts the call created (CreateTask, StartOutboundChatContact, ...): their kind and parameters.
    created: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        found = {
            "flow": self.flow,
            "steps": [{k: v for k, v in asdict(s).items() if k != "dialog"} for s in self.steps],
            "outcome": {"kind": self.outcome.kind, **self.outcome.detail},
            "attributes": self.attributes,
            "flow_attributes": self.flow_attributes,
            "contact": self.contact,
        }
        if self.callbacks:
            found["callbacks"] = self.callbacks
        if self.created:
            found["created"] = self.created
        return found

    @property
    def prompts(self) -> list[str]:
        return [s.prompt for s in self.steps if s.prompt]


def transitions_of(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (action, branch) a flow can take; the denominator of coverage."""
    found: set[tuple[str, str]] = set()
    actions = doc.get("Actions")
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or not isinstance(action.get("Identifier"), str):
            continue
        transitions = _dict(action.get("Transitions"))
        ident = action["Identifier"]
        if transitions.get("NextAction"):
            found.add((ident, "NextAction"))
        for cond in _items(transitions.get("Conditions")):
            found.add((ident, _condition_label(cond)))
        for error in _items(transitions.get("Errors")):
            found.add((ident, f"Error:{error.get('ErrorType')}"))
    return found


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _condition_label(cond: Mapping[str, Any]) -> str:
    c = _dict(cond.get("Condition"))
    return f"Condition:{c.get('Operator')} {' '.join(map(str, _list(c.get('Operands'))))}"


@dataclass
class Resources:
    """What a simulated call can reach: flows by name, hours, queues, Lambdas, the bot."""

    flows: dict[str, dict[str, Any]]
    hours: dict[str, HoursOfOperation]
    queues: dict[str, str]  # queue name -> hours name
    lambdas: dict[str, LambdaHandler]  # "CallerLookup" or a full ARN -> handler
    lex: Callable[[], LexEmulator] | None
    region: str
    lambda_context: Callable[[str], Any]
    on_action: ActionHook | None = None
    #: A flow's own bots: alias ARN, or placeholder name (``BotAliasArn.sales``), -> emulator factory.
    bots: dict[str, Callable[[], LexEmulator]] = field(default_factory=dict)
    #: What answers a Lambda nothing maps (None: the call stops and says which Lambda to map).
    default_lambda: LambdaHandler | None = None
    #: The clock a Lambda's time limit is measured on (None: the wall clock, ``time.perf_counter``).
    lambda_timer: Callable[[], float] | None = None


class _Call:
    def __init__(
        self,
        resources: Resources,
        inputs: list[str],
        at: datetime,
        caller: str | None,
        queue_full: set[str],
        seed: int,
        failures: Mapping[str, str],
        metrics: Mapping[str, float] | None = None,
        outside: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.r = resources
        self.outside = outside or {}
        self.inputs = _Inputs(inputs)
        self.metrics = dict(metrics or {})
        self.metric_values: dict[str, Any] = {}
        self.views: dict[str, Any] = {}
        self.callbacks: list[dict[str, str]] = []
        self.interrupted: set[tuple[str, str]] = set()
        self.at = at
        self.caller = caller
        self.queue_full = queue_full
        self.failures = failures
        self.rng = random.Random(seed)  # noqa: S311 - DistributeByPercentage needs repeatable draws, not secrets
        self.contact_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        self.attributes: dict[str, str] = {}
        #: $.FlowAttributes of the flow running now: UpdateFlowAttributes sets them "on the current flow", "not
        #: carried over to the subsequent flows" (Connect API reference, UpdateFlowAttributes). A transfer starts
        #: the next flow with none; a module has its own and its caller's are back when it returns.
        self.flow_attributes: dict[str, str] = {}
        self.contact: dict[str, Any] = contact_defaults()
        self.created: list[dict[str, Any]] = []
        self.external: dict[str, Any] = {}
        self.lex: dict[str, Any] = {"IntentName": "", "Slots": {}, "SessionAttributes": {}}
        self.stored_input = ""
        self.queue: str | None = None
        self.loops: dict[tuple[str, str], int] = {}
        self.steps: list[Step] = []
        self.covered: set[tuple[str, str, str]] = set()

    @property
    def language(self) -> str:
        """``$.LanguageCode``: the instance's default until UpdateContactData sets it (kept in the contact data)."""
        return str(self.contact.get("LanguageCode") or "en-US")

    # -- values ---------------------------------------------------------------------------------------------------
    def lookup(self, root: str, path: str) -> Any:
        getter = _ROOTS.get(root)
        value: Any = getter(self) if getter is not None else self.contact.get(root, "")
        if path:
            for part in path.split("."):
                if part:
                    value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if "$." not in value:
                return value
            whole = _PATH.fullmatch(value)
            if whole:
                return self.lookup(whole.group(1), whole.group(2))
            return _PATH.sub(lambda m: str(self.lookup(m.group(1), m.group(2))), value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    @staticmethod
    def reference(value: Any, kind: str) -> str | None:
        """The name inside a ``%Kind.Name%`` placeholder, or None."""
        match = PLACEHOLDER.fullmatch(value) if isinstance(value, str) else None
        return match.group(2) if match and match.group(1) == kind else None

    def next_input(self) -> str | None:
        return next(self.inputs, None)

    # -- running --------------------------------------------------------------------------------------------------
    def run(self, flow_name: str) -> Outcome:
        outcome = self.run_flow(flow_name, depth=0)
        return outcome if outcome else Outcome("ended", {"flow": flow_name})

    def run_flow(self, flow_name: str, depth: int) -> Outcome | None:
        if flow_name not in self.r.flows:
            raise SimulationError(f"flow {flow_name!r} is not known (known: {', '.join(sorted(self.r.flows))})")
        if depth > 10:
            return Outcome("stuck", {"flow": flow_name, "reason": "flows transfer to each other more than 10 deep"})
        doc = self.r.flows[flow_name]
        actions = _actions_of(doc)
        current: Any = doc.get("StartAction") if isinstance(doc, dict) else None
        while current is not None:
            if len(self.steps) >= MAX_STEPS:
                return Outcome("stuck", {"flow": flow_name, "action": str(current), "reason": f"{MAX_STEPS} steps"})
            if not isinstance(current, str) or current not in actions:
                raise SimulationError(
                    f"{flow_name}: the path goes to {current!r}, which is not an action of the flow "
                    "(`ivr flows lint` finds this before a call)"
                )
            action = actions[current]
            try:
                result = self.execute(flow_name, action, depth)
            except SimulationError:
                raise
            except (KeyError, TypeError, AttributeError, ValueError, RecursionError) as exc:
                # A malformed action (wrong types in Parameters or Transitions): say where, not a traceback.
                raise SimulationError(
                    f"{flow_name} [{current}]: cannot run this {action.get('Type')!r} action "
                    f"({type(exc).__name__}: {exc}); `ivr flows lint` says what is wrong with it"
                ) from None
            if isinstance(result, Outcome):
                return result
            current = result
        return None

    def flow_type(self, flow: str) -> str | None:
        from flowkit.language.documents import type_of

        return type_of(self.r.flows.get(flow))

    def take(
        self,
        flow: str,
        action: dict[str, Any],
        *,
        error: str | None = None,
        result: Any = None,
        prompt: str | None = None,
        given: str | None = None,
    ) -> str | None:
        """Choose the transition for an action's error or result, record the step, return the next action."""
        transitions = action.get("Transitions") or {}
        branch, target = "NextAction", transitions.get("NextAction")
        if error is not None:
            errors = {e.get("ErrorType"): e.get("NextAction") for e in _items(transitions.get("Errors"))}
            chosen = error if error in errors else "NoMatchingError"
            branch, target = f"Error:{chosen}", errors.get(chosen)
            if target is None:
                raise SimulationError(
                    f"{flow} [{action['Identifier']}]: error {error} has no branch (and no NoMatchingError)"
                )
        elif result is not None and transitions.get("Conditions"):
            for cond in _items(transitions.get("Conditions")):
                if isinstance(cond.get("Condition"), dict) and _matches(cond["Condition"], result):
                    branch, target = _condition_label(cond), cond.get("NextAction")
                    break
            else:
                errors = {e.get("ErrorType"): e.get("NextAction") for e in _items(transitions.get("Errors"))}
                if "NoMatchingCondition" in errors:
                    branch, target = "Error:NoMatchingCondition", errors["NoMatchingCondition"]
        self.steps.append(Step(flow, action["Identifier"], action["Type"], prompt, given, branch))
        self.covered.add((flow, action["Identifier"], branch))
        spec = spec_for(action["Type"])
        if target is None and not (spec and spec.terminal):
            raise SimulationError(f"{flow} [{action['Identifier']}]: no transition for {branch}")
        return target

    def finish(
        self, flow: str, action: dict[str, Any], outcome: Outcome, *, prompt: str | None = None, branch: str = "end"
    ) -> Outcome:
        self.steps.append(Step(flow, action["Identifier"], action["Type"], prompt, None, branch))
        if branch == "NextAction":
            self.covered.add((flow, action["Identifier"], "NextAction"))
        return outcome

    def execute(self, flow: str, action: dict[str, Any], depth: int) -> str | Outcome | None:
        kind = action["Type"]
        if self.r.on_action is not None:
            override = self.r.on_action(flow, action, self.state())
            if override is not None:
                return self.overridden(flow, action, override)
        forced = self.failures.get(f"{flow}:{action['Identifier']}") or self.failures.get(action["Identifier"])
        if forced:
            return self.take(flow, action, error=forced, given="(injected failure)")
        method = _ACTIONS.get(kind) if isinstance(kind, str) else None
        if method is None:
            if kind in REFUSED:
                raise SimulationError(f"{flow} [{action['Identifier']}]: {kind} is not simulated: {REFUSED[kind]}")
            method = "_do_store" if kind in CONTACT_DATA else "_do_outside" if kind in OUTSIDE else None
        handler = getattr(self, method) if method else None
        if handler is None:
            raise SimulationError(f"{flow} [{action['Identifier']}]: action type {kind!r} is not simulated")
        params = action.get("Parameters") or {}
        if not isinstance(params, dict):
            raise SimulationError(f"{flow} [{action['Identifier']}]: Parameters must be an object")
        result: str | Outcome | None = handler(flow, action, self.resolve(params), depth)
        return result

    def state(self) -> dict[str, Any]:
        """What an action hook sees: the queue, the attributes, the flow attributes, how many steps are done."""
        return {"queue": self.queue, "attributes": dict(self.attributes),
                "flow_attributes": dict(self.flow_attributes), "steps": len(self.steps)}  # fmt: skip

    def overridden(self, flow: str, action: dict[str, Any], override: Override) -> str | None:
        if override.error is not None:
            return self.take(flow, action, error=override.error, given="(override)")
        if override.external is not None:
            self.external = dict(override.external)
        return self.take(flow, action, result=override.result, given="(override)")

    # -- actions --------------------------------------------------------------------------------------------------
    def _do_message_participant(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> str | None:
        return self.take(flow, action, prompt=_prompt_text(p))

    def _do_message_participant_iteratively(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        """Loop prompts: in a queue or hold flow they play until the contact leaves; an interruption runs once."""
        messages = _list(p.get("Messages"))
        prompt = " / ".join(_prompt_text(m) or "" for m in messages if isinstance(m, dict)) or None
        transitions = action.get("Transitions") or {}
        key = (flow, action["Identifier"])
        interrupt = any(
            _matches(c.get("Condition") or {}, "MessagesInterrupted") for c in _items(transitions.get("Conditions"))
        )
        if interrupt and key not in self.interrupted:
            self.interrupted.add(key)
            return self.take(flow, action, result="MessagesInterrupted", prompt=prompt)
        if transitions.get("NextAction") and not interrupt:
            return self.take(flow, action, prompt=prompt)
        where = _LOOP_ENDS.get(self.flow_type(flow) or "", "until the flow ends")
        detail = {"flow": flow, "action": action["Identifier"], "reason": f"prompts loop {where}"}
        return self.finish(flow, action, Outcome("ended", detail), prompt=prompt)

    def _do_get_participant_input(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        prompt = _prompt_text(p)
        given = self.next_input()
        if given is None:
            self.steps.append(Step(flow, action["Identifier"], action["Type"], prompt, None, "waiting"))
            return Outcome("stuck", {"flow": flow, "action": action["Identifier"], "waiting_for": "DTMF"})
        if given.strip().lower() == "timeout":
            return self.take(flow, action, error="InputTimeLimitExceeded", prompt=prompt, given=given)
        digits = given.strip()
        if p.get("StoreInput") == "True":
            limit = int(((p.get("InputValidation") or {}).get("CustomValidation") or {}).get("MaximumLength", 20))
            if not re.fullmatch(r"[0-9*#]+", digits) or len(digits) > limit:
                return self.take(flow, action, error="NoMatchingError", prompt=prompt, given=given)
            self.stored_input = digits
            return self.take(flow, action, prompt=prompt, given=given)
        return self.take(flow, action, result=digits[:1], prompt=prompt, given=given)

    def _do_connect_participant_with_lex_bot(
        self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int
    ) -> Any:
        factory = self.bot_for(action)
        if factory is None:
            raise SimulationError(
                f"{flow} [{action['Identifier']}]: no bot to talk to; map the flow's bot alias to a bot model "
                "with --bot ALIAS=path/to/bot.yaml"
            )
        # The bot answers in the locale of the contact's language (docs/languages.md); none serves it: the error.
        emulator = factory().in_language(self.language)
        if emulator is None:
            return self.take(flow, action, error="NoMatchingError", given=f"(no bot locale for {self.language})")
        session = {k: str(v) for k, v in (p.get("LexSessionAttributes") or {}).items()}
        turn: LexTurn = emulator.converse(self.inputs, prompt=_prompt_text(p), session_attributes=session)
        prompt = " / ".join(turn.prompts) or None
        given = " / ".join(turn.inputs) or None
        if turn.waiting:
            self.steps.append(Step(flow, action["Identifier"], action["Type"], prompt, given, "waiting", turn.dialog))
            return Outcome("stuck", {"flow": flow, "action": action["Identifier"], "waiting_for": "speech"})
        if turn.timed_out:
            target = self.take(flow, action, error="InputTimeLimitExceeded", prompt=prompt, given=given)
            self.steps[-1].dialog = turn.dialog
            return target
        self.lex = {"IntentName": turn.intent, "Slots": turn.slots, "SessionAttributes": turn.session_attributes}
        target = self.take(flow, action, result=turn.intent, prompt=prompt, given=given)
        self.steps[-1].dialog = turn.dialog
        self.steps[-1].intent = turn.intent
        return target

    def bot_for(self, action: dict[str, Any]) -> Callable[[], LexEmulator] | None:
        """The flow's own bot for this block (by alias ARN or placeholder), else the kit's bot."""
        raw = (action.get("Parameters") or {}).get("LexV2Bot")
        alias = raw.get("AliasArn") if isinstance(raw, dict) else None
        if isinstance(alias, str):
            match = PLACEHOLDER.fullmatch(alias)
            keys = [alias, self.resolve(alias)]
            if match:
                keys.insert(0, match.group(1) + (f".{match.group(2)}" if match.group(2) else ""))
            for key in keys:
                if isinstance(key, str) and key in self.r.bots:
                    return self.r.bots[key]
        return self.r.lex

    def _do_invoke_lambda_function(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        target = str(p.get("LambdaFunctionARN", ""))
        key = self.reference(target, "FunctionArn") or target
        handler = self.r.lambdas.get(key) or self.r.lambdas.get(target) or self.r.default_lambda
        if handler is None:
            raise SimulationError(
                f"{flow} [{action['Identifier']}]: no handler for Lambda {target!r}; map it "
                "with --lambda NAME_OR_ARN=module:function"
            )
        try:
            limit = float(p.get("InvocationTimeLimitSeconds", 8))
        except (TypeError, ValueError):
            limit = 8.0
        event = self.contact_event(p.get("LambdaInvocationAttributes") or {})
        timer = self.r.lambda_timer or time.perf_counter
        started = timer()
        try:
            response = handler(event, self.r.lambda_context(key))
        except Exception as exc:  # any exception of the function takes Connect's error branch
            return self._reached(key, self.take(flow, action, error="NoMatchingError", prompt=None,
                                                given=f"raised {type(exc).__name__}"))  # fmt: skip
        if timer() - started > limit:
            return self._reached(key, self.take(flow, action, error="NoMatchingError",
                                                given=f"took longer than {limit:g} s"))  # fmt: skip
        json_ok = (p.get("ResponseValidation") or {}).get("ResponseType") == "JSON" and isinstance(response, dict)
        flat = isinstance(response, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in response.items()
        )
        if not (flat or json_ok):
            return self._reached(key, self.take(flow, action, error="NoMatchingError",
                                                given="response is not a flat string map"))  # fmt: skip
        self.external = dict(response)
        return self._reached(key, self.take(flow, action))

    def _reached(self, function: str, target: str | None) -> str | None:
        self.steps[-1].reached = function
        return target

    def _do_update_contact_attributes(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        # [api contact-actions-updatecontactattributes] TargetContact Related sets the related contact's instead:
        # kept in the contact data (RelatedContactAttributes), not visible as $.Attributes.
        related = p.get("TargetContact") == "Related"
        target = self.contact.setdefault("RelatedContactAttributes", {}) if related else self.attributes
        target.update({k: "" if v is None else str(v) for k, v in (p.get("Attributes") or {}).items()})
        return self.take(flow, action)

    def _do_update_flow_attributes(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        """[api flow-control-actions-updateflowattributes] ``{name: {"Value": v}}``; console exports also write
        ``{name: v}``. All or nothing; they last until the flow ends (not carried to the next flow)."""
        values = {}
        for name, value in _dict(p.get("FlowAttributes")).items():
            raw = value.get("Value", "") if isinstance(value, dict) else value
            values[str(name)] = "" if raw is None else str(raw)
        self.flow_attributes.update(values)
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        return self.take(flow, action, given=f"(sets {shown})" if shown else None)

    def _do_update_contact_callback_number(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        """[api contact-actions-updatecontactcallbacknumber] InvalidCallbackNumber when the number is not E.164;
        CallbackNumberNotDialable (a country the instance may not dial) only by ``fail:``."""
        number = str(p.get("CallbackNumber", ""))
        if not _E164.fullmatch(number):
            return self.take(flow, action, error="InvalidCallbackNumber", given=f"({number!r} is not E.164)")
        self.contact["CallbackNumber"] = number
        return self.take(flow, action, given=f"(callback number {number})")

    def _do_store(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        """A contact-data action (``effects.CONTACT_DATA``): store what it sets where later blocks read it."""
        stores = CONTACT_DATA[action["Type"]]
        shown: list[str] = []
        for key, value in p.items():
            if key == "TargetContact" or (stores.keys is not None and key not in stores.keys):
                continue
            if stores.merge is not None and isinstance(value, dict):
                self.contact.setdefault(stores.merge, {}).update({k: _text(v) for k, v in value.items()})
                shown.extend(f"{stores.merge}.{k}={_text(v)}" for k, v in value.items())
            elif stores.remove is not None and isinstance(value, list):
                held = self.contact.setdefault(stores.remove, {})
                for name in value:
                    held.pop(str(name), None)
                shown.append(f"{stores.remove} -{','.join(map(str, value))}")
            else:
                self.contact[key] = value
                shown.append(f"{key}={_text(value)}")
        # A note in parentheses: the transcript shows it on the step, not as something the caller said.
        return self.take(flow, action, given=f"(sets {'; '.join(shown)})" if shown else None)

    def _do_outside(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        """An outside-world action (``effects.OUTSIDE``): the scenario's supplied result, else the default."""
        kind, ident = action["Type"], action["Identifier"]
        reach = OUTSIDE[kind]
        supplied = self.outside.get(f"{flow}:{ident}") or self.outside.get(ident) or self.outside.get(kind)
        if reach.creates is not None:
            self.created.append({"kind": reach.creates, "flow": flow, "action": ident, "parameters": p})
        if supplied is None:
            transitions = _dict(action.get("Transitions"))
            if not transitions.get("NextAction") and transitions.get("Conditions"):
                results = sorted({" ".join(map(str, _list(_dict(c.get("Condition")).get("Operands"))))
                                  for c in _items(transitions.get("Conditions"))})  # fmt: skip
                raise SimulationError(
                    f"{flow} [{ident}]: {kind} reaches {reach.reaches}, which the simulator does not run, and this "
                    f"block has only conditions ({', '.join(results)}); supply its result in the scenario: "
                    f"outside: {{{ident}: {{result: {results[0] if results else '...'}}}}}"
                )
            return self.take(flow, action, given=f"({reach.reaches}: default, succeeds)")
        if supplied.get("error"):
            return self.take(flow, action, error=str(supplied["error"]), given=f"({reach.reaches}: supplied error)")
        for root, value in _dict(supplied.get("data")).items():
            held = self.contact.get(root)
            if isinstance(held, dict) and isinstance(value, dict):
                held.update(value)
            else:
                self.contact[root] = value
        result = supplied.get("result")
        shown = f"({reach.reaches}: supplied{'' if result is None else ' ' + str(result)})"
        return self.take(flow, action, result=None if result is None else str(result), given=shown)

    def _do_compare(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.take(flow, action, result=str(p.get("ComparisonValue", "")))

    def _do_check_hours_of_operation(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        name = self.reference(action["Parameters"].get("HoursOfOperationId", ""), "HoursArn")
        if name is None and self.queue is not None:
            name = self.r.queues.get(self.queue)
        hours = self.r.hours.get(name or "")
        if hours is None:
            return self.take(flow, action, error="NoMatchingError")
        return self.take(flow, action, result="True" if is_open(hours, self.at) else "False")

    def _do_update_contact_target_queue(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        name = self.reference(action["Parameters"].get("QueueId", ""), "QueueArn")
        if name is None or name not in self.r.queues:
            return self.take(flow, action, error="NoMatchingError")
        self.queue = name
        return self.take(flow, action)

    def _do_transfer_contact_to_queue(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        if self.queue is None:
            return self.take(flow, action, error="NoMatchingError")
        if self.queue in self.queue_full:
            return self.take(flow, action, error="QueueAtCapacity")
        return self.finish(flow, action, Outcome("queued", {"queue": self.queue}), branch="NextAction")

    def _do_transfer_to_flow(self, flow: str, action: dict[str, Any], p: dict[str, Any], depth: int) -> Any:
        name = self.reference(action["Parameters"].get("ContactFlowId", ""), "FlowArn")
        if name is None or name not in self.r.flows:
            return self.take(flow, action, error="NoMatchingError")
        self.finish(flow, action, Outcome("transferred"), branch="NextAction")
        self.flow_attributes = {}  # [api flow-control-actions-updateflowattributes] not carried to the next flow
        outcome = self.run_flow(name, depth + 1)
        return outcome or Outcome("ended", {"flow": name})

    def _do_invoke_flow_module(self, flow: str, action: dict[str, Any], p: dict[str, Any], depth: int) -> Any:
        name = self.reference(action["Parameters"].get("FlowModuleId", ""), "ModuleArn")
        if name is None or name not in self.r.flows:
            return self.take(flow, action, error="NoMatchingError")
        # The module's flow attributes are its own; the caller's are there again when it returns.
        saved, self.flow_attributes = self.flow_attributes, {}
        outcome = self.run_flow(name, depth + 1)
        if outcome is not None:
            return outcome
        self.flow_attributes = saved
        return self.take(flow, action)

    def _do_end_flow_module_execution(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        self.finish(flow, action, Outcome("ended"))
        return None

    def _do_loop(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        key = (flow, action["Identifier"])
        count = int(p.get("LoopCount") or 0)
        done = self.loops.get(key, 0)
        if done < count:
            self.loops[key] = done + 1
            return self.take(flow, action, result="ContinueLooping")
        self.loops[key] = 0
        return self.take(flow, action, result="DoneLooping")

    def _do_distribute_by_percentage(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.take(flow, action, result=str(self.rng.randint(1, 100)))

    def _do_transfer_participant_to_third_party(
        self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int
    ) -> Any:
        number = str(p.get("ThirdPartyPhoneNumber", ""))
        if str(p.get("ContinueFlowExecution", "")) == "True":
            # The caller comes back to this flow when the third-party call ends.
            return self.take(flow, action, given=f"called {number}; the call ended")
        return self.finish(flow, action, Outcome("transferred", {"number": number}), branch="NextAction")

    def _do_disconnect_participant(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.finish(flow, action, Outcome("disconnected", {"flow": flow, "action": action["Identifier"]}))

    def _do_end_flow_execution(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.finish(flow, action, Outcome("ended", {"flow": flow, "action": action["Identifier"]}))

    def _do_transfer_contact_to_agent(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        return self.finish(flow, action, Outcome("transferred", {"flow": flow, "to": "agent"}))

    def _do_dequeue_contact_and_transfer_to_queue(
        self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int
    ) -> Any:
        raw = (action.get("Parameters") or {}).get("QueueId", "")
        name = self.reference(raw, "QueueArn")
        if name is None or name not in self.r.queues:
            return self.take(flow, action, error="NoMatchingError")
        if name in self.queue_full:
            return self.take(flow, action, error="QueueAtCapacity")
        self.queue = name
        return self.finish(flow, action, Outcome("queued", {"queue": name}), branch="NextAction")

    def _metric(self, flow: str, action: dict[str, Any], p: dict[str, Any]) -> float:
        metric = str(p.get("MetricType", ""))
        queue = self.reference((action.get("Parameters") or {}).get("QueueId", ""), "QueueArn") or self.queue
        for key in (f"{queue}:{metric}" if queue else None, metric):
            if key and key in self.metrics:
                return float(self.metrics[key])
        raise SimulationError(
            f"{flow} [{action['Identifier']}]: no value for the metric {metric!r}"
            + (f" of queue {queue}" if queue else "")
            + f"; give it with --metric {metric}=N (or 'metrics:' in the scenario)"
        )

    def _do_check_metric_data(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        value = self._metric(flow, action, p)
        shown = f"{value:g}"
        return self.take(flow, action, result=shown, given=f"{p.get('MetricType')} = {shown}")

    def _do_get_metric_data(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        queue = self.reference((action.get("Parameters") or {}).get("QueueId", ""), "QueueArn") or self.queue or ""
        values = {k.split(":", 1)[-1]: v for k, v in self.metrics.items() if ":" not in k or k.startswith(f"{queue}:")}
        self.metric_values = {"Queue": {"Name": queue, **{k: f"{v:g}" for k, v in values.items()}}}
        return self.take(flow, action)

    def _do_create_callback_contact(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        raw = (action.get("Parameters") or {}).get("QueueId", "")
        queue = self.reference(raw, "QueueArn") or self.queue or ""
        if queue and queue not in self.r.queues:
            return self.take(flow, action, error="NoMatchingError")
        self.callbacks.append(
            {
                "queue": queue,
                "number": str(self.contact.get("CallbackNumber") or self.caller or ""),
                "delay_seconds": str(p.get("InitialCallDelaySeconds", "0")),
            }
        )
        return self.take(flow, action, given=f"callback queued for {queue or 'the working queue'}")

    def _do_show_view(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        """A view waits for its user's action: the next input (``Next``, ``Back``...) is the result."""
        view = str(_dict(p.get("ViewResource")).get("Id", "?"))
        given = self.next_input()
        if given is None:
            self.steps.append(Step(flow, action["Identifier"], action["Type"], None, f"(view {view})", "waiting"))
            return Outcome("stuck", {"flow": flow, "action": action["Identifier"], "waiting_for": "view"})
        if given.strip().lower() == "timeout":
            return self.take(flow, action, error="TimeLimitExceeded", given=f"{given} (view {view})")
        self.views = {"Action": given, "ViewResultData": {}}
        return self.take(flow, action, result=given, given=f"{given} (view {view})")

    def _do_wait(self, flow: str, action: dict[str, Any], p: dict[str, Any], _d: int) -> Any:
        """Wait ends with an event the next input names, else with WaitCompleted when its time runs out."""
        events = [e for e in p.get("Events") or [] if isinstance(e, str)] if isinstance(p.get("Events"), list) else []
        upcoming = self.inputs.peek()
        if upcoming is not None and upcoming in events:
            next(self.inputs)
            return self.take(flow, action, result=upcoming, given=upcoming)
        seconds = p.get("TimeoutSeconds", p.get("TimeLimitSeconds", ""))
        return self.take(flow, action, result="WaitCompleted", given=f"(waited {seconds} s)")

    # -- Connect's event for Lambda ---------------------------------------------------------------------------------
    def contact_event(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        endpoint = {"Address": self.caller, "Type": "TELEPHONE_NUMBER"} if self.caller else None
        return {
            "Name": "ContactFlowEvent",
            "Details": {
                "ContactData": {
                    "Attributes": dict(self.attributes),
                    "Channel": "VOICE",
                    "ContactId": self.contact_id,
                    "CustomerEndpoint": endpoint,
                    "InitialContactId": self.contact_id,
                    "InitiationMethod": "INBOUND",
                    "InstanceARN": f"arn:aws:connect:{self.r.region}:000000000000:instance/simulated",
                    "LanguageCode": str(self.contact.get("LanguageCode", "en-US")),
                    "MediaStreams": {"Customer": {"Audio": None}},
                    "PreviousContactId": self.contact_id,
                    "Queue": {"ARN": f"simulated-queue/{self.queue}", "Name": self.queue} if self.queue else None,
                    "SystemEndpoint": {"Address": "+15555550199", "Type": "TELEPHONE_NUMBER"},
                },
                "Parameters": {k: str(v) for k, v in parameters.items()},
            },
        }


_ACTIONS: dict[str, str] = {
    "MessageParticipant": "_do_message_participant",
    "MessageParticipantIteratively": "_do_message_participant_iteratively",
    "GetParticipantInput": "_do_get_participant_input",
    "ConnectParticipantWithLexBot": "_do_connect_participant_with_lex_bot",
    "InvokeLambdaFunction": "_do_invoke_lambda_function",
    "UpdateContactAttributes": "_do_update_contact_attributes",
    "UpdateFlowAttributes": "_do_update_flow_attributes",
    "Compare": "_do_compare",
    "CheckHoursOfOperation": "_do_check_hours_of_operation",
    "UpdateContactTargetQueue": "_do_update_contact_target_queue",
    "TransferContactToQueue": "_do_transfer_contact_to_queue",
    "TransferToFlow": "_do_transfer_to_flow",
    "InvokeFlowModule": "_do_invoke_flow_module",
    "EndFlowModuleExecution": "_do_end_flow_module_execution",
    "Loop": "_do_loop",
    "DistributeByPercentage": "_do_distribute_by_percentage",
    "TransferParticipantToThirdParty": "_do_transfer_participant_to_third_party",
    "DisconnectParticipant": "_do_disconnect_participant",
    "EndFlowExecution": "_do_end_flow_execution",
    "TransferContactToAgent": "_do_transfer_contact_to_agent",
    "DequeueContactAndTransferToQueue": "_do_dequeue_contact_and_transfer_to_queue",
    "CheckMetricData": "_do_check_metric_data",
    "GetMetricData": "_do_get_metric_data",
    "CreateCallbackContact": "_do_create_callback_contact",
    "ShowView": "_do_show_view",
    "Wait": "_do_wait",
    "UpdateContactCallbackNumber": "_do_update_contact_callback_number",
}
#: Action types the simulator acts out: with logic of its own, as contact data, or as an outside-world action.
SIMULATED_TYPES: tuple[str, ...] = tuple(sorted(set(_ACTIONS) | set(CONTACT_DATA) | set(OUTSIDE)))
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

#: JSONPath roots the call answers from its own state; any other root is looked up in the contact data.
_ROOTS: dict[str, Callable[[_Call], Any]] = {
    "Attributes": lambda c: c.attributes,
    "FlowAttributes": lambda c: c.flow_attributes,
    "External": lambda c: c.external,
    "Lex": lambda c: c.lex,
    "StoredCustomerInput": lambda c: c.stored_input,
    "Channel": lambda _c: "VOICE",
    "AwsRegion": lambda c: c.r.region,
    "CustomerEndpoint": lambda c: {"Address": c.caller or "", "Type": "TELEPHONE_NUMBER"},
    "SystemEndpoint": lambda _c: {"Address": "+15555550199", "Type": "TELEPHONE_NUMBER"},
    "Queue": lambda c: {"Name": c.queue or "", "ARN": f"%QueueArn.{c.queue}%" if c.queue else ""},
    "Metrics": lambda c: c.metric_values,
    "Views": lambda c: c.views,
    "ContactId": lambda c: c.contact_id,
    "InitialContactId": lambda c: c.contact_id,
}


#: Each flow document's actions by Identifier, indexed once per document (not once per call).
#: A document whose action list is replaced or changes length is indexed again.
_INDEXES: dict[int, tuple[Any, Any, int, dict[str, dict[str, Any]]]] = {}


def _actions_of(doc: Any) -> dict[str, dict[str, Any]]:
    raw = doc.get("Actions") if isinstance(doc, dict) else None
    listed = raw if isinstance(raw, list) else []
    cached = _INDEXES.get(id(doc))
    if cached is not None and cached[0] is doc and cached[1] is raw and cached[2] == len(listed):
        return cached[3]
    index = {a["Identifier"]: a for a in listed if isinstance(a, dict) and isinstance(a.get("Identifier"), str)}
    if len(_INDEXES) > 4096:  # documents come and go (tests, edited files): keep the cache bounded
        _INDEXES.clear()
    _INDEXES[id(doc)] = (doc, raw, len(listed), index)
    return index


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def _prompt_text(params: Any) -> str | None:
    if not isinstance(params, Mapping):
        return None
    for key in ("Text", "SSML"):
        if params.get(key):
            return str(params[key])
    if params.get("PromptId"):
        # A recorded prompt of connect/prompts is named, as the caller would hear that file.
        named = re.fullmatch(r"%PromptArn\.([A-Za-z0-9_-]+)%", str(params["PromptId"]))
        return f"<recorded prompt {named.group(1)}>" if named else f"<prompt {params['PromptId']}>"
    return None


def _matches(condition: Mapping[str, Any], value: Any) -> bool:
    operator = condition.get("Operator")
    operands = condition.get("Operands")
    operand = str(operands[0]) if isinstance(operands, list) and operands else ""
    text = str(value)
    if operator == "Equals":
        return text == operand
    if operator == "TextStartsWith":
        return text.startswith(operand)
    if operator == "TextEndsWith":
        return text.endswith(operand)
    if operator == "TextContains":
        return operand in text
    try:
        left, right = float(text), float(operand)
    except ValueError:
        return False  # numeric comparisons are false when either side is not a number
    return {
        "NumberGreaterThan": left > right,
        "NumberGreaterOrEqualTo": left >= right,
        "NumberLessThan": left < right,
        "NumberLessOrEqualTo": left <= right,
    }.get(str(operator), False)


def is_open(hours: HoursOfOperation, at: datetime) -> bool:
    """Whether the hours are open at a moment, in the hours' own time zone."""
    local = at.astimezone(ZoneInfo(hours.time_zone))
    day = DAYS[local.weekday()]
    clock = local.time().replace(tzinfo=None)
    return any(day in w.days and w.start <= clock < w.end for w in hours.schedule)


def simulate(
    resources: Resources,
    flow: str,
    inputs: list[str],
    *,
    at: datetime,
    caller: str | None,
    queue_full: set[str] | None = None,
    seed: int = 0,
    failures: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
    outside: Mapping[str, Mapping[str, Any]] | None = None,
) -> CallResult:
    """Run one call through ``flow`` and return its transcript, outcome and final attributes.

    ``failures`` maps an action (``ActionId`` or ``flow:ActionId``) to the error it takes instead of running:
    fault injection for error branches nothing offline can trigger (a failing "Set voice" block, say).
    ``metrics`` gives queue metrics for CheckMetricData and GetMetricData: ``NumberOfAgentsAvailable`` for any
    queue, or ``QUEUE:NumberOfAgentsAvailable`` for one queue. ``outside`` supplies the results of actions that
    need the outside world (``flowkit.simulate.effects.OUTSIDE``), by ``ActionId``, ``flow:ActionId`` or action
    type: ``{"result": ..., "error": ..., "data": {JSONPath root: values}}``.
    """
    call = _Call(resources, inputs, at, caller, queue_full or set(), seed, failures or {}, metrics, outside)
    outcome = call.run(flow)
    return CallResult(flow, call.steps, outcome, dict(call.attributes), call.covered, call.callbacks,
                      dict(call.flow_attributes), call.contact, call.created)  # fmt: skip
