"""Action Run Command: ``POST .../virtualMachines/{vm}/runCommand`` and the built-in command documents
(``GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/runCommands[/{commandId}]``).

As Azure does it (facts §8.4; Microsoft's run-command docs; REST examples VirtualMachineRunCommand.json,
RunCommand_List.json, RunCommand_Get.json; azure-powershell#5982, #23347; azure-cli#32286, #32305):
- a long-running POST: 202, no body, ``Location`` (monitor=true) and ``Azure-AsyncOperation``, both
  Compute's signed operation URLs, no retry hints; the finished Azure-AsyncOperation carries
  ``properties.output.value`` and the Location answers 200 with the ``RunCommandResult``;
- one script at a time per VM: 409 ``Conflict`` "Run command extension execution is in progress. ...";
- output limited to the last 4,096 bytes of each stream; about 20 s per run (``run_command_duration_s``);
- it runs through the RunCommandWindows (or RunCommandLinux) extension, installed on first use, which
  then shows like any extension; a run needs a Ready agent (a down one fails after agent_timeout_s with
  VMAgentStatusCommunicationError, azure-docs#11596) and a running VM (the extensions' 409).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from aiohttp import web

from .agent import ready_instant
from .clock import iso
from .errors import ArmError, invalid_parameter, invalid_request_content, json_response
from .extensions import EXTENSIONS_DISALLOWED
from .listing import _next_link, _offset
from .model import VM, Extension, Operation
from .network_render import guest_facts_network
from .oplinks import dotnet_ticks
from .rdp_commands import CommandRun, GuestFacts, run_builtin
from .runcommand_docs import DOCUMENTS, document_base, find_document

RUN_COMMAND_BUSY = ("Run command extension execution is in progress. Please wait for completion before invoking a "
                    "run command.")
OUTPUT_LIMIT_BYTES = 4096
DEFAULT_DURATION_S = 20.0
MAX_JOBS_PER_VM = 20
ACTIONS = {
    ("runcommand_list", "GET"): ("Microsoft.Compute/locations/runCommands/read", "read"),
    ("runcommand_doc", "GET"): ("Microsoft.Compute/locations/runCommands/read", "read"),
    ("vm_runcommand", "POST"): ("Microsoft.Compute/virtualMachines/runCommand/action", "write"),
}


@dataclass(frozen=True)
class Handler:
    name: str
    publisher: str
    type: str
    version: str       # what Azure puts in typeHandlerVersion
    build: str         # what the guest reports (1.1.15: facts §5.3, S51; the Linux build is ours)

    @property
    def full_name(self) -> str:
        return f"{self.publisher}.{self.type}".lower()


HANDLERS = {"Windows": Handler("RunCommandWindows", "Microsoft.CPlat.Core", "RunCommandWindows", "1.1", "1.1.15"),
            "Linux": Handler("RunCommandLinux", "Microsoft.CPlat.Core", "RunCommandLinux", "1.0", "1.0.5")}


def parse_runcommand_path(sub: str, rest: list[str], lrest: list[str]) -> tuple[str, dict] | None:
    """The location-scoped command documents: (kind, extra) or None."""
    if lrest[:3] != ["providers", "microsoft.compute", "locations"] or len(rest) not in (5, 6):
        return None
    if lrest[4] != "runcommands":
        return None
    extra = {"location": rest[3], "command_id": rest[5] if len(rest) == 6 else None,
             "scope": f"/subscriptions/{sub}"}
    return ("runcommand_doc" if len(rest) == 6 else "runcommand_list"), extra


@dataclass
class Job:
    command_id: str
    parameters: dict                 # lower-case name -> value
    script: list[str]
    stdout: str = ""
    stderr: str = ""


@dataclass
class VmRunCommand:
    duration_s: float | None = None                      # simulated seconds per run; None = DEFAULT_DURATION_S
    jobs: OrderedDict = field(default_factory=OrderedDict)   # operation id -> Job, the last MAX_JOBS_PER_VM


def find_handler_extension(vm: VM) -> Extension | None:
    """The VM's run-command extension, whatever its instance name (found by publisher and type)."""
    handler = HANDLERS.get(vm.os_type)
    wanted = handler.full_name if handler else None
    return next((e for e in vm.extensions.values() if e.handler.lower() == wanted), None)


def vm_run_command(vm: VM) -> VmRunCommand:
    if vm.run_command is None:
        vm.run_command = VmRunCommand()
    return vm.run_command


def tail_bytes(text: str, limit: int = OUTPUT_LIMIT_BYTES) -> str:
    """The last ``limit`` bytes of the UTF-8 text (a character cut in two is dropped)."""
    data = text.encode()
    return text if len(data) <= limit else data[-limit:].decode(errors="ignore")


def parse_run_command_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise invalid_request_content(str(exc)) from None
    if not isinstance(body, dict):
        raise invalid_request_content("the request body must be a JSON object")
    if not isinstance(body.get("commandId"), str) or not body["commandId"]:
        raise invalid_parameter("commandId", "Required parameter 'commandId' is missing (null).")
    script = body.get("script") or []
    if not isinstance(script, list) or not all(isinstance(line, str) for line in script):
        raise invalid_parameter("script", "The value of parameter 'script' is invalid.")
    parameters = body.get("parameters") or []
    if not isinstance(parameters, list) or not all(isinstance(p, dict) and p.get("name") for p in parameters):
        raise invalid_parameter("parameters", "The value of parameter 'parameters' is invalid.")
    return {"commandId": body["commandId"], "script": script,
            "parameters": {str(p["name"]).lower(): str(p.get("value", "")) for p in parameters}}


class RunCommandApi:
    def __init__(self, store):
        self.store = store

    def routes(self) -> dict:
        return {("runcommand_list", "GET"): self.list_get, ("runcommand_doc", "GET"): self.doc_get,
                ("vm_runcommand", "POST"): self.invoke}

    async def list_get(self, request, p, api_version):
        offset, size = _offset(request.query.get("$skiptoken")), self.store.config.page_size
        body: dict = {"value": [document_base(d) for d in DOCUMENTS[offset:offset + size]]}
        if offset + size < len(DOCUMENTS):
            body["nextLink"] = _next_link(self.store.base_url, request, api_version, offset + size)
        return json_response(body)

    async def doc_get(self, request, p, api_version):
        return json_response(self._document(p.extra["command_id"]))

    @staticmethod
    def _document(command_id: str) -> dict:
        doc = find_document(command_id)
        if doc is None:   # what the docs say an unknown command id gets
            raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
        return doc

    async def invoke(self, request, p, api_version):
        store = self.store
        vm = store.vm(p.sub, p.rg, p.vm)
        body = parse_run_command_body(await request.read())
        request["extra_headers"].update(store.throttler.vm_update(p.sub, vm.key))
        store.extensions.settle_vm(vm)
        doc = self._document(body["commandId"])
        self._check_runnable(vm, doc)
        ext = self._handler_extension(vm)
        op = self._start(vm, ext, doc, body, never_finish=request.get("never_finish", False))
        store.counters["run_commands"] += 1
        return web.Response(status=202, headers={"Location": store.operation_url(op, monitor=True),
                                                 "Azure-AsyncOperation": store.operation_url(op)})

    def _check_runnable(self, vm: VM, doc: dict) -> None:
        if doc["osType"] != vm.os_type:
            raise invalid_parameter("commandId", f"The command '{doc['id']}' is for {doc['osType']} virtual machines; "
                                                 f"virtual machine '{vm.name}' runs {vm.os_type}.")
        if not vm.allow_extension_operations:
            raise ArmError(409, "OperationNotAllowed", EXTENSIONS_DISALLOWED)
        if vm.power_state != "running":
            raise self.store.extensions.not_running_error()
        ext = find_handler_extension(vm)
        if ext is not None and ext.pending_op and ext.pending_op in self.store.operations:
            raise ArmError(409, "Conflict", RUN_COMMAND_BUSY)

    @staticmethod
    def _handler_extension(vm: VM) -> Extension:
        """The run-command extension instance; the first run installs it."""
        ext = find_handler_extension(vm)
        if ext is not None:
            ext.provisioning_state = "Updating"
            return ext
        h = HANDLERS[vm.os_type]
        ext = Extension(name=h.name, publisher=h.publisher, type=h.type, type_handler_version=h.version,
                        reported_version=h.build, location=vm.location, auto_upgrade_minor_version=True,
                        provisioning_state="Creating")
        vm.extensions[ext.name.lower()] = ext
        return ext

    def _start(self, vm: VM, ext: Extension, doc: dict, body: dict, *, never_finish: bool) -> Operation:
        store = self.store
        clock, config = store.clock, store.config
        now = clock.now()
        op = Operation(id=str(uuid.uuid4()), kind="runcommand", vm=vm, extension_name=ext.name, start_mono=now,
                       done_at=now, never_finish=never_finish, ticks=dotnet_ticks(time.time()),
                       settings={"commandId": doc["id"]}, run_version=HANDLERS[vm.os_type].build)
        timeout = clock.scaled(vm.agent_timeout_s if vm.agent_timeout_s is not None else config.agent_timeout_s)
        ready_at = ready_instant(vm, now)
        if ready_at - now > timeout:      # the agent never picks it up
            op.agent_failure, op.done_at = True, now + timeout
        else:
            state = vm_run_command(vm)
            duration = state.duration_s if state.duration_s is not None else DEFAULT_DURATION_S
            op.run_start, op.done_at = ready_at, ready_at + clock.scaled(duration)
        self._remember_job(vm, op.id, Job(doc["id"], body["parameters"], body["script"]))
        ext.pending_op = op.id
        store.add_operation(op)
        return op

    @staticmethod
    def _remember_job(vm: VM, op_id: str, job: Job) -> None:
        jobs = vm_run_command(vm).jobs
        jobs[op_id] = job
        while len(jobs) > MAX_JOBS_PER_VM:
            jobs.popitem(last=False)


# --- completion (called by completion.Completion when the operation's time has come) -------------

def _facts(store, vm: VM) -> GuestFacts:
    rg = store.subscriptions[vm.subscription.lower()].resource_groups[vm.resource_group.lower()]
    return GuestFacts(computer_name=vm.computer_name.upper(), **guest_facts_network(rg, vm))


def _status(code: str, message: str, when: str | None = None) -> dict:
    status = {"code": code, "level": "Info", "displayStatus": "Provisioning succeeded", "message": message}
    if when is not None:
        status["time"] = when
    return status


def _linux_message(job: Job) -> str:
    return f"Enable succeeded: \n[stdout]\n{job.stdout}\n[stderr]\n{job.stderr}"


def _job(op: Operation) -> Job:
    """The run's request and output (an empty one if it was dropped from the VM's bounded history)."""
    return vm_run_command(op.vm).jobs.get(op.id) or Job("", {}, [])


def complete_run_command(store, vm: VM, ext: Extension, op: Operation) -> None:
    """Run the command in the guest at the operation's scheduled end and record what it printed."""
    end = store.clock.wall(op.done_at)
    job = _job(op)
    if job.command_id:
        run = CommandRun(parameters=job.parameters, script=job.script, facts=_facts(store, vm), now=end.timestamp())
        stdout, stderr = run_builtin(job.command_id, vm.guest, run)
        job.stdout, job.stderr = tail_bytes(stdout), tail_bytes(stderr)
    ext.reported_version = op.run_version or ext.reported_version
    ext.provisioning_state = "Succeeded"
    when = iso(end)
    if vm.os_type == "Linux":
        ext.statuses, ext.substatuses = [_status("ProvisioningState/succeeded", _linux_message(job), when)], None
    else:
        ext.statuses = [_status("ProvisioningState/succeeded", "Finished executing command", when)]
        ext.substatuses = _result_value(job)
    op.status = "Succeeded"
    store.counters["run_command_runs"] += 1
    vm.run_history.append({"time": when, "operation_id": op.id, "extension": ext.name, "kind": "run_command",
                           "username": None, "settings": op.settings, "force_update_tag": None,
                           "outcome": "succeeded", "message": job.command_id or None})
    del vm.run_history[:-50]


def _result_value(job: Job) -> list[dict]:
    return [_status("ComponentStatus/StdOut/succeeded", job.stdout),
            _status("ComponentStatus/StdErr/succeeded", job.stderr)]


def run_command_result(op: Operation) -> dict | None:
    """The RunCommandResult of a finished run command operation, else None."""
    if op.kind != "runcommand" or op.status != "Succeeded":
        return None
    job = _job(op)
    if op.vm.os_type == "Linux":
        return {"value": [_status("ProvisioningState/succeeded", _linux_message(job))]}
    return {"value": _result_value(job)}


def run_command_state(store, vm: VM) -> dict:
    """The control API's view: duration, the pending operation, the last outputs."""
    state = vm_run_command(vm)
    ext = find_handler_extension(vm)
    pending = ext.pending_op if ext is not None and ext.pending_op in store.operations else None
    return {"duration_s": state.duration_s if state.duration_s is not None else DEFAULT_DURATION_S,
            "extension": ext.name if ext else None, "pending_operation": pending,
            "jobs": [{"operation_id": op_id, "command_id": j.command_id, "parameters": j.parameters,
                      "stdout": j.stdout, "stderr": j.stderr} for op_id, j in state.jobs.items()]}
