"""Extension lifecycle as Compute does it: PUT/DELETE validation, rerun semantics,
long-running operations, and lazy completion of those operations (nothing runs on a timer:
``settle_*`` is called whenever a VM, extension or operation is read)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

from .clock import iso
from .errors import ArmError, invalid_parameter, invalid_request_content
from .guest import PreparedRun, RunOutcome, execute_linux_vmaccess, execute_vmaccess, prepare_run
from .model import VM, Extension, Operation

# Published handler versions per (publisher.type) and major.minor -> newest patch build.
HANDLER_VERSIONS = {
    "microsoft.compute.vmaccessagent": {"2.0": "2.0.2", "2.4": "2.4.11"},
    "microsoft.ostcextensions.vmaccessforlinux": {"1.4": "1.4.7.1", "1.5": "1.5.25"},
}
TROUBLESHOOT = {"Windows": "https://aka.ms/vmextensionwindowstroubleshoot",
                "Linux": "https://aka.ms/vmextensionlinuxtroubleshoot"}
EXTENSIONS_DISALLOWED = ("This operation cannot be performed when extension operations are disallowed. To allow, "
                         "please ensure VM Agent is installed on the VM and the osProfile.allowExtensionOperations "
                         "property is true.")


def _major_minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def resolve_version(publisher: str, ext_type: str, requested: str, auto_upgrade: bool,
                    current: str | None) -> str:
    """The build the guest will run, or 404 ArtifactVersionNotFound (as Azure answers)."""
    catalog = HANDLER_VERSIONS.get(f"{publisher}.{ext_type}".lower())
    if catalog is None:  # handlers we do not model: accept any version
        return requested if requested.count(".") >= 2 else f"{requested}.0"
    wanted = _major_minor(requested)
    if wanted not in catalog:
        raise ArmError(404, "ArtifactVersionNotFound",
                       f"No version found in the artifact repository that satisfies the requested version "
                       f"'{requested}' for VM extension with publisher '{publisher}' and type '{ext_type}'.")
    if current and _major_minor(current) == wanted and not auto_upgrade:
        return current
    if auto_upgrade:  # newest minor within the major
        major = wanted.split(".", maxsplit=1)[0]
        return max((v for k, v in catalog.items() if k.split(".")[0] == major),
                   key=lambda v: [int(p) for p in v.split(".")])
    return current if current and _major_minor(current) == wanted else catalog[wanted]


def protected_fingerprint(vm: VM, protected: dict | None) -> str:
    """Keyed hash of protectedSettings: lets a rerun be detected without keeping the values."""
    canonical = json.dumps(protected or {}, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(vm.fingerprint_key, canonical, hashlib.sha256).hexdigest()


def not_running_error() -> ArmError:
    return ArmError(409, "OperationNotAllowed", "Cannot modify extensions in the VM when the VM is not running.",
                    internal_code="CannotModifyExtensionsWhenVMNotRunning")


def _conflict(op_url: str) -> ArmError:
    return ArmError(409, "Conflict", "Another operation on this or dependent resource is in progress. To retrieve "
                                     f"status of the operation use uri: {op_url}", internal_code="OperationConflict")


def parse_extension_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise invalid_request_content(str(exc)) from None
    if not isinstance(body, dict):
        raise invalid_request_content("the request body must be a JSON object")
    props = body.get("properties")
    if not isinstance(props, dict):
        raise invalid_parameter("properties", "Required parameter 'properties' is missing (null).")
    for key in ("publisher", "type", "typeHandlerVersion"):
        if not isinstance(props.get(key), str) or not props.get(key):
            raise invalid_parameter(key, f"Required parameter '{key}' is missing (null).")
    for key in ("settings", "protectedSettings"):
        if props.get(key) is not None and not isinstance(props.get(key), dict):
            raise invalid_parameter(key, f"The value of parameter '{key}' is invalid.")
    return body


class ExtensionService:
    """PUT/DELETE and operation completion, bound to the store's clock/config/operations."""

    def __init__(self, store):
        self.store = store

    # --- PUT ------------------------------------------------------------------------------
    def put(self, vm: VM, name: str, body: dict, *, never_finish: bool = False) -> tuple[int, Extension, Operation]:
        store, clock, config = self.store, self.store.clock, self.store.config
        self.settle_vm(vm)
        props = body["properties"]
        publisher, ext_type = props["publisher"], props["type"]
        existing = vm.extensions.get(name.lower())
        if existing is not None:
            for prop, old, new in (("publisher", existing.publisher, publisher), ("type", existing.type, ext_type)):
                if old.lower() != new.lower():
                    raise ArmError(400, "PropertyChangeNotAllowed", f"Changing property '{prop}' is not allowed.",
                                   target=prop)
        handler = f"{publisher}.{ext_type}".lower()
        for other in vm.extensions.values():
            if other.name.lower() != name.lower() and other.handler.lower() == handler:
                raise ArmError(400, "BadRequest",
                               f"Multiple VMExtensions per handler not supported for OS type '{vm.os_type}'. "
                               f"VMExtension '{other.name}' with handler '{other.handler}' already added or "
                               "specified in input.", internal_code="MultipleExtensionsPerHandlerNotAllowed")
        if not vm.allow_extension_operations:
            raise ArmError(409, "OperationNotAllowed", EXTENSIONS_DISALLOWED,
                           internal_code="ExtensionOperationsDisallowed")
        if vm.power_state != "running":
            raise not_running_error()
        auto_upgrade = props.get("autoUpgradeMinorVersion")
        reported = resolve_version(publisher, ext_type, props["typeHandlerVersion"], bool(auto_upgrade),
                                   existing.reported_version if existing else None)
        settings = props.get("settings") or {}
        tag = props.get("forceUpdateTag")
        tag = None if tag is None else str(tag)
        fingerprint = protected_fingerprint(vm, props.get("protectedSettings"))
        if existing is not None and existing.pending_op:
            pending = store.operations[existing.pending_op]
            if (pending.kind != "delete" and settings == existing.settings and tag == existing.force_update_tag
                    and fingerprint == existing.protected_fingerprint
                    and props["typeHandlerVersion"] == existing.type_handler_version):
                return 200, existing, pending     # a retried identical PUT joins the running operation
            raise _conflict(store.operation_url(pending))
        changed = (existing is None or settings != existing.settings or fingerprint != existing.protected_fingerprint
                   or tag != existing.force_update_tag
                   or _major_minor(props["typeHandlerVersion"]) != _major_minor(existing.type_handler_version))

        ext = existing or Extension(name=name, publisher=publisher, type=ext_type,
                                    type_handler_version=props["typeHandlerVersion"], reported_version=reported,
                                    location=body.get("location") or vm.location)
        ext.publisher, ext.type = (existing.publisher, existing.type) if existing else (publisher, ext_type)
        ext.type_handler_version = props["typeHandlerVersion"]
        ext.auto_upgrade_minor_version = auto_upgrade
        ext.settings, ext.force_update_tag, ext.protected_fingerprint = settings, tag, fingerprint
        ext.provisioning_state = "Creating" if existing is None else "Updating"

        now = clock.now()
        op = Operation(id=str(uuid.uuid4()), kind="run" if changed else "noop", vm=vm, extension_name=ext.name,
                       start_mono=now, done_at=now + clock.scaled(config.noop_duration_s),
                       never_finish=never_finish, settings=settings, force_update_tag=tag)
        if changed:
            op.run = prepare_run(vm.guest, settings, props.get("protectedSettings"))
            op.run_version = reported
            self._schedule_run(vm, op, now)
        ext.pending_op = op.id
        vm.extensions[name.lower()] = ext
        store.add_operation(op)
        return (201 if existing is None else 200), ext, op

    def _schedule_run(self, vm: VM, op: Operation, now: float) -> None:
        """A run starts once the agent reports; an agent that never does fails after agent_timeout_s."""
        clock, config = self.store.clock, self.store.config
        timeout = clock.scaled(vm.agent_timeout_s if vm.agent_timeout_s is not None else config.agent_timeout_s)
        if vm.agent == "not_ready":
            ready_at = float("inf")
        elif vm.agent == "starting" and vm.agent_ready_at is not None:
            ready_at = max(now, vm.agent_ready_at)
        else:
            ready_at = now
        if ready_at - now > timeout:
            op.agent_failure = True
            op.done_at = now + timeout
        else:
            op.done_at = ready_at + clock.scaled(vm.sample_duration(config.default_extension_duration_s))

    # --- DELETE ---------------------------------------------------------------------------
    def delete(self, vm: VM, name: str, *, never_finish: bool = False) -> Operation | None:
        store, clock, config = self.store, self.store.clock, self.store.config
        self.settle_vm(vm)
        ext = vm.extensions.get(name.lower())
        if ext is None:
            return None
        if vm.power_state != "running":
            raise not_running_error()
        if ext.pending_op:
            raise _conflict(store.operation_url(store.operations[ext.pending_op]))
        now = clock.now()
        op = Operation(id=str(uuid.uuid4()), kind="delete", vm=vm, extension_name=ext.name, start_mono=now,
                       done_at=now + clock.scaled(config.delete_duration_s), never_finish=never_finish)
        ext.provisioning_state = "Deleting"
        ext.pending_op = op.id
        store.add_operation(op)
        return op

    # --- lazy completion ------------------------------------------------------------------
    def settle_vm(self, vm: VM) -> None:
        for ext in list(vm.extensions.values()):
            if ext.pending_op:
                op = self.store.operations.get(ext.pending_op)
                if op is None:
                    ext.pending_op = None
                else:
                    self.settle_operation(op)
        if vm.agent == "starting" and vm.agent_ready_at is not None and self.store.clock.now() >= vm.agent_ready_at:
            vm.agent = "ready"

    def settle_operation(self, op: Operation) -> None:
        if op.status != "InProgress" or op.never_finish or self.store.clock.now() < op.done_at:
            return
        vm = op.vm
        ext = vm.extensions.get(op.extension_name.lower())
        op.end_mono = op.done_at
        if ext is None:  # removed meanwhile (reset / control API)
            op.status = "Succeeded"
            return
        ext.pending_op = None
        if op.kind == "delete":
            vm.extensions.pop(ext.name.lower(), None)
            op.status = "Succeeded"
        elif op.kind == "noop":
            # nothing new for the guest: the operation and provisioningState say Succeeded, while the
            # instance view keeps whatever the guest reported last (the classic "said succeeded" trap)
            ext.provisioning_state = "Succeeded"
            op.status = "Succeeded"
        elif op.agent_failure:
            self._fail(op, ext, "VMAgentStatusCommunicationError",
                       f"VM '{vm.name}' has not reported status for VM agent or extensions. Please verify the VM "
                       "has a running VM agent, and can establish outbound connections to Azure storage.")
            self._record_run(vm, op, "agent_timeout", None)
        else:
            self._run_in_guest(vm, ext, op)

    def _run_in_guest(self, vm: VM, ext: Extension, op: Operation) -> None:
        when = iso(self.store.clock.wall(op.done_at))
        outcome = self._execute(vm, ext, op.run, when)
        ext.reported_version = op.run_version or ext.reported_version
        vm.run_count += 1
        self.store.counters["guest_runs"] += 1
        if outcome.ok:
            ext.provisioning_state = "Succeeded"
            ext.statuses = [{"code": "ProvisioningState/succeeded", "level": "Info",
                             "displayStatus": "Provisioning succeeded", "message": outcome.message, "time": when}]
            op.status = "Succeeded"
        else:
            ext.statuses = [{"code": "ProvisioningState/failed/0", "level": "Error",
                             "displayStatus": "Provisioning failed", "message": outcome.message, "time": when}]
            self._fail(op, ext, "VMExtensionProvisioningError",
                       f"VM has reported a failure when processing extension '{ext.name}' (publisher "
                       f"'{ext.publisher}' and type '{ext.type}'). Error message: '{outcome.message}'. More "
                       f"information on troubleshooting is available at {TROUBLESHOOT.get(vm.os_type)}")
        ext.substatuses = None
        self._record_run(vm, op, "succeeded" if outcome.ok else "failed", outcome.message)

    @staticmethod
    def _execute(vm: VM, ext: Extension, run: PreparedRun, when: str) -> RunOutcome:
        handler = ext.handler.lower()
        if handler == "microsoft.compute.vmaccessagent":
            if vm.os_type != "Windows":
                return RunOutcome(False, "VMAccessAgent is a Windows extension and cannot run on a Linux VM.")
            return execute_vmaccess(vm.guest, run, vm.admin_username, when)
        if handler == "microsoft.ostcextensions.vmaccessforlinux":
            if vm.os_type != "Linux":
                return RunOutcome(False, "VMAccessForLinux is a Linux extension and cannot run on a Windows VM.")
            return execute_linux_vmaccess(vm.guest, run, when)
        return RunOutcome(True, "Enable succeeded.")   # handlers we do not model: no guest effect

    def _fail(self, op: Operation, ext: Extension, code: str, message: str) -> None:
        ext.provisioning_state = "Failed"
        op.status = "Failed"
        op.error = {"code": code, "message": message}

    def _record_run(self, vm: VM, op: Operation, outcome: str, message: str | None) -> None:
        vm.run_history.append({
            "time": iso(self.store.clock.wall(op.done_at)), "operation_id": op.id, "extension": op.extension_name,
            "kind": op.run.kind if op.run else None, "username": op.run.username if op.run else None,
            "settings": op.settings, "force_update_tag": op.force_update_tag, "outcome": outcome,
            "message": message})
        del vm.run_history[:-50]   # bounded
