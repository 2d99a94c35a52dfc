"""A small in-memory DynamoDB served through botocore's own request pipeline, for the local call simulator.

The clinic functions keep their real boto3 code: parameters are validated and serialized by botocore against the
real service model, the endpoint is resolved, and the answer goes through botocore's JSON response parser and
boto3's type (de)serializers. Only the HTTP round trip is replaced: a ``before-call`` handler (the hook botocore's
Stubber uses) reads the serialized request and answers it from dicts. moto does the same job with a full
server-side emulation, at ~10 ms a request; this answers in tens of microseconds.

Implemented: CreateTable, DescribeTable, DeleteTable, PutItem, GetItem, DeleteItem, UpdateItem (SET and REMOVE),
Query (a key condition, a filter, a projection, ScanIndexForward), Scan, BatchWriteItem, TransactWriteItems (Put,
Update, Delete, ConditionCheck; all or nothing, with cancellation reasons). Expressions: comparisons, BETWEEN, IN,
AND/OR/NOT, parentheses, attribute_exists, attribute_not_exists, begins_with, contains, on top-level attributes.
Anything else answers ``ValidationException`` naming what is unsupported, never a silent wrong answer.
``tests/functional/test_memory_dynamodb.py`` runs the same requests against moto and this and compares the answers.

A direct path (``attach(..., direct=True)``, what the simulator uses) skips the parts of the round trip that give
the same answer every time for requests of the same shape. The first request of each shape (its operation and the
structure of its parameters: which members, which attribute types, not the values) takes the full path above:
botocore validates and serializes it against the service model, and the response parser runs. Later requests of
that shape keep boto3's own parameter and response transforms (``before-parameter-build`` and ``after-call``,
where Python values become DynamoDB's typed values and back) and the modeled error classes, and skip validation,
serialization, endpoint resolution, the user agent and the parser, which the first request showed to be an
identity for that shape of answer.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

Item = dict[str, dict[str, Any]]


class DynamoError(Exception):
    """An error answer: DynamoDB's error code and message (botocore raises it as a ClientError)."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


def _unsupported(what: str) -> DynamoError:
    return DynamoError("ValidationException", f"the in-memory DynamoDB of the simulator does not support {what}")


# ---------------------------------------------------------------- expressions

_TOKEN = re.compile(
    r"\s*(?:(?P<op><>|<=|>=|=|<|>)|(?P<punct>[(),])|(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>\S))"
)
_KEYWORDS = {"AND", "OR", "NOT", "BETWEEN", "IN"}
_FUNCTIONS = {"attribute_exists", "attribute_not_exists", "begins_with", "contains", "size", "attribute_type"}


@lru_cache(maxsize=512)
def _tokens(text: str) -> tuple[tuple[str, str], ...]:
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        value = match.group(kind)
        if kind == "bad":
            if value in "[].+-":
                raise _unsupported(f"{value!r} in expressions (nested paths, arithmetic): {text!r}")
            raise DynamoError("ValidationException", f"Invalid expression: unexpected {value!r} in {text!r}")
        if kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append((kind, value))
    return tuple(tokens)


@dataclass
class _Parser:
    """Recursive descent over DynamoDB's condition grammar (precedence: comparisons, NOT, AND, OR)."""

    tokens: tuple[tuple[str, str], ...]
    names: dict[str, str]
    values: dict[str, Any]
    text: str
    at: int = 0
    used_names: set[str] = field(default_factory=set)
    used_values: set[str] = field(default_factory=set)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise DynamoError("ValidationException", f"Invalid expression: syntax error near token {self.at} "
                              f"of {self.text!r}")  # fmt: skip
        self.at += 1
        return token

    def done(self) -> None:
        if self.peek() is not None:
            self.take("end")

    def path(self) -> str:
        kind, token = self.take()
        if kind == "name":
            if token not in self.names:
                raise DynamoError("ValidationException", f"An expression attribute name used in the document path "
                                  f"is not defined; attribute name: {token}")  # fmt: skip
            self.used_names.add(token)
            return self.names[token]
        if kind == "word":
            return token
        raise DynamoError("ValidationException", f"Invalid expression: expected an attribute in {self.text!r}")

    def operand(self) -> tuple[str, Any]:
        token = self.peek()
        if token and token[0] == "value":
            self.take()
            if token[1] not in self.values:
                raise DynamoError("ValidationException", f"An expression attribute value used in expression is not "
                                  f"defined; attribute value: {token[1]}")  # fmt: skip
            self.used_values.add(token[1])
            return ("value", self.values[token[1]])
        if token and token[0] == "word" and token[1] in _FUNCTIONS:
            raise _unsupported(f"{token[1]}() as an operand")
        return ("path", self.path())

    def condition(self) -> Callable[[Item], bool]:
        left = self.conjunction()
        while (token := self.peek()) and token == ("kw", "OR"):
            self.take()
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Callable[[Item], bool]:
        left = self.negation()
        while (token := self.peek()) and token == ("kw", "AND"):
            self.take()
            right = self.negation()
            left = _both(left, right)
        return left

    def negation(self) -> Callable[[Item], bool]:
        if self.peek() == ("kw", "NOT"):
            self.take()
            inner = self.negation()
            return lambda item: not inner(item)
        return self.comparison()

    def comparison(self) -> Callable[[Item], bool]:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.condition()
            self.take("punct", ")")
            return inner
        if token and token[0] == "word" and token[1] in _FUNCTIONS:
            return self.function()
        left = self.operand()
        token = self.peek()
        if token and token[0] == "op":
            self.take()
            right = self.operand()
            return _compare(token[1], left, right)
        if token == ("kw", "BETWEEN"):
            self.take()
            low = self.operand()
            self.take("kw", "AND")
            high = self.operand()
            ge, le = _compare(">=", left, low), _compare("<=", left, high)
            return lambda item: ge(item) and le(item)
        if token == ("kw", "IN"):
            self.take()
            self.take("punct", "(")
            options = [self.operand()]
            while self.peek() == ("punct", ","):
                self.take()
                options.append(self.operand())
            self.take("punct", ")")
            tests = [_compare("=", left, option) for option in options]
            return lambda item: any(test(item) for test in tests)
        raise DynamoError("ValidationException", f"Invalid expression: expected a comparison in {self.text!r}")

    def function(self) -> Callable[[Item], bool]:
        _, name = self.take("word")
        if name not in ("attribute_exists", "attribute_not_exists", "begins_with", "contains"):
            raise _unsupported(f"the function {name}()")
        self.take("punct", "(")
        attribute = self.path()
        argument = None
        if name in ("begins_with", "contains"):
            self.take("punct", ",")
            argument = self.operand()
        self.take("punct", ")")
        if name == "attribute_exists":
            return lambda item: attribute in item
        if name == "attribute_not_exists":
            return lambda item: attribute not in item
        assert argument is not None
        if name == "begins_with":
            return lambda item: _begins_with(item.get(attribute), _resolve(argument, item))
        return lambda item: _contains(item.get(attribute), _resolve(argument, item))


def _either(a: Callable[[Item], bool], b: Callable[[Item], bool]) -> Callable[[Item], bool]:
    return lambda item: a(item) or b(item)


def _both(a: Callable[[Item], bool], b: Callable[[Item], bool]) -> Callable[[Item], bool]:
    return lambda item: a(item) and b(item)


def _resolve(operand: tuple[str, Any], item: Item) -> dict[str, Any] | None:
    kind, value = operand
    return item.get(value) if kind == "path" else value


def _scalar(value: dict[str, Any] | None) -> tuple[str, Any] | None:
    """An attribute value as (type, comparable): numbers as Decimal, binary as its base64 text's bytes."""
    if not value:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "N":
        return ("N", Decimal(raw))
    if kind in ("S", "B", "BOOL", "NULL"):
        return (kind, raw)
    return (kind, json.dumps(raw, sort_keys=True))


def _compare(op: str, left: tuple[str, Any], right: tuple[str, Any]) -> Callable[[Item], bool]:
    def test(item: Item) -> bool:
        a, b = _scalar(_resolve(left, item)), _scalar(_resolve(right, item))
        if a is None or b is None:
            return op == "<>" and (a is None) != (b is None)
        if a[0] != b[0]:
            return op == "<>"
        if op in ("=", "<>"):
            return bool(a[1] == b[1]) == (op == "=")
        if a[0] not in ("S", "N", "B"):
            return False
        x, y = (a[1].encode(), b[1].encode()) if a[0] == "S" else (a[1], b[1])
        return bool({"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op])

    return test


def _begins_with(value: dict[str, Any] | None, prefix: dict[str, Any] | None) -> bool:
    a, b = _scalar(value), _scalar(prefix)
    return bool(a and b and a[0] == b[0] and a[0] in ("S", "B") and str(a[1]).startswith(str(b[1])))


def _contains(value: dict[str, Any] | None, part: dict[str, Any] | None) -> bool:
    if not value or not part:
        return False
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return "S" in part and part["S"] in raw
    if kind in ("SS", "NS", "BS"):
        return next(iter(part.values())) in raw
    if kind == "L":
        return part in raw
    return False


def _parse(text: str, names: dict[str, str], values: dict[str, Any]) -> tuple[Callable[[Item], bool], _Parser]:
    parser = _Parser(_tokens(text), names, values, text)
    predicate = parser.condition()
    parser.done()
    return predicate, parser


def _projection(text: str | None, names: dict[str, str]) -> list[str] | None:
    if not text:
        return None
    attributes = []
    for part in (p.strip() for p in text.split(",")):
        if not re.fullmatch(r"#?[A-Za-z0-9_]+", part):
            raise _unsupported(f"the projection {part!r} (nested paths)")
        attributes.append(names[part] if part.startswith("#") else part)
    return attributes


def _update(text: str, names: dict[str, str], values: dict[str, Any], item: Item) -> Item:
    """Apply ``SET a = :v, b = c`` and ``REMOVE a, b`` clauses to a copy of the item."""
    updated = dict(item)
    clauses = re.split(r"\b(SET|REMOVE|ADD|DELETE)\b", text, flags=re.IGNORECASE)
    if clauses[0].strip():
        raise DynamoError("ValidationException", f"Invalid UpdateExpression: {text!r}")
    for word, body in zip(clauses[1::2], clauses[2::2], strict=True):
        keyword = word.upper()
        if keyword not in ("SET", "REMOVE"):
            raise _unsupported(f"{keyword} in update expressions")
        for action in (a.strip() for a in body.split(",")):
            if keyword == "REMOVE":
                updated.pop(_Parser(_tokens(action), names, values, text).path(), None)
                continue
            parser = _Parser(_tokens(action), names, values, text)
            target = parser.path()
            parser.take("op", "=")
            source = parser.operand()
            parser.done()
            value = _resolve(source, item)
            if value is None:
                raise DynamoError("ValidationException", "The provided expression refers to an attribute that "
                                  "does not exist in the item")  # fmt: skip
            updated[target] = value
    return updated


# ---------------------------------------------------------------- tables


@dataclass
class Table:
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    billing_mode: str
    partitions: dict[str, dict[str, Item]] = field(default_factory=dict)

    @property
    def hash_key(self) -> str:
        return next(k["AttributeName"] for k in self.key_schema if k["KeyType"] == "HASH")

    @property
    def range_key(self) -> str | None:
        return next((k["AttributeName"] for k in self.key_schema if k["KeyType"] == "RANGE"), None)

    def key_of(self, item: Item, *, exact: bool = False) -> tuple[str, str]:
        names = [self.hash_key] + ([self.range_key] if self.range_key else [])
        if any(n not in item for n in names) or (exact and set(item) != set(names)):
            raise DynamoError("ValidationException", "The provided key element does not match the schema")
        types = {d["AttributeName"]: d["AttributeType"] for d in self.attribute_definitions}
        for name in names:
            actual = next(iter(item[name]))
            if actual != types[name]:
                raise DynamoError("ValidationException", f"One or more parameter values were invalid: Type mismatch "
                                  f"for key {name} expected: {types[name]} actual: {actual}")  # fmt: skip
        sort = json.dumps(item[self.range_key]) if self.range_key else ""
        return json.dumps(item[self.hash_key]), sort

    def get(self, key: tuple[str, str]) -> Item | None:
        return self.partitions.get(key[0], {}).get(key[1])

    def put(self, key: tuple[str, str], item: Item) -> None:
        self.partitions.setdefault(key[0], {})[key[1]] = item

    def delete(self, key: tuple[str, str]) -> None:
        partition = self.partitions.get(key[0], {})
        partition.pop(key[1], None)
        if not partition:
            self.partitions.pop(key[0], None)

    def items(self) -> list[Item]:
        return [item for partition in self.partitions.values() for item in partition.values()]

    def description(self) -> dict[str, Any]:
        return {"TableName": self.name, "TableStatus": "ACTIVE", "KeySchema": self.key_schema,
                "AttributeDefinitions": self.attribute_definitions, "ItemCount": len(self.items()),
                "TableArn": f"arn:aws:dynamodb:local:000000000000:table/{self.name}",
                "BillingModeSummary": {"BillingMode": self.billing_mode}}  # fmt: skip


def _shape_of(value: Any) -> Any:
    """The structure of a request or answer: member names and value types, not the values."""
    if isinstance(value, dict):
        return tuple((k, _shape_of(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("[]", frozenset(_shape_of(v) for v in value))
    return type(value).__name__


def _direct_client(memory: MemoryDynamoDB) -> type:
    """A client base class whose API calls take ``memory``'s direct path."""

    class DirectMemoryDynamoDB:
        def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
            full = super()._make_api_call  # type: ignore[misc]
            return memory.direct_call(self, full, operation_name, api_params)

    return DirectMemoryDynamoDB


def _sort_value(table: Table, item: Item) -> Any:
    if not table.range_key:
        return 0
    kind, raw = next(iter(item[table.range_key].items()))
    return Decimal(raw) if kind == "N" else raw.encode() if kind == "S" else raw


class MemoryDynamoDB:
    """The tables, and the botocore hook that serves them. ``attach`` it to a boto3 or botocore session."""

    def __init__(self) -> None:
        self.tables: dict[str, Table] = {}
        self.requests: dict[str, int] = {}
        self._parsers: dict[str, Any] = {}
        #: Request shapes the full path has served (validated), and answer shapes the parser leaves as they are.
        self._served: set[tuple[str, Any]] = set()
        self._parsed_as_is: set[tuple[str, Any]] = set()
        # One request at a time, as DynamoDB serializes writes to an item (and transactions are all or nothing).
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- wiring

    def attach(self, events: Any, *, direct: bool = False) -> None:
        """Serve every DynamoDB call of clients created from now on from a session with these events; ``direct``
        also gives those clients the direct path for requests of a shape already served (module docstring)."""
        events.register("before-call.dynamodb", self._before_call, unique_id=f"memory-dynamodb-{id(self)}")
        if direct:
            events.register("creating-client-class.dynamodb", self._direct_class,
                            unique_id=f"memory-dynamodb-direct-{id(self)}")  # fmt: skip

    def detach(self, events: Any) -> None:
        events.unregister("before-call.dynamodb", unique_id=f"memory-dynamodb-{id(self)}")
        events.unregister("creating-client-class.dynamodb", unique_id=f"memory-dynamodb-direct-{id(self)}")

    def _direct_class(self, base_classes: list[type], **_: Any) -> None:
        base_classes.insert(0, _direct_client(self))

    def direct_call(self, client: Any, full: Callable[[str, dict[str, Any]], Any], name: str,
                    api_params: dict[str, Any]) -> Any:  # fmt: skip
        """One API call of ``client``: by the full round trip (``full``) for a new shape, else directly."""
        operation = client._service_model.operation_model(name)
        context = {"client_region": client.meta.region_name, "client_config": client.meta.config,
                   "has_streaming_input": False, "auth_type": None, "unsigned_payload": None,
                   "auth_options": None, "direct": True}  # fmt: skip
        # boto3's resource clients copy the parameters before transforming them (provide-client-params), so
        # ``api_params`` stays as the caller gave it for the full path.
        params = client._emit_api_params(api_params=api_params, operation_model=operation, context=context)
        try:
            request = json.loads(json.dumps(params))
        except TypeError:  # bytes (binary attributes) are base64 on the wire: only the serializer writes them
            request = None
        shape = (name, _shape_of(params)) if request is not None else None
        if shape is None or shape not in self._served:
            answer = full(name, api_params)
            if shape is not None:
                self._served.add(shape)
            return answer
        self.requests[name] = self.requests.get(name, 0) + 1
        handler = getattr(self, f"_op_{name}")
        try:
            with self._lock:
                body = handler(request)
        except DynamoError as exc:
            parsed = self._error(operation, exc)
            raise client.exceptions.from_code(parsed["Error"]["Code"])(parsed, name) from None
        raw = json.dumps(body)
        if (name, _shape_of(body)) not in self._parsed_as_is:
            parsed = self._parse(operation, 200, {}, raw.encode())
            parsed.pop("ResponseMetadata", None)
            if parsed != json.loads(raw):
                return full(name, api_params)  # the parser changes this answer: keep it in the path
            self._parsed_as_is.add((name, _shape_of(body)))
        answer = json.loads(raw)
        request_id = f"local-{next(self._ids):012d}"
        headers = {"x-amzn-requestid": request_id, "content-type": "application/x-amz-json-1.0"}
        answer["ResponseMetadata"] = {"RequestId": request_id, "HTTPStatusCode": 200, "HTTPHeaders": headers,
                                      "RetryAttempts": 0}  # fmt: skip
        from botocore.awsrequest import AWSResponse

        http = AWSResponse("https://dynamodb.local", 200, cast("Any", headers), None)
        client.meta.events.emit(f"after-call.dynamodb.{name}", http_response=http, parsed=answer, model=operation,
                                context=context)  # fmt: skip
        return answer

    def _parse(self, model: Any, status: int, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        """What botocore's parser makes of an answer (the parser made once per protocol)."""
        from botocore.parsers import create_parser

        protocol = model.metadata["protocol"]
        if protocol not in self._parsers:
            self._parsers[protocol] = create_parser(protocol)
        parsed: dict[str, Any] = self._parsers[protocol].parse(
            {"status_code": status, "headers": headers, "body": raw}, model.output_shape
        )
        return parsed

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        from botocore.awsrequest import AWSResponse

        operation = model.name
        self.requests[operation] = self.requests.get(operation, 0) + 1
        request = json.loads(params["body"] or b"{}")
        try:
            handler = getattr(self, f"_op_{operation}", None)
            if handler is None:
                raise _unsupported(f"the operation {operation}")
            with self._lock:
                body = handler(request)
        except DynamoError as exc:
            parsed = self._error(model, exc)
            headers = parsed["ResponseMetadata"]["HTTPHeaders"]
            return AWSResponse(params["url"], 400, cast("Any", headers), None), parsed
        headers = {"x-amzn-requestid": f"local-{next(self._ids):012d}", "content-type": "application/x-amz-json-1.0"}
        parsed = self._parse(model, 200, headers, json.dumps(body).encode())
        # AWSResponse keeps its headers in a case-insensitive HeadersDict made from any mapping.
        return AWSResponse(params["url"], 200, cast("Any", headers), None), parsed

    def _error(self, model: Any, exc: DynamoError) -> dict[str, Any]:
        """An error answer as botocore parses it, with the modeled fields of the error (CancellationReasons)."""
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{exc.code}", "message": exc.message, **exc.extra}
        headers = {"x-amzn-requestid": f"local-{next(self._ids):012d}", "content-type": "application/x-amz-json-1.0"}
        raw = json.dumps(body).encode()
        parsed = self._parse(model, 400, headers, raw)
        error_shape = model.service_model.shape_for_error_code(parsed.get("Error", {}).get("Code"))
        if error_shape is not None:
            # As botocore's endpoint does: the error's modeled fields.
            parser = self._parsers[model.metadata["protocol"]]
            parsed.update(parser.parse({"status_code": 400, "headers": headers, "body": raw}, error_shape))
        return parsed

    def _table(self, name: str) -> Table:
        if name not in self.tables:
            raise DynamoError("ResourceNotFoundException", "Requested resource not found")
        return self.tables[name]

    # -- tables

    def _op_CreateTable(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - the API's operation name
        name = request["TableName"]
        if name in self.tables:
            raise DynamoError("ResourceInUseException", f"Table already exists: {name}")
        if request.get("GlobalSecondaryIndexes") or request.get("LocalSecondaryIndexes"):
            raise _unsupported("secondary indexes")
        table = Table(name, request["KeySchema"], request["AttributeDefinitions"],
                      request.get("BillingMode", "PROVISIONED"))  # fmt: skip
        self.tables[name] = table
        return {"TableDescription": table.description()}

    def _op_DescribeTable(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {"Table": self._table(request["TableName"]).description()}

    def _op_DeleteTable(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        del self.tables[table.name]
        return {"TableDescription": {**table.description(), "TableStatus": "DELETING"}}

    # -- items

    @staticmethod
    def _check(request: dict[str, Any], item: Item | None) -> bool:
        text = request.get("ConditionExpression")
        if not text:
            if request.get("Expected"):
                raise _unsupported("the legacy Expected parameter")
            return True
        predicate, _ = _parse(text, request.get("ExpressionAttributeNames", {}),
                              request.get("ExpressionAttributeValues", {}))  # fmt: skip
        return predicate(item or {})

    @staticmethod
    def _returning(request: dict[str, Any], old: Item | None, new: Item | None) -> dict[str, Any]:
        wanted = request.get("ReturnValues", "NONE")
        if wanted == "NONE":
            return {}
        if wanted == "ALL_OLD":
            return {"Attributes": old} if old else {}
        if wanted == "ALL_NEW":
            return {"Attributes": new} if new else {}
        raise _unsupported(f"ReturnValues={wanted}")

    def _op_PutItem(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        item = request["Item"]
        key = table.key_of(item)
        old = table.get(key)
        if not self._check(request, old):
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        table.put(key, item)
        return self._returning(request, old, item)

    def _op_GetItem(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        item = table.get(table.key_of(request["Key"], exact=True))
        if item is None:
            return {}
        attributes = _projection(request.get("ProjectionExpression"), request.get("ExpressionAttributeNames", {}))
        return {"Item": {k: v for k, v in item.items() if attributes is None or k in attributes}}

    def _op_DeleteItem(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        key = table.key_of(request["Key"], exact=True)
        old = table.get(key)
        if not self._check(request, old):
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        table.delete(key)
        return self._returning(request, old, None)

    def _op_UpdateItem(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        key = table.key_of(request["Key"], exact=True)
        old = table.get(key)
        if not self._check(request, old):
            raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        new = self._updated(request, old)
        table.put(key, new)
        return self._returning(request, old, new)

    @staticmethod
    def _updated(request: dict[str, Any], old: Item | None) -> Item:
        text = request.get("UpdateExpression")
        if not text:
            raise _unsupported("UpdateItem without an UpdateExpression")
        base = old or dict(request["Key"])
        return _update(text, request.get("ExpressionAttributeNames", {}),
                       request.get("ExpressionAttributeValues", {}), base)  # fmt: skip

    def _select(self, request: dict[str, Any], candidates: list[Item]) -> dict[str, Any]:
        for unsupported in ("ExclusiveStartKey", "Limit", "IndexName", "Segment", "KeyConditions", "ScanFilter"):
            if unsupported in request:
                raise _unsupported(unsupported)
        names = request.get("ExpressionAttributeNames", {})
        values = request.get("ExpressionAttributeValues", {})
        scanned = len(candidates)
        if request.get("FilterExpression"):
            predicate, _ = _parse(request["FilterExpression"], names, values)
            candidates = [item for item in candidates if predicate(item)]
        attributes = _projection(request.get("ProjectionExpression"), names)
        if request.get("Select") == "COUNT":
            return {"Count": len(candidates), "ScannedCount": scanned}
        items = [{k: v for k, v in item.items() if attributes is None or k in attributes} for item in candidates]
        return {"Items": items, "Count": len(items), "ScannedCount": scanned}

    def _op_Query(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        text = request.get("KeyConditionExpression")
        if not text:
            raise _unsupported("Query without a KeyConditionExpression")
        names = request.get("ExpressionAttributeNames", {})
        values = request.get("ExpressionAttributeValues", {})
        predicate, parser = _parse(text, names, values)
        # The partition: the one value the key condition sets the hash key equal to.
        found = re.search(r"(#?\w+)\s*=\s*(:\w+)|(:\w+)\s*=\s*(#?\w+)", text)
        if not found:
            raise DynamoError("ValidationException", "Query condition missed key schema element")
        left, value = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
        if (names.get(left, left)) != table.hash_key:
            raise DynamoError("ValidationException", f"Query condition missed key schema element: {table.hash_key}")
        partition = table.partitions.get(json.dumps(values[value]), {})
        matches = sorted((item for item in partition.values() if predicate(item)),
                         key=lambda item: _sort_value(table, item),
                         reverse=not request.get("ScanIndexForward", True))  # fmt: skip
        filter_parser = None
        if request.get("FilterExpression"):
            _, filter_parser = _parse(request["FilterExpression"], names, values)
        used = parser.used_values | (filter_parser.used_values if filter_parser else set())
        if unused := set(values) - used:
            raise DynamoError("ValidationException", f"Value provided in ExpressionAttributeValues unused in "
                              f"expressions: keys: {{{', '.join(sorted(unused))}}}")  # fmt: skip
        return self._select(request, matches)

    def _op_Scan(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        table = self._table(request["TableName"])
        return self._select(request, table.items())

    def _op_BatchWriteItem(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        for name, writes in request["RequestItems"].items():
            table = self._table(name)
            for write in writes:
                if "PutRequest" in write:
                    item = write["PutRequest"]["Item"]
                    table.put(table.key_of(item), item)
                else:
                    table.delete(table.key_of(write["DeleteRequest"]["Key"], exact=True))
        return {"UnprocessedItems": {}}

    def _op_TransactWriteItems(self, request: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        plan: list[tuple[Table, tuple[str, str], Item | None]] = []
        reasons: list[dict[str, str]] = []
        failed = False
        touched: set[tuple[str, tuple[str, str]]] = set()
        for entry in request["TransactItems"]:
            ((kind, action),) = entry.items()
            table = self._table(action["TableName"])
            key = table.key_of(action["Item"] if kind == "Put" else action["Key"], exact=kind != "Put")
            if (table.name, key) in touched:
                raise DynamoError("ValidationException", "Transaction request cannot include multiple operations "
                                  "on one item")  # fmt: skip
            touched.add((table.name, key))
            old = table.get(key)
            if not self._check(action, old):
                failed = True
                reasons.append({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"})
                continue
            reasons.append({"Code": "None"})
            if kind == "Put":
                plan.append((table, key, action["Item"]))
            elif kind == "Update":
                plan.append((table, key, self._updated(action, old)))
            elif kind == "Delete":
                plan.append((table, key, None))
        if failed:
            codes = ", ".join(r["Code"] for r in reasons)
            raise DynamoError("TransactionCanceledException", f"Transaction cancelled, please refer cancellation "
                              f"reasons for specific reasons [{codes}]", CancellationReasons=reasons)  # fmt: skip
        for table, key, item in plan:
            if item is None:
                table.delete(key)
            else:
                table.put(key, copy.deepcopy(item))
        return {}
