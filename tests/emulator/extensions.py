"""Extension PUT/DELETE as Compute does them: validation, rerun semantics and the long-running
operation each one starts. Operations complete lazily (see ``completion.py``): nothing runs on a timer."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

from .agent import ready_instant
from .completion import Completion
from .errors import ArmError, invalid_parameter, invalid_request_content
from .guest import prepare_run
from .handlers import major_minor, resolve_version
from .model import VM, Extension, Operation
from .oplinks import dotnet_ticks

EXTENSIONS_DISALLOWED = ("This operation cannot be performed when extension operations are disallowed. To allow, "
                         "please ensure VM Agent is installed on the VM and the osProfile.allowExtensionOperations "
                         "property is true.")
NOT_RUNNING = "Cannot modify extensions in the VM when the VM is not running."


def protected_fingerprint(vm: VM, protected: dict | None) -> str:
    """Keyed hash of protectedSettings: lets a rerun be detected without keeping the values."""
    canonical = json.dumps(protected or {}, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(vm.fingerprint_key, canonical, hashlib.sha256).hexdigest()


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
    """PUT/DELETE and their operations, bound to the store's clock, config and operation table."""

    def __init__(self, store):
        self.store = store
        self.completion = Completion(store)

    def settle_vm(self, vm: VM) -> None:
        self.completion.settle_vm(vm)

    def settle_operation(self, op: Operation) -> None:
        self.completion.settle_operation(op)

    # --- errors whose extras depend on lenient mode --------------------------------------
    def _lenient_code(self, code: str) -> str | None:
        return code if self.store.config.lenient else None

    def not_running_error(self) -> ArmError:
        details = None if self.store.config.lenient else [
            {"code": "CannotModifyExtensionsWhenVMNotRunning", "message": NOT_RUNNING}]
        return ArmError(409, "OperationNotAllowed", NOT_RUNNING, details=details,
                        internal_code=self._lenient_code("CannotModifyExtensionsWhenVMNotRunning"))

    def _conflict(self, pending: Operation) -> ArmError:
        return ArmError(409, "Conflict", "Another operation on this or dependent resource is in progress. To "
                                         f"retrieve status of the operation use uri: {self.store.operation_url(pending)}",
                        internal_code=self._lenient_code("OperationConflict"))

    # --- PUT ------------------------------------------------------------------------------
    def _check_put_allowed(self, vm: VM, name: str, publisher: str, ext_type: str) -> None:
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
                           internal_code=self._lenient_code("ExtensionOperationsDisallowed"))
        if vm.power_state != "running":
            raise self.not_running_error()

    def put(self, vm: VM, name: str, body: dict, *, never_finish: bool = False) -> tuple[int, Extension, Operation]:
        store = self.store
        self.settle_vm(vm)
        props = body["properties"]
        publisher, ext_type, requested = props["publisher"], props["type"], props["typeHandlerVersion"]
        self._check_put_allowed(vm, name, publisher, ext_type)
        existing = vm.extensions.get(name.lower())
        auto_upgrade = props.get("autoUpgradeMinorVersion")
        build = resolve_version(publisher, ext_type, requested, bool(auto_upgrade),
                                existing.reported_version if existing else None, lenient=store.config.lenient)
        settings = props.get("settings") or {}      # absent and {} are both "no settings sent"
        tag = None if props.get("forceUpdateTag") is None else str(props["forceUpdateTag"])
        fingerprint = protected_fingerprint(vm, props.get("protectedSettings"))
        if existing is not None and existing.pending_op:
            pending = store.operations[existing.pending_op]
            if (pending.kind != "delete" and settings == existing.settings and tag == existing.force_update_tag
                    and fingerprint == existing.protected_fingerprint
                    and requested == existing.type_handler_version):
                return 200, existing, pending     # a retried identical PUT joins the running operation
            raise self._conflict(pending)
        changed = (existing is None or settings != existing.settings or fingerprint != existing.protected_fingerprint
                   or tag != existing.force_update_tag
                   or major_minor(requested) != major_minor(existing.type_handler_version))

        ext = existing or Extension(name=name, publisher=publisher, type=ext_type, type_handler_version=requested,
                                    reported_version=build, location=body.get("location") or vm.location)
        ext.type_handler_version = requested
        ext.auto_upgrade_minor_version = auto_upgrade
        ext.settings, ext.force_update_tag, ext.protected_fingerprint = settings, tag, fingerprint
        ext.provisioning_state = "Creating" if existing is None else "Updating"
        op = self._new_operation("run" if changed else "noop", vm, ext.name, store.config.noop_duration_s,
                                 never_finish, settings=settings, force_update_tag=tag)
        if changed:
            op.run = prepare_run(vm.guest, settings, props.get("protectedSettings"))
            op.run_version = build
            self._schedule_run(vm, op)
        ext.pending_op = op.id
        vm.extensions[name.lower()] = ext
        store.add_operation(op)
        return (201 if existing is None else 200), ext, op

    def _new_operation(self, kind: str, vm: VM, ext_name: str, duration_s: float, never_finish: bool,
                       **extra) -> Operation:
        clock = self.store.clock
        now = clock.now()
        return Operation(id=str(uuid.uuid4()), kind=kind, vm=vm, extension_name=ext_name, start_mono=now,
                         done_at=now + clock.scaled(duration_s), never_finish=never_finish,
                         ticks=dotnet_ticks(time.time()), **extra)

    def _schedule_run(self, vm: VM, op: Operation) -> None:
        """A run starts once the agent reports; an agent that never does fails after agent_timeout_s."""
        clock, config = self.store.clock, self.store.config
        now = op.start_mono
        timeout = clock.scaled(vm.agent_timeout_s if vm.agent_timeout_s is not None else config.agent_timeout_s)
        ready_at = ready_instant(vm, now)
        if ready_at - now > timeout:
            op.agent_failure = True
            op.done_at = now + timeout
        else:
            op.run_start = ready_at
            op.done_at = ready_at + clock.scaled(vm.sample_duration(config.default_extension_duration_s))

    # --- DELETE ---------------------------------------------------------------------------
    def delete(self, vm: VM, name: str, *, never_finish: bool = False) -> Operation | None:
        store = self.store
        self.settle_vm(vm)
        ext = vm.extensions.get(name.lower())
        if ext is None:
            return None
        if vm.power_state != "running":
            raise self.not_running_error()
        if ext.pending_op:
            raise self._conflict(store.operations[ext.pending_op])
        op = self._new_operation("delete", vm, ext.name, store.config.delete_duration_s, never_finish)
        ext.provisioning_state = "Deleting"
        ext.pending_op = op.id
        store.add_operation(op)
        return op
