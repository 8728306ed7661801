"""ParentWatch (``plugin_utils/parent_watch.py``): a fleet action's worker ends once ansible-playbook has gone,
as ansible-core 2.19 ends it and 2.16-2.18 do not. In-process with a fake parent id, then with real processes."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.parent_watch import ParentWatch

pytestmark = pytest.mark.timeout(60)


class Parent:
    def __init__(self, pid):
        self.pid = pid

    def __call__(self):
        return self.pid


def test_nothing_happens_while_the_parent_lives():
    called = threading.Event()
    with ParentWatch(interval=0.01, on_orphaned=called.set, parent_pid=Parent(100)):
        time.sleep(0.2)
    assert not called.is_set()


def test_a_new_parent_ends_the_run_once():
    calls = []
    done = threading.Event()
    parent = Parent(100)

    def orphaned():
        calls.append(time.monotonic())
        done.set()

    with ParentWatch(interval=0.01, on_orphaned=orphaned, parent_pid=parent):
        time.sleep(0.05)
        assert not calls
        parent.pid = 1  # reparented: the process that started us has ended
        assert done.wait(5)
        time.sleep(0.1)
    assert len(calls) == 1


def test_leaving_the_watch_stops_it():
    parent = Parent(100)
    called = threading.Event()
    with ParentWatch(interval=0.01, on_orphaned=called.set, parent_pid=parent) as watch:
        pass
    parent.pid = 1
    time.sleep(0.1)
    assert not called.is_set() and not watch._thread.is_alive()


# A parent process that forks a worker (as ansible-core forks its workers) and prints the worker's pid once
# the worker watches it. The test then kills the parent alone.
FORKING_PARENT = textwrap.dedent("""
    import os, sys, time
    from ansible_collections.azure_ops.vm_access.plugins.plugin_utils.parent_watch import ParentWatch
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        with ParentWatch(interval=0.05):
            os.write(write_end, b"watching")
            time.sleep(60)
        os._exit(3)  # the watch must end this process long before
    os.close(write_end)
    os.read(read_end, 8)
    print(pid, flush=True)
    time.sleep(60)
""")


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_forked_worker_ends_with_sigterm_when_its_parent_is_killed():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    parent = subprocess.Popen([sys.executable, "-c", FORKING_PARENT], stdout=subprocess.PIPE, text=True, env=env,
                              start_new_session=True)
    worker = None
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.kill()  # the parent alone, as `kill <ansible-playbook pid>` does
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(worker), "the worker outlived its parent"
    finally:
        if worker and _alive(worker):
            os.kill(worker, 9)
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()
