# -*- coding: utf-8 -*-
# Copyright: azure_ops.vm_access contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet action ends when its ansible-playbook has gone.

ansible-core 2.19 passes a SIGTERM it receives on to its workers. 2.16 to 2.18 do not: when only the
ansible-playbook process is signalled (``kill <pid>``, a CI job's timeout, a supervisor), the worker
running a fleet action outlives it and would go on writing to Azure for minutes, with nobody left to
report to. ``ParentWatch`` ends such a worker the way 2.19 does, with SIGTERM, once its parent is gone.
Whatever was already sent finishes in Azure; the next run with the same run tag sees it done."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import threading


def terminate_this_process():
    os.kill(os.getpid(), signal.SIGTERM)


class ParentWatch:
    """Context manager: while it is open, a daemon thread checks every ``interval`` seconds whether the
    process's parent has changed (it was reparented because the parent ended) and then calls
    ``on_orphaned`` once (by default: SIGTERM to this process)."""

    def __init__(self, interval=0.5, on_orphaned=terminate_this_process, parent_pid=os.getppid):
        self._parent_pid = parent_pid
        self._parent = parent_pid()
        self._interval = interval
        self._on_orphaned = on_orphaned
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vm-access-parent-watch", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopped.set()
        self._thread.join(self._interval * 2)
        return False

    def _watch(self):
        while not self._stopped.wait(self._interval):
            if self._parent_pid() != self._parent:
                self._on_orphaned()
                return
