"""What a contact-flow function reads from Connect's event, read without trusting its structure.

Connect documents the event it sends (``Details.ContactData``), but a test call, a flow that was edited by hand or
a future field change can hand a function something else. A contact-flow function must still answer a flat map
of strings that the flow can branch on, so reading the event never raises: what is missing or malformed is
``None``, and an event that is not Connect-shaped at all is reported by ``shaped=False``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent

Answer = TypeVar("Answer")


def connect_event(
    handler: Callable[[ConnectContactFlowEvent, Any], Answer],
) -> Callable[[dict[str, Any], Any], Answer]:
    """Powertools' ``event_source(data_class=ConnectContactFlowEvent)``, with the data classes imported when the
    first event arrives: their package imports every event source Powertools knows, a fifth of what the
    functions' import cost on top of ``import boto3``."""

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> Answer:
        from aws_lambda_powertools.utilities.data_classes import ConnectContactFlowEvent

        return handler(ConnectContactFlowEvent(event), context)

    return run


#: ITU-T E.164, as Connect writes CustomerEndpoint.Address for telephone contacts.
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
#: Connect contact ids are UUIDs; anything else is not used as a key or a reference.
CONTACT_ID = re.compile(r"^[A-Za-z0-9-]{1,256}$")


@dataclass(frozen=True)
class Contact:
    """The parts of the contact the clinic functions use; ``None`` when absent or malformed."""

    shaped: bool
    contact_id: str | None
    phone: str | None


def read_contact(event: ConnectContactFlowEvent) -> Contact:
    """The caller's number (E.164) and the contact id, or ``None`` for each that the event lacks."""
    try:
        data: Any = event.contact_data.raw_event
    except (KeyError, TypeError, AttributeError):
        return Contact(shaped=False, contact_id=None, phone=None)
    if not isinstance(data, Mapping):
        return Contact(shaped=False, contact_id=None, phone=None)
    contact_id = data.get("ContactId")
    endpoint = data.get("CustomerEndpoint")
    address = endpoint.get("Address") if isinstance(endpoint, Mapping) else None
    return Contact(
        shaped=True,
        contact_id=contact_id if isinstance(contact_id, str) and CONTACT_ID.fullmatch(contact_id) else None,
        phone=address if isinstance(address, str) and E164.fullmatch(address) else None,
    )
