# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a run has got, for people watching a long one: counts by stage and outcome, what it
waits for, and a rough ETA."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from statistics import median


class Progress:
    """Calls ``report(snapshot)`` at most every ``interval`` seconds (and once at the end)."""

    def __init__(self, report, interval, clock, pacing):
        self.report = report
        self.interval = interval
        self.clock = clock
        self.pacing = pacing
        self.started = clock()
        self._last = self.started

    def tick(self, items, final=False):
        if self.report is None:
            return
        now = self.clock()
        if not final and now - self._last < self.interval:
            return
        self._last = now
        self.report(snapshot(items, now - self.started, self.pacing.waiting_for_writes(), final, now))


def snapshot(items, elapsed_s, waiting_for_writes, final=False, now=None):
    counts = {"total": len(items), "planning": 0, "submitted": 0, "running": 0, "changed": 0, "ok": 0,
              "skipped": 0, "failed": 0, "waiting_for_agents": 0, "waiting_for_write_budget": waiting_for_writes}
    durations = []
    running_for = []  # how long each run still followed has been going
    for item in items:
        if item.done:
            counts[item.verdict.outcome] += 1
            if item.written and item.submitted_at is not None and item.finished_at is not None:
                durations.append(item.finished_at - item.submitted_at)
        elif item.waiting_for_agent:
            counts["waiting_for_agents"] += 1
        elif item.following:
            counts["running"] += 1
            if now is not None and item.written and item.submitted_at is not None:
                running_for.append(now - item.submitted_at)
            if item.starting_agent:
                counts["waiting_for_agents"] += 1
        else:
            counts["planning"] += 1
        if item.written:
            counts["submitted"] += 1
    counts["elapsed_s"] = round(elapsed_s, 1)
    counts["eta_s"] = None if final else _eta(counts, durations, elapsed_s, running_for)
    counts["final"] = final
    return counts


def _eta(counts, durations, elapsed_s, running_for=()):
    """Writes still to send at the rate seen so far, plus a typical run (once all are sent: what the
    youngest run still needs of a typical one); None until a run has finished (no typical run yet)."""
    if counts["submitted"] == 0 or elapsed_s <= 0 or not durations:
        return None
    rate = counts["submitted"] / elapsed_s
    typical = median(durations) if durations else 0.0
    if counts["planning"] == 0 and running_for:
        return round(max(0.0, typical - min(running_for)), 0)
    return round(counts["planning"] / rate + typical, 0)


def progress_line(snap):
    """``12/1000 done (changed 10, ok 2) · submitted 150 · running 138 · ...`` for the terminal."""
    done = snap["changed"] + snap["ok"] + snap["skipped"] + snap["failed"]
    outcomes = ", ".join("%s %d" % (key, snap[key]) for key in ("changed", "ok", "skipped", "failed") if snap[key])
    parts = ["%d/%d done%s" % (done, snap["total"], " (%s)" % outcomes if outcomes else ""),
             "submitted %d" % snap["submitted"], "running %d" % snap["running"]]
    if snap["planning"]:
        parts.append("to check %d" % snap["planning"])
    if snap["waiting_for_write_budget"]:
        parts.append("waiting for write budget %d" % snap["waiting_for_write_budget"])
    if snap["waiting_for_agents"]:
        parts.append("waiting for agents %d" % snap["waiting_for_agents"])
    parts.append("%ds elapsed" % snap["elapsed_s"])
    if snap["eta_s"] is not None:
        parts.append("ETA ~%ds" % snap["eta_s"])
    return " | ".join(parts)
