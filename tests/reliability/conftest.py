"""Reliability suite: the fault matrix, nothing lost, secrets, bad input, security defaults.

The ``run_tasks`` / ``run_playbook`` fixtures are the integration suite's (ansible-playbook
subprocesses against the session emulator). Quick variant by default; ``--soak`` or
``RELIABILITY_SOAK=1`` for larger fleets and more generated cases.
"""

from tests.integration.conftest import run_playbook, run_tasks  # noqa: F401  # pylint: disable=unused-import  # re-exported fixtures
