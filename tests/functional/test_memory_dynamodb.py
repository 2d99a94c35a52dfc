"""The simulator's in-memory DynamoDB answers as moto does: the same boto3 requests, the same answers and errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from flowkit.simulate.dynamodb import MemoryDynamoDB
from flowkit.simulate.functions import create_table

TABLE = "parity"
ZONE = ZoneInfo("America/New_York")


def _session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def _moto() -> Iterator[boto3.Session]:
    with mock_aws():
        yield _session()


def _memory() -> Iterator[boto3.Session]:
    session = _session()
    MemoryDynamoDB().attach(session.events)
    yield session


def _direct() -> Iterator[boto3.Session]:
    session = _session()
    MemoryDynamoDB().attach(session.events, direct=True)
    yield session


BACKENDS: dict[str, Callable[[], Iterator[boto3.Session]]] = {"moto": _moto, "memory": _memory, "direct": _direct}


def _answer(call: Callable[[], Any]) -> Any:
    """A call's answer without request metadata, or its error code (and cancellation reasons)."""
    try:
        response = call()
    except ClientError as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        return ("error", exc.response["Error"]["Code"], reasons)
    if isinstance(response, dict):
        # moto adds an empty ItemCollectionMetrics that DynamoDB omits unless ReturnItemCollectionMetrics asks.
        response = {k: v for k, v in response.items()
                    if k not in ("ResponseMetadata", "ConsumedCapacity") and (k != "ItemCollectionMetrics" or v)}  # fmt: skip
    return response


def _unordered(response: dict[str, Any]) -> dict[str, Any]:
    """A scan's answer with its items sorted: DynamoDB scans in an order of its own (hashes of partition keys)."""
    return {**response, "Items": sorted(response["Items"], key=lambda i: (str(i["pk"]), str(i["sk"])))}


def _script(session: boto3.Session) -> list[Any]:
    """The clinic's real data access, then the raw requests it relies on and their edge cases."""
    import clinic.repository as repo_module

    resource = session.resource("dynamodb")
    create_table(resource, TABLE)
    repo = repo_module.Repository(TABLE, resource)
    client = resource.meta.client
    table = resource.Table(TABLE)
    seen: list[Any] = []
    repo.put_patient(repo_module.Patient("p1", "Ana", "+15555550100"))
    seen.append(repo.patient_by_phone("+15555550100"))
    seen.append(repo.patient_by_phone("+15555550199"))
    first = repo_module.Appointment("p1", "2026-12-04", "10:00", "checkup")
    repo.book(first)
    repo.book(repo_module.Appointment("p1", "2026-12-02", "09:30", "dental"))
    try:
        repo.book(repo_module.Appointment("p2", "2026-12-04", "10:00", "checkup"))
        seen.append("booked twice")
    except repo_module.SlotTakenError as exc:
        seen.append(("slot taken", str(exc)))
    now = datetime(2026, 12, 2, 10, 0, tzinfo=ZONE)
    seen.append(repo.next_appointment("p1", now))
    repo.cancel(first)
    seen.append(repo.next_appointment("p1", now))
    seen.append(_answer(lambda: repo.cancel(first)))
    seen.append(repo.request_callback("+15555550100", "abc-123", now))
    seen.append(repo.callbacks_on(now.date()))
    # Raw requests: conditions, updates, projections, ordering, numbers, transactions, batches and errors.
    put = {"pk": "N#1", "sk": "a", "n": Decimal(5), "tags": {"x", "y"}, "flag": True}
    seen.append(_answer(lambda: table.put_item(Item=put, ConditionExpression=Attr("pk").not_exists())))
    seen.append(_answer(lambda: table.put_item(Item=put, ConditionExpression=Attr("pk").not_exists())))
    for sk, n in (("b", 7), ("c", 11), ("ab", 3)):
        table.put_item(Item={"pk": "N#1", "sk": sk, "n": Decimal(n)})
    seen.append(_answer(lambda: table.update_item(
        Key={"pk": "N#1", "sk": "a"}, UpdateExpression="SET #n = :n, note = :t REMOVE flag",
        ExpressionAttributeNames={"#n": "n"}, ExpressionAttributeValues={":n": Decimal(6), ":t": "hi"},
        ReturnValues="ALL_NEW")))  # fmt: skip
    seen.append(_answer(lambda: table.query(KeyConditionExpression=Key("pk").eq("N#1") & Key("sk").begins_with("a"))))
    seen.append(_answer(lambda: table.query(KeyConditionExpression=Key("pk").eq("N#1"), ScanIndexForward=False,
                                            FilterExpression=Attr("n").between(Decimal(4), Decimal(8)))))  # fmt: skip
    seen.append(_answer(lambda: table.query(KeyConditionExpression=Key("pk").eq("N#1") & Key("sk").gt("ab"),
                                            ProjectionExpression="sk, n")))  # fmt: skip
    seen.append(_unordered(_answer(lambda: table.scan(FilterExpression=Attr("n").is_in([Decimal(3), Decimal(11)])
                                                      | ~Attr("pk").begins_with("N#")))))  # fmt: skip
    seen.append(_unordered(_answer(lambda: table.scan(FilterExpression=Attr("tags").contains("x")
                                                      & Attr("n").lt(Decimal(10))))))  # fmt: skip
    seen.append(_answer(lambda: table.get_item(Key={"pk": "N#1", "sk": "a"}, ProjectionExpression="tags, note")))
    seen.append(_answer(lambda: table.delete_item(Key={"pk": "N#1", "sk": "b"}, ConditionExpression=Attr("n").eq(1))))
    seen.append(_answer(lambda: table.delete_item(Key={"pk": "N#1", "sk": "b"}, ReturnValues="ALL_OLD")))
    seen.append(_answer(lambda: client.transact_write_items(TransactItems=[
        {"ConditionCheck": {"TableName": TABLE, "Key": {"pk": "N#1", "sk": "c"},
                            "ConditionExpression": "n > :ten", "ExpressionAttributeValues": {":ten": 10}}},
        {"Delete": {"TableName": TABLE, "Key": {"pk": "N#1", "sk": "ab"}}},
    ])))  # fmt: skip
    seen.append(_answer(lambda: client.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"pk": "N#2", "sk": "z"}}},
        {"Delete": {"TableName": TABLE, "Key": {"pk": "N#1", "sk": "c"}, "ConditionExpression": "attribute_not_exists(n)"}},
    ])))  # fmt: skip
    with table.batch_writer() as batch:
        batch.put_item(Item={"pk": "B", "sk": "1"})
        batch.delete_item(Key={"pk": "N#1", "sk": "c"})
    seen.append(_answer(lambda: table.get_item(Key={"pk": "B", "sk": "1"})))
    seen.append(_answer(lambda: table.get_item(Key={"pk": "N#1"})))
    seen.append(_answer(lambda: resource.Table("missing").get_item(Key={"pk": "x", "sk": "y"})))
    everything = table.scan()["Items"]
    seen.append(sorted(everything, key=lambda i: (str(i["pk"]), str(i["sk"]))))
    return seen


@pytest.fixture(scope="module")
def answers() -> dict[str, list[Any]]:
    result = {}
    for name, backend in BACKENDS.items():
        for session in backend():
            result[name] = _script(session)
    return result


def test_the_clinic_repository_and_raw_requests_get_moto_s_answers(answers: dict[str, list[Any]]) -> None:
    # GIVEN the same script of boto3 calls (the clinic's Repository, then raw requests and their errors)
    # WHEN it runs against moto and against the in-memory table, by the full and the direct path
    # THEN every answer is the same
    moto = answers["moto"]
    for backend in ("memory", "direct"):
        for index, (expected, got) in enumerate(zip(moto, answers[backend], strict=True)):
            assert got == expected, f"{backend} step {index}"
        assert len(answers[backend]) == len(moto)


def test_the_script_covers_errors_and_cancellations(answers: dict[str, list[Any]]) -> None:
    # GIVEN moto's answers THEN the script saw the errors the functions handle (so parity means something)
    errors = {a[1] for a in answers["moto"] if isinstance(a, tuple) and a[0] == "error"}
    assert {"ConditionalCheckFailedException", "TransactionCanceledException", "ValidationException",
            "ResourceNotFoundException"} <= errors  # fmt: skip


def test_unsupported_requests_say_so() -> None:
    # GIVEN the in-memory table WHEN a request uses what it does not implement THEN it answers a clear error
    for session in _memory():
        table = session.resource("dynamodb").Table(TABLE)
        create_table(session.resource("dynamodb"), TABLE)
        with pytest.raises(ClientError, match="does not support Limit"):
            table.scan(Limit=1)
        # A key of the wrong type: DynamoDB rejects it ("The provided key element does not match the schema",
        # GetItem's ValidationException); moto answers no item, so this one is checked here, not for parity.
        with pytest.raises(ClientError, match="Type mismatch for key pk"):
            table.get_item(Key={"pk": 1, "sk": "a"})
        with pytest.raises(ClientError, match="does not support ADD"):
            table.update_item(Key={"pk": "a", "sk": "b"}, UpdateExpression="ADD n :one",
                              ExpressionAttributeValues={":one": 1})  # fmt: skip


KEYS = st.sampled_from(["a", "b", "c"])
SORTS = st.sampled_from(["01", "02", "10", "2", "a"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), KEYS, SORTS, st.integers(0, 9)),
        st.tuples(st.just("put_new"), KEYS, SORTS, st.integers(0, 9)),
        st.tuples(st.just("delete"), KEYS, SORTS, st.integers(0, 9)),
        st.tuples(st.just("between"), KEYS, SORTS, SORTS),
        st.tuples(st.just("bigger"), KEYS, st.integers(0, 9), st.booleans()),
        st.tuples(st.just("move"), KEYS, SORTS, SORTS),
    ),
    max_size=12,
)


def _run(session: boto3.Session, ops: list[tuple[Any, ...]]) -> list[Any]:
    resource = session.resource("dynamodb")
    create_table(resource, TABLE)
    table, client = resource.Table(TABLE), resource.meta.client

    def put(pk: str, sk: str, v: int, *, new: bool = False) -> Any:
        condition = {"ConditionExpression": Attr("pk").not_exists()} if new else {}
        return table.put_item(Item={"pk": pk, "sk": sk, "v": v}, **condition)

    def delete(pk: str, sk: str, at_most: int) -> Any:
        return table.delete_item(Key={"pk": pk, "sk": sk}, ConditionExpression=Attr("v").lte(at_most))

    def between(pk: str, a: str, b: str) -> Any:
        low, high = sorted((a, b))
        return table.query(KeyConditionExpression=Key("pk").eq(pk) & Key("sk").between(low, high))

    def bigger(pk: str, than: int, forward: bool) -> Any:
        return table.query(KeyConditionExpression=Key("pk").eq(pk), FilterExpression=Attr("v").gt(than),
                           ScanIndexForward=forward)  # fmt: skip

    def move(pk: str, old: str, new: str) -> Any:
        return client.transact_write_items(TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": pk, "sk": new, "v": 1},
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Delete": {"TableName": TABLE, "Key": {"pk": pk, "sk": old},
                        "ConditionExpression": "attribute_exists(pk)"}},
        ])  # fmt: skip

    calls: dict[str, Callable[..., Any]] = {"put": put, "put_new": partial(put, new=True), "delete": delete,
                                            "between": between, "bigger": bigger, "move": move}  # fmt: skip
    out = [_answer(partial(calls[op[0]], *op[1:])) for op in ops]
    out.append(sorted(table.scan()["Items"], key=lambda i: (str(i["pk"]), str(i["sk"]))))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_any_sequence_of_writes_and_reads_matches_moto(ops: list[tuple[Any, ...]]) -> None:
    # GIVEN any sequence of conditional puts, deletes, moves (transactions) and key-range queries
    # WHEN it runs against moto and against the in-memory table THEN the answers and the final table agree
    results = {}
    for name, backend in BACKENDS.items():
        for session in backend():
            results[name] = _run(session, ops)
    assert results["memory"] == results["moto"]
    assert results["direct"] == results["moto"]


def test_the_direct_path_validates_each_shape_once_and_then_skips_the_round_trip() -> None:
    # GIVEN a session on the direct path, and a count of the requests that take botocore's full round trip
    session = next(_direct())
    full: list[str] = []
    session.events.register_first("before-call.dynamodb", lambda model, **_: full.append(model.name))
    resource = session.resource("dynamodb")
    create_table(resource, TABLE)
    table = resource.Table(TABLE)
    # WHEN five puts and five gets of the same shapes run (different values)
    for n in range(5):
        table.put_item(Item={"pk": f"P#{n}", "sk": "a", "n": Decimal(n)})
        assert table.get_item(Key={"pk": f"P#{n}", "sk": "a"})["Item"]["n"] == Decimal(n)
    # THEN only the first of each shape took the full path
    assert full.count("PutItem") == 1 and full.count("GetItem") == 1
    # AND a request of a new shape is still validated by botocore against the service model
    from botocore.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match="Key"):
        resource.meta.client.get_item(TableName=TABLE)
    # AND an error answered on the direct path is the modeled error class, as on the full path
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        table.put_item(Item={"pk": "P#1", "sk": "a", "n": Decimal(9)}, ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(resource.meta.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item={"pk": "P#2", "sk": "a", "n": Decimal(9)}, ConditionExpression="attribute_not_exists(pk)")


def test_the_local_clinic_serves_its_table_and_nothing_else() -> None:
    # GIVEN the simulator's local clinic on the in-memory backend
    from flowkit.simulate.functions import TABLE as CLINIC_TABLE
    from flowkit.simulate.functions import local_clinic

    before = boto3.DEFAULT_SESSION
    with local_clinic("America/New_York") as clinic:
        assert clinic.memory is not None
        # WHEN the functions' table is read through boto3 THEN the in-memory service answers it
        assert boto3.client("dynamodb").describe_table(TableName=CLINIC_TABLE)["Table"]["TableStatus"] == "ACTIVE"
        assert clinic.memory.requests["DescribeTable"] >= 1
        # WHEN anything else would go to AWS THEN it stops before the network, saying so
        with pytest.raises(RuntimeError, match="the local simulator is offline"):
            boto3.client("ssm").get_parameter(Name="/anything")
    # AND afterwards boto3's default session is the one from before
    assert boto3.DEFAULT_SESSION is before
