"""What each action type does to a simulated call, beyond choosing its path: the table the engine acts out.

Three kinds of action besides the ones the engine runs with logic of its own (prompts, input, Lambda, queues):

- **Contact-data actions** store what they set in the call's contact data, where later blocks read it
  (``$.LanguageCode``, ``$.TextToSpeechVoice``, ``$.Tags.dept``, ``$.RoutingCriteria``...) and where scenarios
  assert it (``expect.contact``). They need nothing outside the call, so they succeed, as Connect's do.
- **Outside-world actions** reach something the simulator does not run (Customer Profiles, Cases, Voice ID, a new
  contact, a media stream). Each takes the result a scenario supplies (``outside:``) and, without one, the default
  written here: it succeeds with no result and no data, so the block's NextAction is taken. A block that has only
  conditions (no NextAction) then stops the call with a message naming the result to supply; nothing is skipped
  silently. ``data`` supplied with a result is merged into the call by JSONPath root
  (``{Customer: {FirstName: Ana}}`` -> ``$.Customer.FirstName``).
- **Refused** types: none today. A type the simulator cannot act out would be listed in ``REFUSED`` with its
  reason, and a call that reaches it stops with that reason.

Sources: the flow-language reference [api contact-actions-*, flow-control-actions-*, interactions-*,
participant-actions-*] for each type's parameters and errors; the admin guide's flow block pages for what a block
changes about the contact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stores:
    """A contact-data action: the parameters it stores, and how.

    ``keys`` are the parameters copied into the contact data under their own names (None: every parameter but
    ``TargetContact``). ``merge`` names a map of the contact data the parameter's entries are added to (tags, event
    hooks), ``remove`` a map whose listed keys the action deletes (``UnTagContact``).
    """

    keys: tuple[str, ...] | None = None
    merge: str | None = None
    remove: str | None = None


@dataclass(frozen=True)
class Outside:
    """An outside-world action: what it reaches, and the JSONPath root its supplied ``data`` usually fills."""

    reaches: str
    root: str | None = None
    #: What a contact it creates is recorded as, in the call's ``created`` list (None: it creates none).
    creates: str | None = None


#: [api contact-actions-updatecontactdata, -updatecontacttexttospeechvoice, -updatecontactrecordingbehavior,
#: -updatecontactroutingbehavior, -updatecontacteventhooks, -tagcontact, -untagcontact,
#: -updatecontactmediastreamingbehavior; flow-control-actions-updateflowloggingbehavior]
CONTACT_DATA: dict[str, Stores] = {
    "UpdateContactData": Stores(),
    "UpdateContactTextToSpeechVoice": Stores(("TextToSpeechVoice", "TextToSpeechEngine", "TextToSpeechStyle")),
    "UpdateContactRecordingBehavior": Stores(("RecordingBehavior", "AnalyticsBehavior")),
    "UpdateContactRecordingAndAnalyticsBehavior": Stores(),
    "UpdateContactRoutingBehavior": Stores(),
    "UpdateContactRoutingCriteria": Stores(),
    "UpdateRoutingCriteria": Stores(),
    "UpdateContactEventHooks": Stores(merge="EventHooks"),
    "UpdateFlowLoggingBehavior": Stores(("FlowLoggingBehavior",)),
    "UpdateContactMediaStreamingBehavior": Stores(),
    "UpdateContactMediaProcessing": Stores(),
    "UpdatePreviousContactParticipantState": Stores(),
    "TagContact": Stores(merge="Tags"),
    "UnTagContact": Stores(remove="Tags"),
}

#: [api contact-actions-createtask, -createcase, -getcase, -updatecase, -createwisdomsession,
#: -completeoutboundcall, -startoutboundchatcontact, -resumecontact; admin customer-profiles blocks, voice-id,
#: check-call-progress, authenticate-customer, start-media-streaming, send-message blocks]
OUTSIDE: dict[str, Outside] = {
    "AssociateContactToCustomerProfile": Outside("Customer Profiles", "Customer"),
    "CreateCustomerProfile": Outside("Customer Profiles", "Customer"),
    "GetCustomerProfile": Outside("Customer Profiles", "Customer"),
    "GetCustomerProfileObject": Outside("Customer Profiles", "Customer"),
    "UpdateCustomerProfile": Outside("Customer Profiles", "Customer"),
    "CreateCase": Outside("Amazon Connect Cases", "Case"),
    "GetCase": Outside("Amazon Connect Cases", "Case"),
    "UpdateCase": Outside("Amazon Connect Cases", "Case"),
    "CreateWisdomSession": Outside("Amazon Q in Connect", "Wisdom"),
    "CheckVoiceId": Outside("Voice ID"),
    "StartVoiceIdStream": Outside("Voice ID"),
    "CheckOutboundCallStatus": Outside("the outbound call's progress"),
    "CompleteOutboundCall": Outside("the outbound call"),
    "CreatePersistentContactAssociation": Outside("a past chat contact"),
    "ResumeContact": Outside("a paused contact"),
    "CreateTask": Outside("a new task contact", creates="task"),
    "StartOutboundChatContact": Outside("a new chat contact", creates="chat"),
    "StartOutboundEmailContact": Outside("a new email contact", creates="email"),
    "CreateContact": Outside("a new contact", creates="contact"),
    "StartMediaStreaming": Outside("Kinesis Video Streams"),
    "StopMediaStreaming": Outside("Kinesis Video Streams"),
    "AuthenticateParticipant": Outside("the customer's identity provider (Amazon Cognito)"),
}

#: Types the simulator cannot act out, with the reason a call that reaches one stops.
REFUSED: dict[str, str] = {}


def contact_defaults() -> dict[str, object]:
    """The contact data a call starts with: Connect's default voice and language [admin set-voice: Joanna, English
    (US)], and empty maps for the blocks that add to them."""
    return {"LanguageCode": "en-US", "TextToSpeechVoice": "Joanna", "Tags": {}, "EventHooks": {}}
