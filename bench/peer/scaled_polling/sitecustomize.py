"""Benchmark only: azure-core's default LRO polling interval on the emulator's scaled clock.

compare_peer.py puts this directory on PYTHONPATH for the peer (azure.azcollection) and sets
BENCH_POLLING_SCALE to the emulator's time scale. Strict Azure sends no Retry-After on extension
operations, so azure-core polls at its own interval: 30 s, unless the caller passes
``polling_interval``, which azure_rm_virtualmachineextension does not. On a clock scaled by 0.02 an
unscaled 30 s would be 1,500 simulated seconds, so, like every other duration of the benchmark, the
interval is scaled: azure-core's default (or whatever the caller passed) x BENCH_POLLING_SCALE.
Our module gets the same treatment through its own option (poll_interval = 10 s x time scale).

Nothing is imported at start-up: the patch is applied when azure.core.polling.base_polling is
first imported (a meta path finder wraps its loader), so processes that never poll pay nothing.
"""

import os
import sys

_SCALE = os.environ.get("BENCH_POLLING_SCALE")
_TARGET = "azure.core.polling.base_polling"


def _patch(module):
    scale = float(_SCALE)
    cls = module._SansIOLROBasePolling  # pylint: disable=protected-access
    original = cls.__init__

    def __init__(self, timeout=30, *args, **kwargs):
        original(self, timeout * scale, *args, **kwargs)

    cls.__init__ = __init__


class _Finder:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(_Finder)
        try:
            import importlib.util
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, _Finder)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def patched_exec(module):
            exec_module(module)
            _patch(module)

        loader.exec_module = patched_exec
        return spec


if _SCALE:
    sys.meta_path.insert(0, _Finder)
