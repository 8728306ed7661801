"""Lazy completion of extension operations.

Nothing runs on a timer: whichever read first sees an operation past its scheduled end (an operation
poll, a VM or extension read, a list page, the control API) completes it, and everything it records
(endTime, status times, run history, password-set times in the guest) is the scheduled end, never
the time of that read. Operations finish on time whether or not anyone polls them.
"""

from __future__ import annotations

from .agent import settle_agent
from .clock import iso
from .guest import PreparedRun, RunOutcome, execute_linux_vmaccess, execute_vmaccess
from .model import VM, Extension, Operation

TROUBLESHOOT = {"Windows": "https://aka.ms/vmextensionwindowstroubleshoot",
                "Linux": "https://aka.ms/vmextensionlinuxtroubleshoot"}


class Completion:
    def __init__(self, store):
        self.store = store

    def settle_vm(self, vm: VM) -> None:
        pending = [e.pending_op for e in vm.extensions.values() if e.pending_op]
        if pending:       # most VMs have nothing pending: this is on every read's hot path
            self._settle_pending(vm, pending)
        if vm.agent == "starting":
            settle_agent(vm, self.store.clock.now())

    def _settle_pending(self, vm: VM, pending: list[str]) -> None:
        operations = self.store.operations
        for op in sorted((operations[i] for i in pending if i in operations), key=lambda o: o.done_at):
            self.settle_operation(op)
        for ext in vm.extensions.values():   # an operation dropped from the bounded table
            if ext.pending_op and ext.pending_op not in operations:
                ext.pending_op = None

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
        elif op.kind == "runcommand":
            from .runcommand import complete_run_command   # here: runcommand imports extensions imports this
            complete_run_command(self.store, vm, ext, op)
        else:
            self._run_in_guest(vm, ext, op)

    def _run_in_guest(self, vm: VM, ext: Extension, op: Operation) -> None:
        when = iso(self.store.clock.wall(op.done_at))
        outcome = _execute(vm, ext, op.run, when)
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
    def _fail(op: Operation, ext: Extension, code: str, message: str) -> None:
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
