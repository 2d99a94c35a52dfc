"""What the Amazon Connect flow language allows, action by action, as data for the linter and the simulator.

Sources: the Connect admin guide's flow-language pages and the current developer guide (see
``shared/reference/connect-reference.md`` §1-2). Types outside the table below are known by name only: the linter
accepts them and checks their transitions but not their parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FLOW_VERSION = "2019-10-30"
MAX_ACTIONS = 250
MAX_IDENTIFIER = 50
FORBIDDEN_ID_CHARS = set("%:()\\/=$,;[]{}")
RESERVED_IDS = frozenset(
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

# Flow types (API enum) and the console's Metadata.type names.
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
FLOW_TYPES = frozenset(CONSOLE_TYPES.values())

IN = frozenset({"CONTACT_FLOW"})
XFER = frozenset({"AGENT_TRANSFER", "QUEUE_TRANSFER"})
CQ = frozenset({"CUSTOMER_QUEUE"})
WH = frozenset({"CUSTOMER_WHISPER", "AGENT_WHISPER", "OUTBOUND_WHISPER"})
HOLD = frozenset({"CUSTOMER_HOLD", "AGENT_HOLD"})
MOD = frozenset({"MODULE"})
ALL = FLOW_TYPES

PROMPTS = ("PromptId", "Text", "SSML")

#: JSONPath roots that Connect resolves.
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
        "InstanceARN",
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
    }
)

DTMF_CHARS = frozenset("0123456789*#")
OPERATORS = frozenset(
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


@dataclass(frozen=True)
class NumberRule:
    """A numeric parameter: its range, and whether a JSONPath may stand in for it."""

    low: float
    high: float
    dynamic: bool = False


@dataclass(frozen=True)
class ActionSpec:
    """What one action type takes and where it may go."""

    flows: frozenset[str] = ALL
    errors: frozenset[str] = frozenset({"NoMatchingError"})
    terminal: bool = False
    #: On success control leaves the flow (transfer); the NextAction is what Connect wants written, not a path.
    ends_flow: bool = False
    #: The action waits for the caller, so a cycle through it is a retry, not a spin.
    takes_input: bool = False
    required: tuple[str, ...] = ()
    #: Groups of parameters of which at most one may be given.
    exclusive: tuple[tuple[str, ...], ...] = ()
    #: Groups of which exactly one must be given.
    one_of: tuple[tuple[str, ...], ...] = ()
    static_only: tuple[str, ...] = ()
    single_path: tuple[str, ...] = ()
    numbers: dict[str, NumberRule] = field(default_factory=dict)
    enums: dict[str, frozenset[str]] = field(default_factory=dict)
    #: How conditions are checked: None (no conditions allowed), "any", "dtmf", "equals", "hours", "loop",
    #: "percent", "metric".
    conditions: str | None = None
    #: Known by name only: errors and parameters are not checked.
    lenient: bool = False


SPECS: dict[str, ActionSpec] = {
    "MessageParticipant": ActionSpec(flows=ALL - HOLD, exclusive=(PROMPTS,), one_of=((*PROMPTS, "Media"),)),
    "GetParticipantInput": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        takes_input=True,
        errors=frozenset({"NoMatchingError", "NoMatchingCondition", "InvalidPhoneNumber", "InputTimeLimitExceeded"}),
        exclusive=(PROMPTS, ("InputValidation.PhoneNumberValidation", "InputValidation.CustomValidation")),
        one_of=((*PROMPTS, "Media"),),
        required=("InputTimeLimitSeconds",),
        static_only=("InputTimeLimitSeconds", "StoreInput"),
        numbers={"InputTimeLimitSeconds": NumberRule(1, 180)},
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
    "EndFlowExecution": ActionSpec(flows=WH | CQ | HOLD, errors=frozenset(), terminal=True),
    "EndFlowModuleExecution": ActionSpec(flows=MOD, errors=frozenset(), terminal=True),
    "TransferToFlow": ActionSpec(
        flows=IN | XFER | MOD, ends_flow=True, required=("ContactFlowId",), single_path=("ContactFlowId",)
    ),
    "InvokeFlowModule": ActionSpec(flows=IN | MOD, required=("FlowModuleId",)),
    "InvokeLambdaFunction": ActionSpec(
        required=("LambdaFunctionARN",),
        static_only=("InvocationTimeLimitSeconds", "InvocationType"),
        numbers={"InvocationTimeLimitSeconds": NumberRule(1, 60)},
        enums={
            "InvocationType": frozenset({"SYNCHRONOUS", "ASYNCHRONOUS"}),
            "ResponseValidation.ResponseType": frozenset({"STRING_MAP", "JSON"}),
        },
    ),
    "UpdateContactAttributes": ActionSpec(
        required=("Attributes",), enums={"TargetContact": frozenset({"Current", "Related"})}
    ),
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
    "Wait": ActionSpec(takes_input=True, numbers={"TimeoutSeconds": NumberRule(1, 604800)}, conditions="equals"),
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
    "TransferParticipantToThirdParty": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        ends_flow=True,
        errors=frozenset({"ConnectionTimeLimitExceeded", "CallFailed", "NoMatchingError"}),
        required=("ThirdPartyPhoneNumber",),
        numbers={"ThirdPartyConnectionTimeLimitSeconds": NumberRule(0, 600)},
    ),
    "UpdateContactTextToSpeechVoice": ActionSpec(required=("TextToSpeechVoice",)),
    "UpdateContactRecordingBehavior": ActionSpec(
        flows=IN | XFER | CQ | MOD | frozenset({"OUTBOUND_WHISPER"}), errors=frozenset()
    ),
    "UpdateFlowLoggingBehavior": ActionSpec(
        errors=frozenset(),
        required=("FlowLoggingBehavior",),
        static_only=("FlowLoggingBehavior",),
        enums={"FlowLoggingBehavior": frozenset({"Enabled", "Disabled"})},
    ),
    "UpdateContactEventHooks": ActionSpec(required=("EventHooks",)),
    "MessageParticipantIteratively": ActionSpec(flows=CQ | HOLD, required=("Messages",), conditions="equals"),
    "UpdateContactRoutingBehavior": ActionSpec(flows=IN | MOD, errors=frozenset()),
    "UpdateContactCallbackNumber": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        errors=frozenset({"InvalidCallbackNumber", "CallbackNumberNotDialable"}),
        required=("CallbackNumber",),
        single_path=("CallbackNumber",),
    ),
    "CreateCallbackContact": ActionSpec(
        flows=IN | XFER | CQ | MOD,
        exclusive=(("QueueId", "AgentId"),),
        numbers={"InitialCallDelaySeconds": NumberRule(0, 259200), "RetryDelaySeconds": NumberRule(0, 259200)},
    ),
    "UpdateContactData": ActionSpec(),
}

#: Types in the current catalogue that the linter knows by name only.
KNOWN_BY_NAME = frozenset(
    {
        "CompleteOutboundCall",
        "CreateCase",
        "CreateTask",
        "CreateWisdomSession",
        "GetCase",
        "UpdateCase",
        "TagContact",
        "UnTagContact",
        "ResumeContact",
        "UpdateContactMediaStreamingBehavior",
        "UpdatePreviousContactParticipantState",
        "StartOutboundChatContact",
        "UpdateContactMediaProcessing",
        "UpdateContactRecordingAndAnalyticsBehavior",
        "CheckOutboundCallStatus",
        "CheckVoiceId",
        "StartVoiceIdStream",
        "UpdateFlowAttributes",
        "UpdateRoutingCriteria",
        "CreateCustomerProfile",
        "GetCustomerProfile",
        "UpdateCustomerProfile",
        "ShowView",
    }
)

EVENT_HOOKS = frozenset(
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

METRIC_AGENT_TYPES = frozenset({"NumberOfAgentsAvailable", "NumberOfAgentsStaffed", "NumberOfAgentsOnline"})


def spec_for(action_type: str) -> ActionSpec | None:
    """The spec of a type, a permissive one for types known by name, None for unknown types."""
    if action_type in SPECS:
        return SPECS[action_type]
    if action_type in KNOWN_BY_NAME:
        return ActionSpec(errors=frozenset(), conditions="any", lenient=True)
    return None
