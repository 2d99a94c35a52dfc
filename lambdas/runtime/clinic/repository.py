"""Data access for patients, appointments and callback requests in one DynamoDB table.

Keys: ``PHONE#<e164>/PROFILE`` (patient by phone), ``PATIENT#<id>/APPT#<date>T<time>`` (appointment),
``SLOT#<date>/<time>`` (a booked time, so two callers never get the same slot),
``CALLBACK#<date>/<iso-time>#<contact id>`` (after-hours callback request).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from clinic.observability import trace_aws_calls


class SlotTakenError(Exception):
    """The requested time is already booked."""


@dataclass(frozen=True)
class Patient:
    patient_id: str
    first_name: str
    phone: str


@dataclass(frozen=True)
class Appointment:
    patient_id: str
    day: str
    time: str
    kind: str
    status: str = "BOOKED"


class Repository:
    """All reads and writes of the clinic functions."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        trace_aws_calls()
        resource = dynamodb or boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        # The resource's client serializes plain Python values, like the Table does.
        self._client = self._table.meta.client
        self._name = table_name

    def put_patient(self, patient: Patient) -> None:
        self._table.put_item(
            Item={
                "pk": f"PHONE#{patient.phone}",
                "sk": "PROFILE",
                "patientId": patient.patient_id,
                "firstName": patient.first_name,
            }
        )

    def patient_by_phone(self, phone: str) -> Patient | None:
        item = self._table.get_item(Key={"pk": f"PHONE#{phone}", "sk": "PROFILE"}).get("Item")
        if not item:
            return None
        return Patient(patient_id=str(item["patientId"]), first_name=str(item["firstName"]), phone=phone)

    def book(self, appointment: Appointment) -> None:
        """Book atomically: the slot and the appointment are written together or not at all."""
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._name,
                            "Item": {
                                "pk": f"SLOT#{appointment.day}",
                                "sk": appointment.time,
                                "patientId": appointment.patient_id,
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._name,
                            "Item": {
                                "pk": f"PATIENT#{appointment.patient_id}",
                                "sk": f"APPT#{appointment.day}T{appointment.time}",
                                "kind": appointment.kind,
                                "status": "BOOKED",
                                "day": appointment.day,
                                "time": appointment.time,
                            },
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise SlotTakenError(f"{appointment.day} {appointment.time}") from exc
            raise

    def next_appointment(self, patient_id: str, now: datetime) -> Appointment | None:
        """The first booked appointment at or after ``now`` (clinic local time)."""
        start = f"APPT#{now:%Y-%m-%dT%H:%M}"
        response = self._table.query(
            KeyConditionExpression=Key("pk").eq(f"PATIENT#{patient_id}") & Key("sk").between(start, "APPT#~"),
            FilterExpression=Attr("status").eq("BOOKED"),
        )
        items = sorted(response.get("Items", []), key=lambda i: str(i["sk"]))
        if not items:
            return None
        item = items[0]
        return Appointment(patient_id=patient_id, day=str(item["day"]), time=str(item["time"]), kind=str(item["kind"]))

    def cancel(self, appointment: Appointment) -> None:
        """Mark the appointment cancelled and free its slot, atomically."""
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": {
                            "pk": f"PATIENT#{appointment.patient_id}",
                            "sk": f"APPT#{appointment.day}T{appointment.time}",
                        },
                        "UpdateExpression": "SET #s = :cancelled",
                        "ConditionExpression": "#s = :booked",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":cancelled": "CANCELLED", ":booked": "BOOKED"},
                    }
                },
                {"Delete": {"TableName": self._name, "Key": {"pk": f"SLOT#{appointment.day}", "sk": appointment.time}}},
            ]
        )

    def request_callback(self, phone: str, contact_id: str, at: datetime) -> str:
        """Record an after-hours callback request; returns its reference."""
        reference = contact_id.split("-", maxsplit=1)[0].upper()
        self._table.put_item(
            Item={
                "pk": f"CALLBACK#{at:%Y-%m-%d}",
                "sk": f"{at.isoformat()}#{contact_id}",
                "phone": phone,
                "status": "REQUESTED",
                "reference": reference,
            },
        )
        return reference

    def callbacks_on(self, day: date) -> list[dict[str, Any]]:
        response = self._table.query(KeyConditionExpression=Key("pk").eq(f"CALLBACK#{day:%Y-%m-%d}"))
        return list(response.get("Items", []))
