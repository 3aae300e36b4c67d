"""Booting a kernel under QEMU with a litmus program as its /init.

The initramfs is a newc cpio archive written here: /dev/console (so that /init's output
reaches the serial console) and the static program as /init.  QEMU boots the ELF vmlinux
through its PVH entry, 2 vCPUs, multi-threaded TCG (KVM is not used: on these machines
/dev/kvm is backed by kvm_pvm, which cannot run QEMU's guests), the host's transparent
huge page setting, the serial console on stdout; /init runs the test N times and reboots,
which `-no-reboot` turns into QEMU's exit.  A guest that does not finish in time is killed.
"""
from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from runner.errors import ToolNotFound

QEMU = "qemu-system-x86_64"


def _entry(name: str, mode: int, data: bytes = b"", ino: int = 1, rdev: tuple[int, int] = (0, 0),
           nlink: int = 1) -> bytes:
    fields = [ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
              len(name) + 1, 0]
    head = b"070701" + b"".join(f"{f:08X}".encode() for f in fields)
    out = head + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4) + data
    return out + b"\0" * (-len(out) % 4)


def initramfs(init: bytes) -> bytes:
    """A newc cpio archive: /dev, /dev/console (5, 1) and /init."""
    parts = [
        _entry("dev", stat.S_IFDIR | 0o755, ino=1, nlink=2),
        _entry("dev/console", stat.S_IFCHR | 0o600, ino=2, rdev=(5, 1)),
        _entry("init", stat.S_IFREG | 0o755, init, ino=3),
        _entry("TRAILER!!!", 0, ino=0),
    ]
    data = b"".join(parts)
    return data + b"\0" * (-len(data) % 512)


def host_thp() -> str | None:
    """The host's transparent_hugepage setting (the bracketed word), or None."""
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return None
    word = text[text.find("[") + 1:text.find("]")] if "[" in text else ""
    return word or None


def qemu() -> str:
    path = shutil.which(QEMU)
    if path is None:
        raise ToolNotFound(f"{QEMU} not found: apt-get install qemu-system-x86")
    return path


def boot(vmlinux: Path, init: Path, work: Path, *, runs: int, run_timeout: int,
         timeout: float, memory_mib: int, on_line: Callable[[str], None] | None = None,
         ) -> tuple[list[str], str | None]:
    """Boot `vmlinux` with `init` as /init; return (the console's lines, a problem or None)."""
    rd = work / "initramfs.cpio"
    rd.write_bytes(initramfs(init.read_bytes()))
    # no_timer_check: check_timer() (arch/x86/kernel/apic/io_apic.c) counts timer ticks over
    # a TSC-timed delay and panics "IO-APIC + timer doesn't work!" when fewer than 5 came;
    # under TCG on a loaded host the TSC follows the host clock while QEMU's thread that
    # raises the timer interrupt may not run in that window: the likely cause of the 6.12
    # guest that panicked about 3 s into a CI boot (not reproduced in 18 boots here, 0.33 s
    # of guest time is spent before that check).  The kernel option skips the check.
    append = ["console=ttyS0", "panic=-1", "quiet", "no_timer_check", "rdinit=/init",
              f"litmus_runs={runs}", f"litmus_timeout={run_timeout}"]
    thp = host_thp()
    if thp:
        append.append(f"transparent_hugepage={thp}")
    argv = [qemu(), "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
            "-smp", "2", "-m", str(memory_mib), "-kernel", str(vmlinux), "-initrd", str(rd),
            "-append", " ".join(append), "-display", "none", "-serial", "stdio",
            "-monitor", "none", "-no-reboot", "-nodefaults"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=work)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    problem = None
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""
    try:
        while True:
            chunk = proc.stdout.read()
            if chunk:
                buf += chunk
                *done, buf = buf.split(b"\n")
                for raw in done:
                    line = raw.decode(errors="replace").rstrip("\r")
                    lines.append(line)
                    if on_line:
                        on_line(line)
            elif proc.poll() is not None:
                break
            elif time.monotonic() > deadline:
                problem = f"the guest did not finish within {timeout:.0f} s: killed"
                break
            else:
                time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    if buf:
        lines.append(buf.decode(errors="replace"))
    if problem is None and not any(line.startswith("litmus-done") for line in lines):
        # the line that says why: the program's own error, else the kernel's panic reason
        why = [line for line in lines if "litmus-error" in line or "Kernel panic" in line
               or "Attempted to kill init" in line]
        tail = why[0] if why else next((line for line in reversed(lines) if line.strip()),
                                       "(no output)")
        problem = f"the guest stopped before the test finished (exit {proc.returncode}): {tail}"
    return lines, problem
