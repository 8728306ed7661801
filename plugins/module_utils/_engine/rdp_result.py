# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One VM through an RDP diagnosis or repair: what was found before and after, what was done, and its
result (the same outcome / reason / line shape as a reset's, so the role's per-host task serves both)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from datetime import datetime, timezone

from ansible_collections.azure_ops.vm_access.plugins.module_utils._azure.documents import parse_time
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.plan import agent_condition
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_findings import (
    guest_findings,
    healthy,
    outside_findings,
)
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_network import verdict
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.rdp_repair import VMACCESS_RESET, needs_human
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.verdict import outcome_line, summarize
from ansible_collections.azure_ops.vm_access.plugins.module_utils._engine.views import extension_view, vm_view

OUTPUT_TAIL = 600  # what a repair's result keeps of a script's output


class RdpItem:
    def __init__(self, target):
        self.target = target
        self.key = target.host
        self.vm = None
        self.network = None
        self.guest = {"before": None, "after": None}
        self.problems = {"before": None, "after": None}  # a guest check that did not complete
        self.findings = []
        self.before = None
        self.after = None
        self.net = None
        self.actions, self.refused, self.repairs = [], [], []
        self.repaired = False
        self.repair_failed = None
        self.stopped = None  # (outcome, error) for a VM that was not diagnosed

    @property
    def done(self):
        return self.stopped is not None

    def fail(self, error):
        self.stopped = ("failed", error)

    def skip(self, error):
        self.stopped = ("skipped", error)

    def set_guest(self, when, document, problem=None):
        self.guest[when], self.problems[when] = document, problem

    def diagnose(self, default_port, source, after=False):
        when = "after" if after else "before"
        guest = self.guest[when] or (self.guest["before"] if after else None)
        port = int(((guest or {}).get("rdp") or {}).get("port") or default_port)
        self.net = verdict(self.network, port, source)
        found = outside_findings(self.vm, self.net, self.vm.extension)
        if self.network and self.network.get("problem") is not None:
            problem = self.network["problem"]
            found.append({"code": "network_unreadable", "severity": "warning", "reason": problem.reason,
                          "message": "The VM's network security groups could not be read: %s" % problem.message,
                          "fix": {"by": "human", "todo": "Grant Microsoft.Network/*/read on the VM's network."}})
        if self.guest[when] is not None:
            found += guest_findings(self.guest[when], default_port)
        if self.problems[when] is not None:
            found.append(self.problems[when])
        self.findings = found
        if after:
            self.after = found
        else:
            self.before = found

    def record(self, action, outcome):
        entry = {"action": action["action"], "findings": action["findings"], "parameters": action["parameters"]}
        if isinstance(outcome, Exception) or outcome is None:
            entry.update(outcome="failed", reason=getattr(outcome, "reason", "unexpected_error"),
                         message=getattr(outcome, "message", "no result"))
            self.repair_failed = entry
        else:
            stdout = " ".join(line for line in _streams(outcome) if line)
            entry.update(outcome="done", output=stdout[-OUTPUT_TAIL:])
            self.repaired = True
        self.repairs.append(entry)

    def wants_vmaccess_reset(self):
        return self.repair_failed is None and any(a["action"] == VMACCESS_RESET for a in self.actions)

    def record_vmaccess(self, result):
        action = next(a for a in self.actions if a["action"] == VMACCESS_RESET)
        entry = {"action": VMACCESS_RESET, "findings": action["findings"], "parameters": {}}
        if result["outcome"] == "changed":
            entry.update(outcome="done", output=result["msg"])
            self.repaired = True
        else:
            entry.update(outcome="failed", reason=result["reason"], message=result["msg"])
            self.repair_failed = entry
        self.repairs.append(entry)

    # -- the result -----------------------------------------------------------------------------------
    def result(self, options):
        out = {"host": self.key, "vm_id": self.target.ref.id if self.target.ref else None, "changed": self.repaired,
               "vm": _vm_with_agent(self.vm) if self.vm is not None else None, "network": self.net,
               "guest": self.guest["after"] or self.guest["before"],
               "vmaccess": extension_view(self.vm.extension) if self.vm is not None else None,
               "findings_before": self.before, "findings_after": self.after, "repairs": self.repairs,
               "refused": self.refused, "planned": [a["action"] for a in self.actions]}
        if self.stopped is not None:
            kind, error = self.stopped
            out.update(outcome=kind, reason=error.reason, msg=error.message, findings=[], found=[], healthy=None,
                       needs_human=[], fixed=[])
        else:
            current = self.after if self.after is not None else self.before
            out.update(findings=[f["code"] for f in current], found=[f["code"] for f in self.before if f["severity"] != "info"],
                       healthy=healthy(current),
                       needs_human=self._needs_human(current),
                       fixed=sorted(set(f["code"] for f in self.before) - set(f["code"] for f in current)))
            out.update(self._verdict(options, current))
        out["line"] = outcome_line(out["outcome"], out["reason"], out["msg"])
        return out

    def _needs_human(self, current):
        refused = dict((f["code"], f["refused"]) for f in self.refused)
        still = set(f["code"] for f in current)
        return ([{"code": f["code"], "todo": f["fix"]["todo"]} for f in needs_human(current)] +
                [{"code": code, "todo": why} for code, why in refused.items() if code in still])

    def _prediction(self, current, state, options):
        """Check mode: what the repairs would run, and - as the real run would fail - what they would leave."""
        planned = ", ".join(a["action"] for a in self.actions)
        covered = set(code for action in self.actions for code in action["findings"])
        moved = verdict(self.network, options.rdp_port, options.source_address)
        if "SetRDPPort" in planned and moved is not None and moved["allowed"]:
            covered.add("nsg_denies_rdp")  # the NSGs deny only the port Remote Desktop is moved away from
        refused = dict((f["code"], f["refused"]) for f in self.refused)
        left = ["%s: %s" % (f["code"], refused.get(f["code"]) or f["fix"].get("todo") or "not fixed by its repair")
                for f in current if f["severity"] == "error" and f["code"] not in covered]
        if left:
            would = "would run %s; " % planned if planned else ""
            return {"outcome": "failed", "reason": "rdp_needs_human", "changed": bool(self.actions),
                    "msg": "%sstill needs a person - %s" % (would, "; ".join(left))}
        return {"outcome": "changed" if self.actions else "ok", "reason": None, "changed": bool(self.actions),
                "msg": "would run %s for %s" % (planned, state) if planned else "nothing to repair: %s" % state}

    def _verdict(self, options, current):
        problems = ", ".join(f["code"] for f in current if f["severity"] != "info")
        notes = ", ".join(f["code"] for f in current if f["severity"] == "info")
        state = ("%s%s" % (problems, " (notes: %s)" % notes if notes else "")) if problems else \
            "healthy%s" % (" (notes: %s)" % notes if notes else "")
        if not options.repair:
            unseen = "" if self.guest["before"] is not None or self.problems["before"] is not None else \
                " - seen from outside only (guest_checks looks inside the guest)"
            return {"outcome": "ok", "reason": None, "msg": state + unseen}
        if options.check_mode:
            return self._prediction(current, state, options)
        if self.repair_failed is not None:
            failed = self.repair_failed
            return {"outcome": "failed", "reason": failed["reason"],
                    "msg": "repair %s failed: %s" % (failed["action"], failed["message"])}
        if not healthy(current):
            refused = dict((f["code"], f["refused"]) for f in self.refused)
            todo = "; ".join("%s: %s" % (f["code"], refused.get(f["code"]) or f["fix"].get("todo") or
                                         "not fixed by its repair") for f in current if f["severity"] == "error")
            done = ", ".join(r["action"] for r in self.repairs)
            return {"outcome": "failed", "reason": "rdp_needs_human",
                    "msg": ("still broken after %s - %s" % (done, todo)) if done else "needs a person - %s" % todo}
        if self.repaired:
            fixed = sorted(set(f["code"] for f in self.before) - set(f["code"] for f in current))
            restart = "; restart the VM for the NLA change to take effect" if any(
                r["action"] == "DisableNLA" for r in self.repairs) else ""
            return {"outcome": "changed", "reason": None, "msg": "fixed %s with %s; now %s%s" % (
                ", ".join(fixed) or "nothing", ", ".join(r["action"] for r in self.repairs), state, restart)}
        return {"outcome": "ok", "reason": None, "msg": "nothing to repair: %s" % state}


def _vm_with_agent(vm, now=None):
    """The VM as read, with the agent's condition and how old its last report is (a stale agent is down)."""
    view = vm_view(vm)
    reported = parse_time(vm.agent_time)
    now = now or datetime.now(timezone.utc)
    view.update(agent_condition=agent_condition(vm, now), agent_reported_at=vm.agent_time,
                agent_report_age_s=int((now - reported).total_seconds()) if reported is not None else None)
    return view


class StageProgress:
    """Stage lines for people watching a long run: at most one every ``interval`` seconds unless forced."""

    def __init__(self, report, interval, clock):
        self.report = report
        self.interval = interval
        self.clock = clock
        self._last = None

    def say(self, line, force=False):
        if self.report is None:
            return
        now = self.clock()
        if force or self._last is None or now - self._last >= self.interval:
            self._last = now
            self.report(line)


def final_line(results, elapsed_s):
    """``done: 1000 VMs - healthy 940, changed 12, needs a person 40, skipped 6, failed 2 (81s)``."""
    counts = {"healthy": 0, "with findings": 0, "changed": 0, "needs a person": 0, "skipped": 0, "failed": 0}
    for result in results:
        if result["outcome"] == "failed" and result["reason"] == "rdp_needs_human":
            counts["needs a person"] += 1
        elif result["outcome"] in ("failed", "skipped", "changed"):
            counts[result["outcome"]] += 1
        elif result.get("healthy"):
            counts["healthy"] += 1
        else:
            counts["with findings"] += 1
    shown = ", ".join("%s %d" % (key, value) for key, value in counts.items() if value)
    return "done: %d VMs - %s (%ds)" % (len(results), shown or "none", elapsed_s)


def _streams(result):
    for status in (result or {}).get("value") or []:
        message = status.get("message")
        if message:
            yield str(message).strip()


def rdp_summary(results):
    """The batch summary of a diagnosis or repair: counts by outcome and reason (as a reset's), how many
    VMs are healthy or need a person, and how many VMs have each finding (before any repair)."""
    summary = summarize(results)
    by_finding = {}
    for result in results:
        for code in result.get("found") or []:
            by_finding[code] = by_finding.get(code, 0) + 1
    summary["healthy"] = sum(1 for r in results if r.get("healthy"))
    summary["needs_human"] = sum(1 for r in results if r.get("needs_human"))
    summary["by_finding"] = by_finding
    summary["stats"] = dict(("vm_rdp_%s" % key, value) for key, value in summary["by_outcome"].items())
    summary["stats"].update(vm_rdp_healthy=summary["healthy"], vm_rdp_needs_human=summary["needs_human"])
    return summary
