"""A local call simulator: runs contact flows with the Lex emulation and the real Lambda code, offline.

Semantics follow the flow language (shared reference §1.2): an action that fails takes the Errors entry of its
error type, else NoMatchingError; an action with a result takes the first matching condition, else
NoMatchingCondition, else NextAction. Transfers end the flow on success (the NextAction Connect requires is
counted as covered, not followed). Each caller input answers the next prompt: digits for DTMF, words for the bot,
``timeout`` for silence. A call still waiting for input when the inputs run out ends ``stuck``.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flowkit.language.catalogue import spec_for
from flowkit.language.lint import PLACEHOLDER
from flowkit.simulate.lex import LexEmulator, LexTurn
from regions.config import DAYS, HoursOfOperation

MAX_STEPS = 500
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

    def as_json(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "steps": [{k: v for k, v in asdict(s).items() if k != "dialog"} for s in self.steps],
            "outcome": {"kind": self.outcome.kind, **self.outcome.detail},
            "attributes": self.attributes,
        }

    @property
    def prompts(self) -> list[str]:
        return [s.prompt for s in self.steps if s.prompt]


def transitions_of(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (action, branch) a flow can take; the denominator of coverage."""
    found: set[tuple[str, str]] = set()
    for action in doc.get("Actions", []):
        transitions = action.get("Transitions") or {}
        ident = action["Identifier"]
        if transitions.get("NextAction"):
            found.add((ident, "NextAction"))
        for cond in transitions.get("Conditions") or []:
            found.add((ident, _condition_label(cond)))
        for error in transitions.get("Errors") or []:
            found.add((ident, f"Error:{error['ErrorType']}"))
    return found


def _condition_label(cond: Mapping[str, Any]) -> str:
    c = cond.get("Condition", {})
    return f"Condition:{c.get('Operator')} {' '.join(map(str, c.get('Operands', [])))}"


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
    ) -> None:
        self.r = resources
        self.inputs: Iterator[str] = iter(inputs)
        self.at = at
        self.caller = caller
        self.queue_full = queue_full
        self.failures = failures
        self.rng = random.Random(seed)  # noqa: S311 - DistributeByPercentage needs repeatable draws, not secrets
        self.contact_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        self.attributes: dict[str, str] = {}
        self.external: dict[str, Any] = {}
        self.lex: dict[str, Any] = {"IntentName": "", "Slots": {}, "SessionAttributes": {}}
        self.stored_input = ""
        self.queue: str | None = None
        self.loops: dict[tuple[str, str], int] = {}
        self.steps: list[Step] = []
        self.covered: set[tuple[str, str, str]] = set()

    # -- values ---------------------------------------------------------------------------------------------------
    def lookup(self, root: str, path: str) -> Any:
        parts = [p for p in path.split(".") if p]
        value: Any = {
            "Attributes": self.attributes,
            "External": self.external,
            "Lex": self.lex,
            "StoredCustomerInput": self.stored_input,
            "Channel": "VOICE",
            "AwsRegion": self.r.region,
            "CustomerEndpoint": {"Address": self.caller or "", "Type": "TELEPHONE_NUMBER"},
            "SystemEndpoint": {"Address": "+15555550199", "Type": "TELEPHONE_NUMBER"},
            "Queue": {"Name": self.queue or "", "ARN": f"%QueueArn.{self.queue}%" if self.queue else ""},
            "ContactId": self.contact_id,
            "InitialContactId": self.contact_id,
        }.get(root, "")
        for part in parts:
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
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
        actions = {a["Identifier"]: a for a in doc["Actions"]}
        current: str | None = doc["StartAction"]
        while current is not None:
            if len(self.steps) >= MAX_STEPS:
                return Outcome("stuck", {"flow": flow_name, "action": current, "reason": f"{MAX_STEPS} steps"})
            action = actions[current]
            result = self.execute(flow_name, action, depth)
            if isinstance(result, Outcome):
                return result
            current = result
        return None

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
            errors = {e["ErrorType"]: e["NextAction"] for e in transitions.get("Errors") or []}
            chosen = error if error in errors else "NoMatchingError"
            branch, target = f"Error:{chosen}", errors.get(chosen)
            if target is None:
                raise SimulationError(
                    f"{flow} [{action['Identifier']}]: error {error} has no branch (and no NoMatchingError)"
                )
        elif result is not None and transitions.get("Conditions"):
            for cond in transitions["Conditions"]:
                if _matches(cond["Condition"], result):
                    branch, target = _condition_label(cond), cond["NextAction"]
                    break
            else:
                errors = {e["ErrorType"]: e["NextAction"] for e in transitions.get("Errors") or []}
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
        method = _ACTIONS.get(kind)
        handler = getattr(self, method) if method else None
        if handler is None:
            if spec_for(kind) is not None and kind.startswith(("Update", "Tag", "UnTag")):
                return self.take(flow, action)  # settings with no effect on the call's path
            raise SimulationError(f"{flow} [{action['Identifier']}]: action type {kind!r} is not simulated")
        result: str | Outcome | None = handler(flow, action, self.resolve(action.get("Parameters") or {}), depth)
        return result

    def state(self) -> dict[str, Any]:
        """What an action hook sees: the queue, the attributes, how many steps are done."""
        return {"queue": self.queue, "attributes": dict(self.attributes), "steps": len(self.steps)}

    def overridden(self, flow: str, action: dict[str, Any], override: Override) -> str | None:
        if override.error is not None:
            return self.take(flow, action, error=override.error, given="(override)")
        if override.external is not None:
            self.external = dict(override.external)
        return self.take(flow, action, result=override.result, given="(override)")

    # -- actions --------------------------------------------------------------------------------------------------
    def _do_message_participant(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> str | None:
        return self.take(flow, action, prompt=_prompt_text(p))

    def _do_message_participant_iteratively(
        self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int
    ) -> str | None:
        prompt = " / ".join(_prompt_text(m) or "" for m in p.get("Messages", []))
        return self.take(flow, action, prompt=prompt)

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
        if self.r.lex is None:
            raise SimulationError(f"{flow} [{action['Identifier']}]: no bot to talk to")
        emulator = self.r.lex()
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
        return target

    def _do_invoke_lambda_function(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        target = str(p.get("LambdaFunctionARN", ""))
        key = self.reference(target, "FunctionArn") or target
        handler = self.r.lambdas.get(key)
        if handler is None:
            raise SimulationError(
                f"{flow} [{action['Identifier']}]: no handler for Lambda {target!r}; map it "
                "with --lambda NAME_OR_ARN=module:function"
            )
        limit = float(p.get("InvocationTimeLimitSeconds", 8))
        event = self.contact_event(p.get("LambdaInvocationAttributes") or {})
        started = time.perf_counter()
        try:
            response = handler(event, self.r.lambda_context(key))
        except Exception as exc:  # any exception of the function takes Connect's error branch
            return self._reached(key, self.take(flow, action, error="NoMatchingError", prompt=None,
                                                given=f"raised {type(exc).__name__}"))  # fmt: skip
        if time.perf_counter() - started > limit:
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
        self.attributes.update({k: "" if v is None else str(v) for k, v in (p.get("Attributes") or {}).items()})
        return self.take(flow, action)

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
        outcome = self.run_flow(name, depth + 1)
        return outcome or Outcome("ended", {"flow": name})

    def _do_invoke_flow_module(self, flow: str, action: dict[str, Any], p: dict[str, Any], depth: int) -> Any:
        name = self.reference(action["Parameters"].get("FlowModuleId", ""), "ModuleArn")
        if name is None or name not in self.r.flows:
            return self.take(flow, action, error="NoMatchingError")
        outcome = self.run_flow(name, depth + 1)
        if outcome is not None:
            return outcome
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
        return self.finish(flow, action, Outcome("transferred", {"number": number}), branch="NextAction")

    def _do_disconnect_participant(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.finish(flow, action, Outcome("disconnected", {"flow": flow, "action": action["Identifier"]}))

    def _do_end_flow_execution(self, flow: str, action: dict[str, Any], p: dict[str, Any], _depth: int) -> Any:
        return self.finish(flow, action, Outcome("ended", {"flow": flow, "action": action["Identifier"]}))

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
                    "LanguageCode": "en-US",
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
}
#: Actions the simulator runs; ``Update*``/``Tag*`` settings not listed here pass straight to NextAction.


def _prompt_text(params: Mapping[str, Any]) -> str | None:
    for key in ("Text", "SSML"):
        if params.get(key):
            return str(params[key])
    if params.get("PromptId"):
        return f"<prompt {params['PromptId']}>"
    return None


def _matches(condition: Mapping[str, Any], value: Any) -> bool:
    operator = condition.get("Operator")
    operand = str((condition.get("Operands") or [""])[0])
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
) -> CallResult:
    """Run one call through ``flow`` and return its transcript, outcome and final attributes.

    ``failures`` maps an action (``ActionId`` or ``flow:ActionId``) to the error it takes instead of running:
    fault injection for error branches nothing offline can trigger (a failing "Set voice" block, say).
    """
    call = _Call(resources, inputs, at, caller, queue_full or set(), seed, failures or {})
    outcome = call.run(flow)
    return CallResult(flow, call.steps, outcome, dict(call.attributes), call.covered)
