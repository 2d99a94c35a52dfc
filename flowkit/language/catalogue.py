"""What the Amazon Connect flow language allows, action by action and flow type by flow type, as data.

The linter and the simulator read this module; nothing here runs a rule. Each fact names its source:

- [api] the Connect API reference, "Amazon Connect Flow language" pages (docs.aws.amazon.com/connect/latest/
  APIReference/flow-language-*.html, participant-actions-*, contact-actions-*, flow-control-actions-*,
  interactions-*), the current guide. Where it disagrees with the 2022 admin guide, the current guide wins.
- [admin] the Connect administrator guide, flow block pages (adminguide/<block>.html) and default flows.
- [2022] the archived admin guide on GitHub (awsdocs/amazon-connect-admin-guide, flow-language pages, ~2023).
- [export] seen in flows the console exported or AWS published (tests/corpus/flows/MANIFEST.yaml names them).

Policy (issue 11): a rule is an error only where a source says Connect rejects the thing. What the catalogue does
not know (a new action type, an extra parameter, a JSONPath root it has not seen) is a warning at most: the
language grows faster than any copy of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

FLOW_VERSION = "2019-10-30"  # [api] flow-language-example: the only supported Version
MAX_ACTIONS = 250  # [2022] flow-language: at most 250 actions per flow
#: Connect API reference, CreateContactFlow / UpdateContactFlowContent Content: maximum length 256,000 characters;
#: CreateContactFlowModule Content: min 1, max 256000 (botocore connect model, ContactFlowModuleContent).
MAX_CONTENT = 256_000
#: AWS::Connect::ContactFlow Name 1-127 (CloudFormation resource reference); CreateContactFlowModule Name max 127.
MAX_NAME = 127
#: AWS::Connect::ContactFlow Description and CreateContactFlowModule Description: at most 500 characters.
MAX_DESCRIPTION = 500
#: Connect API reference, View: Id, "Length Constraints: Minimum length of 1. Maximum length of 500" (ShowView's
#: ViewResource.Id names a view by this id or its ARN).
MAX_VIEW_ID = 500
MAX_IDENTIFIER = 50  # [api] flow-language-actions: Identifier up to 50 characters
FORBIDDEN_ID_CHARS = set("%:()\\/=$,;[]{}")  # [api] flow-language-actions
RESERVED_IDS = frozenset(  # [api] flow-language-actions
    {
        "__proto__",
        "constructor",
        "__defineGetter__",
        "__defineSetter__",
        "toString",
        "hasOwnProperty",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toLocaleString",
        "valueOf",
    }
)

# Flow types: the API enum (botocore connect ContactFlowType) and the console's Metadata.type names [export].
CONSOLE_TYPES = {
    "contactFlow": "CONTACT_FLOW",
    "customerQueue": "CUSTOMER_QUEUE",
    "customerHold": "CUSTOMER_HOLD",
    "customerWhisper": "CUSTOMER_WHISPER",
    "agentHold": "AGENT_HOLD",
    "agentWhisper": "AGENT_WHISPER",
    "outboundWhisper": "OUTBOUND_WHISPER",
    "agentTransfer": "AGENT_TRANSFER",
    "queueTransfer": "QUEUE_TRANSFER",
    "campaign": "CAMPAIGN",
    "contactFlowModule": "MODULE",
}
#: The API type of a flow module: not a ContactFlowType, it has its own API and resource type.
MODULE = CONSOLE_TYPES["contactFlowModule"]
FLOW_TYPES = frozenset(CONSOLE_TYPES.values())
#: Lower-case and console spellings users type on the command line (``--type customer-queue``).
TYPE_ALIASES = {
    **{k.lower(): v for k, v in CONSOLE_TYPES.items()},
    **{v.lower().replace("_", "-"): v for v in FLOW_TYPES},
    **{v.lower(): v for v in FLOW_TYPES},
    "inbound": "CONTACT_FLOW",
    "module": "MODULE",
}

IN = frozenset({"CONTACT_FLOW"})
XFER = frozenset({"AGENT_TRANSFER", "QUEUE_TRANSFER"})
CQ = frozenset({"CUSTOMER_QUEUE"})
WH = frozenset({"CUSTOMER_WHISPER", "AGENT_WHISPER", "OUTBOUND_WHISPER"})
HOLD = frozenset({"CUSTOMER_HOLD", "AGENT_HOLD"})
MOD = frozenset({MODULE})
ALL = FLOW_TYPES
#: Flow types whose allowed actions no source lists; the flow-type rule does not judge them.
UNRESTRICTED_TYPES = frozenset({"CAMPAIGN"})

PROMPTS = ("PromptId", "Text", "SSML")

#: JSONPath roots Connect resolves [api contact attributes reference; admin connect-attrib-list; export].
JSONPATH_ROOTS = frozenset(
    {
        "Attributes",
        "External",
        "Lex",
        "StoredCustomerInput",
        "CustomerEndpoint",
        "SystemEndpoint",
        "Channel",
        "Queue",
        "Metrics",
        "AwsRegion",
        "LambdaInvocation",
        "ContactId",
        "InitialContactId",
        "PreviousContactId",
        "RelatedContactId",
        "InstanceARN",
        "InitiationMethod",
        "Name",
        "Description",
        "LanguageCode",
        "MediaStreams",
        "Customer",
        "SegmentAttributes",
        "FlowAttributes",
        "Tags",
        "References",
        "CustomerId",
        "Agent",
        "TextToSpeechVoice",
        "ContactDetails",
        "Module",
        "Storage",
        "Views",
        "Case",
        "Wisdom",
        "Q",
        "TaskContactId",
        "Flow",
        "Campaign",
        "Email",
        "Voice",
        "Chat",
        "Bot",
        "AdditionalEmailRecipients",
        "ContactLens",
        "QueueMetrics",
        "Event",
    }
)

DTMF_CHARS = frozenset("0123456789*#")  # [api] GetParticipantInput conditions
OPERATORS = frozenset(  # [api] flow-language-transitions
    {
        "Equals",
        "TextStartsWith",
        "TextEndsWith",
        "TextContains",
        "NumberGreaterThan",
        "NumberGreaterOrEqualTo",
        "NumberLessThan",
        "NumberLessOrEqualTo",
    }
)
#: Error types every action may list without harm: the catch-all and the no-condition fallback.
GENERIC_ERRORS = frozenset({"NoMatchingError", "NoMatchingCondition"})


@dataclass(frozen=True)
class NumberRule:
    """A numeric parameter: its documented range, and whether a JSONPath may stand in for it."""

    low: float
    high: float = math.inf
    dynamic: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """What one action type takes and where it may go."""

    flows: frozenset[str] = ALL
    errors: frozenset[str] = frozenset({"NoMatchingError"})
    terminal: bool = False
    #: On success control leaves the flow (transfer); the NextAction is what Connect wants written, not a path.
    ends_flow: bool = False
    #: Flow types in which this action is where the flow's work ends (a hold loop plays until the agent resumes).
    ends_in: frozenset[str] = frozenset()
    #: The action waits for the caller, the agent or time, so a cycle through it is a retry, not a spin.
    takes_input: bool = False
    #: A non-terminal action that Connect accepts without Transitions.NextAction [export, 3p].
    next_optional: bool = False
    required: tuple[str, ...] = ()
    #: Groups of parameters of which at most one may be given.
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: Groups of which one must be given.
    one_of: tuple[tuple[str, ...], ...] = ()
    static_only: tuple[str, ...] = ()
    single_path: tuple[str, ...] = ()
    numbers: dict[str, NumberRule] = field(default_factory=dict)
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    #: How conditions are checked: None (no conditions allowed), "any", "dtmf", "equals", "hours", "loop",
    #: "percent", "metric", "wait", "interrupt".
    conditions: str | None = None
    #: Known by name only: errors and parameters are not checked.
    lenient: bool = False
    #: Where the facts come from.
    source: str = "api"


SPECS: dict[str, ActionSpec] = {
    # -- participant actions [api participant-actions-*] ---------------------------------------------------------
    "MessageParticipant": ActionSpec(flows=ALL - HOLD, exclusive=(PROMPTS,), one_of=((*PROMPTS, "Media"),)),
    "GetParticipantInput": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        takes_input=True,
        errors=frozenset({"NoMatchingError", "NoMatchingCondition", "InvalidPhoneNumber", "InputTimeLimitExceeded"}),
        exclusive=(PROMPTS, ("InputValidation.PhoneNumberValidation", "InputValidation.CustomValidation")),
        one_of=((*PROMPTS, "Media"),),
        required=("InputTimeLimitSeconds",),
        static_only=("InputTimeLimitSeconds", "StoreInput"),
        # [api] a positive integer; the 1-180 of the console [3p] is not a documented limit of the language.
        numbers={"InputTimeLimitSeconds": NumberRule(1)},
        enums={"StoreInput": frozenset({"True", "False"})},
        conditions="dtmf",
    ),
    "ConnectParticipantWithLexBot": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        takes_input=True,
        errors=frozenset({"NoMatchingCondition", "NoMatchingError", "InputTimeLimitExceeded"}),
        exclusive=(PROMPTS, ("LexV2Bot", "LexBot")),
        one_of=(("LexV2Bot", "LexBot"),),
        conditions="equals",
    ),
    "DisconnectParticipant": ActionSpec(errors=frozenset(), terminal=True),
    # [api] Loops prompts in Customer Queue, Customer Hold and Agent Hold flows; result MessagesInterrupted after
    # InterruptFrequencySeconds. In queue and hold flows it plays until the contact leaves the queue or hold:
    # a hold flow of one MessageParticipantIteratively is AWS's own default [admin default-agent-hold].
    "MessageParticipantIteratively": ActionSpec(
        flows=CQ | HOLD,
        required=("Messages",),
        conditions="interrupt",
        ends_in=CQ | HOLD,
        takes_input=True,
        next_optional=True,
        numbers={"InterruptFrequencySeconds": NumberRule(0, dynamic=True)},
    ),
    # [api participant-actions-showview] a view shown to the agent or customer; it waits for their action.
    "ShowView": ActionSpec(takes_input=True, lenient=True, conditions="any"),
    # -- contact actions [api contact-actions-*] ---------------------------------------------------------------
    "EndFlowModuleExecution": ActionSpec(flows=MOD, errors=frozenset(), terminal=True),
    "TransferToFlow": ActionSpec(
        flows=IN | XFER | MOD, ends_flow=True, required=("ContactFlowId",), single_path=("ContactFlowId",)
    ),
    # Only inbound flows invoke modules: the flow-language reference (InvokeFlowModule "only supports Inbound flow
    # types") and the admin guide ("Flow modules": customer queue, transfer to agent and transfer to queue flows do
    # not support modules; a module does not invoke a module). CloudFormation publishes, so Connect would refuse.
    "InvokeFlowModule": ActionSpec(flows=IN, required=("FlowModuleId",)),
    "UpdateContactAttributes": ActionSpec(
        required=("Attributes",), enums={"TargetContact": frozenset({"Current", "Related"})}
    ),
    "UpdateContactTargetQueue": ActionSpec(
        flows=IN | XFER | MOD,
        exclusive=(("QueueId", "AgentId"),),
        one_of=(("QueueId", "AgentId"),),
        single_path=("QueueId", "AgentId"),
    ),
    "TransferContactToQueue": ActionSpec(
        flows=IN | XFER | MOD, ends_flow=True, errors=frozenset({"QueueAtCapacity", "NoMatchingError"})
    ),
    "DequeueContactAndTransferToQueue": ActionSpec(
        flows=CQ,
        ends_flow=True,
        errors=frozenset({"QueueAtCapacity", "NoMatchingError"}),
        exclusive=(("QueueId", "AgentId"),),
        one_of=(("QueueId", "AgentId"),),
    ),
    "TransferContactToAgent": ActionSpec(flows=XFER, errors=frozenset(), terminal=True),
    "UpdateContactTextToSpeechVoice": ActionSpec(required=("TextToSpeechVoice",)),
    "UpdateContactRecordingBehavior": ActionSpec(
        flows=IN | XFER | CQ | MOD | frozenset({"OUTBOUND_WHISPER"}), errors=frozenset()
    ),
    # The console's "Set whisper flow" with "Disable" writes EventHooksConfiguration alone ({"CustomerWhisper":
    # {"DisableExecution": "true"}}), with no EventHooks: seen in deployed public flows (tests/corpus/flows/SOURCES.md).
    "UpdateContactEventHooks": ActionSpec(one_of=(("EventHooks", "EventHooksConfiguration"),)),
    "UpdateContactRoutingBehavior": ActionSpec(flows=IN | MOD, errors=frozenset()),
    "UpdateContactCallbackNumber": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        errors=frozenset({"InvalidCallbackNumber", "CallbackNumberNotDialable"}),
        required=("CallbackNumber",),
        single_path=("CallbackNumber",),
    ),
    "UpdateContactData": ActionSpec(),
    # -- flow control actions [api flow-control-actions-*] ----------------------------------------------------
    "EndFlowExecution": ActionSpec(flows=WH | CQ | HOLD, errors=frozenset(), terminal=True),
    "Compare": ActionSpec(
        errors=frozenset({"NoMatchingCondition"}),
        required=("ComparisonValue",),
        single_path=("ComparisonValue",),
        conditions="any",
    ),
    "CheckHoursOfOperation": ActionSpec(
        flows=IN | XFER | CQ | MOD, single_path=("HoursOfOperationId",), conditions="hours"
    ),
    "CheckMetricData": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        errors=frozenset({"NoMatchingError", "NoMatchingCondition"}),
        required=("MetricType",),
        exclusive=(("QueueId", "AgentId"),),
        static_only=("MetricType",),
        enums={
            "MetricType": frozenset(
                {
                    "NumberOfAgentsAvailable",
                    "NumberOfAgentsStaffed",
                    "NumberOfAgentsOnline",
                    "OldestContactInQueueAgeSeconds",
                    "NumberOfContactsInQueue",
                }
            )
        },
        conditions="metric",
    ),
    "GetMetricData": ActionSpec(
        exclusive=(("QueueId", "AgentId"),), enums={"QueueChannel": frozenset({"Voice", "Chat"})}
    ),
    "DistributeByPercentage": ActionSpec(
        flows=IN | XFER | CQ | MOD, errors=frozenset({"NoMatchingCondition"}), conditions="percent"
    ),
    "Loop": ActionSpec(
        errors=frozenset(),
        required=("LoopCount",),
        single_path=("LoopCount",),
        numbers={"LoopCount": NumberRule(0, 100, dynamic=True)},
        conditions="loop",
    ),
    # [api flow-control-actions-wait] documents TimeoutSeconds; the console writes TimeLimitSeconds [export].
    # Either: static positive integer up to 604800 (seven days) or one JSONPath. Events statically defined.
    "Wait": ActionSpec(
        takes_input=True,
        errors=frozenset({"NoMatchingError", "ParticipantNotFound"}),
        numbers={
            "TimeoutSeconds": NumberRule(1, 604800, dynamic=True),
            "TimeLimitSeconds": NumberRule(1, 604800, dynamic=True),
        },
        static_only=("Events",),
        conditions="wait",
    ),
    "UpdateFlowLoggingBehavior": ActionSpec(
        errors=frozenset(),
        required=("FlowLoggingBehavior",),
        static_only=("FlowLoggingBehavior",),
        enums={"FlowLoggingBehavior": frozenset({"Enabled", "Disabled"})},
    ),
    "UpdateFlowAttributes": ActionSpec(required=("FlowAttributes",)),
    # -- interactions [api interactions-*] ------------------------------------------------------------------
    "InvokeLambdaFunction": ActionSpec(
        required=("LambdaFunctionARN",),
        static_only=("InvocationTimeLimitSeconds", "InvocationType"),
        numbers={"InvocationTimeLimitSeconds": NumberRule(1, 60)},
        enums={
            "InvocationType": frozenset({"SYNCHRONOUS", "ASYNCHRONOUS"}),
            "ResponseValidation.ResponseType": frozenset({"STRING_MAP", "JSON"}),
        },
    ),
    # [2022] ThirdPartyConnectionTimeLimitSeconds 0-600; with ContinueFlowExecution the flow goes on after the
    # third-party call ends (CallFailed, ConnectionTimeLimitExceeded apply then).
    "TransferParticipantToThirdParty": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        ends_flow=True,
        errors=frozenset({"ConnectionTimeLimitExceeded", "CallFailed", "NoMatchingError"}),
        required=("ThirdPartyPhoneNumber",),
        numbers={"ThirdPartyConnectionTimeLimitSeconds": NumberRule(0, 600)},
        enums={"ContinueFlowExecution": frozenset({"True", "False"})},
    ),
    "CreateCallbackContact": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        exclusive=(("QueueId", "AgentId"),),
        numbers={"InitialCallDelaySeconds": NumberRule(0, 259200), "RetryDelaySeconds": NumberRule(0, 259200)},
    ),
}

#: Types in the current language that the linter knows by name only [api contact-actions, flow-control-actions,
#: interactions, participant-actions tables of contents]; the console also writes UpdateContactRoutingCriteria
#: [export] besides the documented UpdateRoutingCriteria.
KNOWN_BY_NAME = frozenset(
    {
        "AssociateContactToCustomerProfile",
        "CheckOutboundCallStatus",
        "CheckVoiceId",
        "CompleteOutboundCall",
        "CreateCase",
        "CreateCustomerProfile",
        "CreatePersistentContactAssociation",
        "CreateTask",
        "CreateWisdomSession",
        "GetCase",
        "GetCustomerProfile",
        "GetCustomerProfileObject",
        "ResumeContact",
        "StartOutboundChatContact",
        "StartVoiceIdStream",
        "TagContact",
        "UnTagContact",
        "UpdateCase",
        "UpdateContactMediaProcessing",
        "UpdateContactMediaStreamingBehavior",
        "UpdateContactRecordingAndAnalyticsBehavior",
        "UpdateContactRoutingCriteria",
        "UpdateCustomerProfile",
        "UpdatePreviousContactParticipantState",
        "UpdateRoutingCriteria",
    }
)

#: Console block names [admin flow block pages]. CreateContactFlow accepts only action types, never these
#: (connect-reference §1.3, 3p sample-aicc-builder PR #13), so a Type that is one of them is an error.
UI_BLOCK_NAMES = frozenset(
    {
        "Play prompt",
        "Get customer input",
        "Store customer input",
        "Set contact attributes",
        "Set working queue",
        "Transfer to queue",
        "Transfer to flow",
        "Transfer to agent",
        "Transfer to phone number",
        "Check hours of operation",
        "Check contact attributes",
        "Check staffing",
        "Check queue status",
        "Set voice",
        "Set logging behavior",
        "Set recording and analytics behavior",
        "Set recording behavior",
        "Set customer queue flow",
        "Set hold flow",
        "Set whisper flow",
        "Set event flow",
        "Set callback number",
        "Set routing criteria",
        "Set disconnect flow",
        "Loop prompts",
        "Disconnect / hang up",
        "Disconnect",
        "Hang up",
        "Invoke AWS Lambda function",
        "AWS Lambda function",
        "Invoke module",
        "Distribute by percentage",
        "Change routing priority / age",
        "End flow / Resume",
        "Get queue metrics",
        "Show view",
        "Create task",
        "Amazon Lex",
    }
)
_NORMAL = re.compile(r"[^a-z0-9]")
_UI_NORMALISED = {_NORMAL.sub("", n.lower()) for n in UI_BLOCK_NAMES}

EVENT_HOOKS = frozenset(  # [api contact-actions-updatecontacteventhooks] "keys include"
    {
        "CustomerQueue",
        "CustomerHold",
        "CustomerWhisper",
        "AgentHold",
        "AgentWhisper",
        "CustomerRemaining",
        "DefaultAgentUI",
        "DisconnectAgentUI",
        "PauseContact",
        "ResumeContact",
    }
)
WAIT_EVENTS = frozenset({"CustomerReturned", "BotParticipantDisconnected"})  # [api flow-control-actions-wait]

METRIC_AGENT_TYPES = frozenset({"NumberOfAgentsAvailable", "NumberOfAgentsStaffed", "NumberOfAgentsOnline"})


def all_types() -> frozenset[str]:
    """Every action type the catalogue knows, checked or by name."""
    return frozenset(SPECS) | KNOWN_BY_NAME


def spec_for(action_type: str) -> ActionSpec | None:
    """The spec of a type, a permissive one for types known by name, None for unknown types."""
    if action_type in SPECS:
        return SPECS[action_type]
    if action_type in KNOWN_BY_NAME:
        return ActionSpec(errors=frozenset(), conditions="any", lenient=True)
    return None


def is_ui_block_name(action_type: str) -> bool:
    """A console block name written as a Type ("Set voice", "SetVoice"): never a valid action type."""
    if action_type in SPECS or action_type in KNOWN_BY_NAME:
        return False
    return bool(re.search(r"[\s/]", action_type)) or _NORMAL.sub("", action_type.lower()) in _UI_NORMALISED


def normalise_flow_type(raw: str) -> str | None:
    """The API enum for a flow type given as the API, the console or the command line spells it."""
    if raw in FLOW_TYPES:
        return raw
    return TYPE_ALIASES.get(raw.strip().lower())
