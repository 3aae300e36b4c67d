"""Litmus tests of munmap (issue 17): one file per test (specs/litmus/), decided by TLC on the
model of a protocol, and run as a C program on the host kernel or a Debian kernel under QEMU.

Entry points: load_tests (parse), decide / check (TLC's verdicts), run_host / run_guest
(observations next to the kernel's protocol's verdict), protocol_for (specs/kernels.toml),
new_test (a test started from a model file), reproducer_for (report attachments)."""
from __future__ import annotations

from runner.litmus.kernels import protocol_for
from runner.litmus.model import decide
from runner.litmus.new import new_test
from runner.litmus.parse import load_tests
from runner.litmus.reproducers import reproducer_for
from runner.litmus.run import check, run_guest, run_host

__all__ = ["check", "decide", "load_tests", "new_test", "protocol_for", "reproducer_for",
           "run_guest", "run_host"]
