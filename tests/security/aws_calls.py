"""The AWS calls a piece of deployed code can make, found by reading it (ast), not by running it.

Used by ``test_iam_granted_called.py``: from an entry point (``handler.on_event`` of a custom resource, a clinic
function's handler, the drills' ``aws_steps.handler``) it follows the functions the entry point can reach and
collects every call of a boto3 client or resource method: ``client("svc").op(...)``, ``x = boto3.client("svc")``
then ``x.op(...)``, a client passed on as an argument, ``get_paginator("op")`` and ``get_waiter("name")``, and an
operation named by a string literal passed to a function (the kit's ``Call`` convention, ``runbooks.aws_steps``).

A method name is an AWS operation when it is an operation of a service the code makes a client or resource for
(a string literal given to ``client(...)`` / ``resource(...)``); botocore's service models say which names those
are. When a name is an operation of more than one of those services, the receiver decides (a client made in
the same function), or the analysis refuses to guess.
"""

from __future__ import annotations

import ast
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name


class AnalysisError(ValueError):
    """The code cannot be read as the analysis expects; the message names the file and line."""


@dataclass(frozen=True)
class Call:
    """One AWS operation the code calls: the boto3 service name, the API operation, what was passed."""

    service: str
    operation: str
    keywords: frozenset[str]
    where: str
    #: For DynamoDB TransactWriteItems / TransactGetItems: the kinds of item actions in TransactItems.
    items: frozenset[str] = frozenset()


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name, for one boto3 service."""
    model = _session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


@cache
def _waiters(service: str) -> dict[str, str]:
    """Waiter name -> the operation it polls."""
    try:
        config = _session().get_waiter_model(service)
    except Exception:  # a service without waiters
        return {}
    return {xform_name(name): config.get_waiter(name).operation for name in config.waiter_names}


@dataclass
class Sources:
    """Python modules by dotted name, read from a directory or a zip (an asset as CDK staged it)."""

    modules: dict[str, ast.Module] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dir(cls, root: Path) -> Sources:
        found = cls()
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root)
            found.add(
                ".".join(relative.with_suffix("").parts).removesuffix(".__init__"), path.read_text(), str(relative)
            )
        return found

    @classmethod
    def from_zip(cls, archive: Path) -> Sources:
        found = cls()
        with zipfile.ZipFile(archive) as opened:
            for name in sorted(n for n in opened.namelist() if n.endswith(".py")):
                module = name.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
                found.add(module, opened.read(name).decode("utf-8"), name)
        return found

    def add(self, module: str, text: str, filename: str) -> None:
        self.modules[module] = ast.parse(text, filename=filename)
        self.files[module] = filename


Function = ast.FunctionDef | ast.AsyncFunctionDef


class _Index:
    """Every function and class of the sources, and what each module imports from the others."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.functions: dict[tuple[str, str], Function] = {}
        self.classes: dict[tuple[str, str], ast.ClassDef] = {}
        self.methods: dict[str, list[tuple[str, Function]]] = {}
        self.imports: dict[str, dict[str, tuple[str, str]]] = {}
        for module, tree in sources.modules.items():
            names: dict[str, tuple[str, str]] = {}
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.functions[(module, node.name)] = node
                elif isinstance(node, ast.ClassDef):
                    self.classes[(module, node.name)] = node
                    for item in node.body:
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                            self.methods.setdefault(item.name, []).append((module, item))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module in sources.modules:
                    for alias in node.names:
                        names[alias.asname or alias.name] = (node.module, alias.name)
            self.imports[module] = names

    def resolve(self, module: str, name: str) -> list[tuple[str, Function]]:
        """The functions a name used in ``module`` stands for: a function, a class's methods, an import."""
        module, name = self.imports[module].get(name, (module, name))
        if (module, name) in self.functions:
            return [(module, self.functions[(module, name)])]
        cls = self.classes.get((module, name))
        if cls is not None:  # making an instance runs __init__; its other methods are reached by attribute
            return [(module, f) for f in cls.body if isinstance(f, Function) and f.name == "__init__"]
        return []


def reachable(sources: Sources, module: str, entry: str) -> list[tuple[str, Function]]:
    """The functions ``module.entry`` can reach: by name, by import, a class's ``__init__`` when it is named, and any
    method named like an attribute used (``repo.book(...)`` reaches every ``book`` method of the sources: an
    over-approximation, never an under-)."""
    index = _Index(sources)
    start = index.resolve(module, entry)
    if not start:
        raise AnalysisError(f"{sources.files.get(module, module)}: no function {entry!r}")
    seen: dict[int, tuple[str, Function]] = {}
    todo = list(start)
    while todo:
        where, function = todo.pop()
        if id(function) in seen:
            continue
        seen[id(function)] = (where, function)
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                todo += index.resolve(where, node.id)
            elif isinstance(node, ast.Attribute):
                todo += index.methods.get(node.attr, [])
    return list(seen.values())


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _factory_service(node: ast.AST) -> str | None:
    """``boto3.client("svc", ...)``, ``client("svc")``, ``boto3.resource("svc")``: the service, else None."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return _literal(node.args[0]) if name in ("client", "resource") else None


def services_made(sources: Sources) -> set[str]:
    """Every service the sources make a client or resource for."""
    found = set()
    for tree in sources.modules.values():
        for node in ast.walk(tree):
            service = _factory_service(node)
            if service is not None:
                found.add(service)
    return found


def _clients_returned(index: _Index) -> dict[str, str]:
    """Functions that return a client of one service (``def kms_client(region): return boto3.client("kms")``)."""
    found = {}
    for (_, name), function in index.functions.items():
        made = {
            _factory_service(node.value)
            for node in ast.walk(function)
            if isinstance(node, ast.Return) and node.value is not None
        } - {None}
        if len(made) == 1:
            found[name] = str(next(iter(made)))
    return found


def _receiver_service(receiver: ast.AST, bound: dict[str, str], returns: dict[str, str]) -> str | None:
    service = _factory_service(receiver)
    if service is not None:
        return service
    if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name):
        return returns.get(receiver.func.id)
    if isinstance(receiver, ast.Name):
        return bound.get(receiver.id)
    return None


def _bindings(function: Function, returns: dict[str, str]) -> dict[str, str]:
    """Names assigned a client of a known service inside the function."""
    bound: dict[str, str] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            service = _receiver_service(node.value, bound, returns)
            if service is not None:
                bound[node.targets[0].id] = service
    return bound


def _transact_items(call: ast.Call) -> frozenset[str]:
    """The item kinds (Put, Update, Delete, ConditionCheck, Get) in a TransactItems list literal."""
    for keyword in call.keywords:
        if keyword.arg == "TransactItems" and isinstance(keyword.value, ast.List):
            kinds = set()
            for item in keyword.value.elts:
                if not isinstance(item, ast.Dict) or not all(_literal(k) for k in item.keys):
                    raise AnalysisError(f"line {call.lineno}: TransactItems must be dict literals to be read")
                kinds |= {str(_literal(k)) for k in item.keys}
            return frozenset(kinds)
    raise AnalysisError(f"line {call.lineno}: TransactItems must be a list literal to be read")


def _method(node: ast.AST) -> ast.Attribute | None:
    """The method a call calls: ``x.op(...)``, or ``functools.partial(x.op, ...)`` (called later)."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr != "partial":
        return func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name == "partial" and node.args and isinstance(node.args[0], ast.Attribute):
        return node.args[0]
    return None


def _operation(method: str, node: ast.Call) -> tuple[str, bool] | None:
    """(method name of the operation, whether it came from a paginator or waiter name) for one call."""
    if method in ("get_paginator", "get_waiter"):
        name = _literal(node.args[0]) if node.args else None
        return (name, True) if name else None
    return method, False


def calls(sources: Sources, module: str, entry: str) -> list[Call]:
    """Every AWS operation that ``module.entry`` can call."""
    services = services_made(sources)
    index = _Index(sources)
    returns = _clients_returned(index)
    found: list[Call] = []
    for where, function in reachable(sources, module, entry):
        bound = _bindings(function, returns)
        for node in ast.walk(function):
            found += _operations_named(node, services, f"{sources.files[where]}:{getattr(node, 'lineno', 0)}")
            attribute = _method(node)
            if attribute is None:
                continue
            assert isinstance(node, ast.Call)
            named = _operation(attribute.attr, node)
            if named is None:
                continue
            method, by_name = named
            waiter = attribute.attr == "get_waiter"
            candidates = {
                s: (_waiters(s).get(method) if waiter else operations(s).get(method)) for s in sorted(services)
            }
            candidates = {s: op for s, op in candidates.items() if op}
            if not candidates:
                if by_name:
                    raise AnalysisError(f"{sources.files[where]}:{node.lineno}: {method!r} is no operation here")
                continue
            if len(candidates) > 1:
                service = _receiver_service(attribute.value, bound, returns)
                if service not in candidates:
                    raise AnalysisError(
                        f"{sources.files[where]}:{node.lineno}: {method} is an operation of {sorted(candidates)}; "
                        "make the client in the same function so that the analysis can tell which"
                    )
                candidates = {service: candidates[service]}
            service, operation = next(iter(candidates.items()))
            items = _transact_items(node) if operation in ("TransactWriteItems", "TransactGetItems") else frozenset()
            keywords = frozenset(k.arg for k in node.keywords if k.arg)
            found.append(Call(service, operation, keywords, f"{sources.files[where]}:{node.lineno}", items))
    return found


def _operations_named(node: ast.AST, services: set[str], where: str) -> list[Call]:
    """The kit's ``Call`` convention (``runbooks.aws_steps``): an operation named by a string literal passed to a
    function (``active_by_name(call, id, "search_contact_flows")``, ``call("describe_stacks", ...)``) is called."""
    if not isinstance(node, ast.Call):
        return []
    named = []
    for argument in node.args:
        method = _literal(argument)
        if method is None:
            continue
        candidates = {s: operations(s)[method] for s in sorted(services) if method in operations(s)}
        if len(candidates) > 1:
            raise AnalysisError(f"{where}: {method} is an operation of {sorted(candidates)}; name its client")
        named += [Call(service, operation, frozenset(), where) for service, operation in candidates.items()]
    return named


def document_calls(content: dict[str, object]) -> Iterator[tuple[str, str]]:
    """(service, API) of the SSM Automation steps that call an AWS API by name (``aws:executeAwsApi``,
    ``aws:waitForAwsResourceProperty``, ``aws:assertAwsResourceProperty``: their inputs name Service and Api)."""
    steps = content.get("mainSteps", [])
    assert isinstance(steps, list)
    for step in steps:
        inputs = step.get("inputs", {})
        if "Service" in inputs and "Api" in inputs:
            service, api = str(inputs["Service"]), str(inputs["Api"])
            known = operations(service)
            yield service, known.get(api) or known.get(xform_name(api)) or api
