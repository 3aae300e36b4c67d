#!/usr/bin/env python3
"""Replay the hostile inputs of the reliability issue against a checkout; print a table.

Each case runs `python -m runner.cli ...` with the checkout as the working directory (so its
own `runner` package is the one imported), a private TMPDIR (whose path is in every JVM's
command line: JVMs left behind are found by it), and reports in a few words what happened:
the exit code and the last line on stderr, "TRACEBACK <exception>" for a traceback, and
what was left behind (JVMs, temporary files).  Not a test: it prints, for a person to read;
the tests (tests/test_reliability*.py, tests/test_fuzz*.py) assert the behaviour.

    .venv/bin/python bench/hostile_inputs.py                  # this checkout
    .venv/bin/python bench/hostile_inputs.py --tree /tmp/old  # another (e.g. `git worktree
                                                              #   add --detach /tmp/old main`)
    .venv/bin/python bench/hostile_inputs.py --only timeout   # cases whose name matches

Needs Java (a few cases run the real TLC, about 2 minutes in all); the read-only and
full-disk cases need root (chattr +i, a 64 KB tmpfs) or are skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SLOW = (HERE / "tests" / "data" / "slow.toml").read_text()
ONE = """
[[model]]
name = "{name}"
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = {{ start = 1, end = 3 }}
vmas = [ {{ start = 1, end = 5, flags = [] }} ]
threads = [ {{ kind = "fault", access = "read", addr = 2 }} ]
threshold_pages = 2
"""
SWEEP = """
[sweep]
name = "s"
{sweep}
[sweep.axes]
{axes}
[sweep.derive]
{derive}
[base]
protocol = "vm_dead"
pages = 4
ptes_per_table = 2
munmap = {{ start = 1, end = 3 }}
vmas = [ {{ start = 1, end = 5, flags = [] }} ]
threads = [ {{ kind = "fault", access = "read", addr = 2 }} ]
threshold_pages = 2
"""


class Ctx:
    def __init__(self, tree: Path, work: Path) -> None:
        self.tree, self.work = tree, work
        self.private = work / "tmp"
        self.private.mkdir()
        self.n = 0

    def path(self, name: str) -> Path:
        self.n += 1
        return self.work / f"{self.n}-{name}"

    def file(self, name: str, text: str | bytes) -> Path:
        p = self.path(name)
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return p

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": str(self.private), "NO_COLOR": "1"}

    def start(self, *argv: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "runner.cli", *argv], cwd=self.tree,
                                env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, *argv: str, timeout: float = 120) -> tuple[int | None, str, str]:
        proc = self.start(*argv)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return None, out, err
        return proc.returncode, out, err

    def jvms(self) -> list[int]:
        pids = []
        for e in os.listdir("/proc"):
            if e.isdigit():
                try:
                    cmd = Path(f"/proc/{e}/cmdline").read_bytes()
                    if str(self.private).encode() in cmd and b"java" in cmd and \
                            "State:\tZ" not in Path(f"/proc/{e}/status").read_text():
                        pids.append(int(e))
                except OSError:
                    pass
        return pids

    def reap(self) -> None:
        for pid in self.jvms():
            os.kill(pid, signal.SIGKILL)
        for p in self.private.iterdir():
            shutil.rmtree(p, ignore_errors=True)


def said(rc: int | None, err: str, out: str = "") -> str:
    if rc is None:
        return "still running when stopped"
    m = re.findall(r"^(\w+(?:Error|Exception)\b.*)$", err, re.MULTILINE)
    if "Traceback" in err:
        return f"exit {rc}, TRACEBACK {m[-1][:60] if m else ''}"
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else (out.strip().splitlines() or [""])[-1]
    last = re.sub(r"/\S*/\d+-", "", last).replace("mmcheck: error: ", "error: ")
    last = re.sub(r"not a result of mmcheck check \((.*)\); run mmcheck check again",
                  r"\1", last)
    return f"exit {rc}: {last[:110]}"


# ---------------------------------------------------------------- the cases

Case = Callable[[Ctx], str]
CASES: dict[str, tuple[str, Case]] = {}


def case(name: str, what: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[name] = (what, fn)
        return fn
    return register


def models(c: Ctx) -> Path:
    return c.file("m.toml", ONE.format(name="vm_dead-fault"))


for value in ("nan", "inf", "1e300", "1e-9", "-1"):
    def _timeout(c: Ctx, value: str = value) -> str:
        rc, out, err = c.run("check", str(models(c)), "--no-cache", "--out",
                             str(c.path("out")), "--timeout", value)
        verdicts = "every verdict timeout" if "T/O" in out and " ok " not in out else ""
        return said(rc, err) + (f" ({verdicts})" if verdicts else "")
    case(f"check-timeout-{value}", f"mmcheck check --timeout {value}")(_timeout)


@case("tlc-timeout-inf", "mmcheck tlc --timeout inf")
def _tlc_inf(c: Ctx) -> str:
    return said(*c.run("tlc", str(HERE / "tests/corpus/specs/Ok.tla"), "--timeout", "inf")[::2])


@case("sweep-file-timeout-nan", "a sweep file's timeout = nan")
def _sweep_nan(c: Ctx) -> str:
    path = c.file("s.toml", SWEEP.format(sweep="timeout = nan", axes="pages = [4]", derive=""))
    rc, out, err = c.run("sweep", str(path), "--no-cache", "--no-plots", "--out",
                         str(c.path("o")))
    return said(rc, err, out)


@case("name-300-bytes", "a model name of 300 bytes")
def _long_name(c: Ctx) -> str:
    p = c.file("m.toml", ONE.format(name="a" * 300))
    rc, _, err = c.run("check", str(p), "--no-cache", "--out", str(c.path("out")))
    return said(rc, err)


@case("failed-model", "one model of two fails (300-byte name)")
def _one_fails(c: Ctx) -> str:
    p = c.file("m.toml", ONE.format(name="vm_dead-fault") + ONE.format(name="b" * 300))
    out = c.path("out")
    rc, _, err = c.run("check", str(p), "--no-cache", "--out", str(out))
    return said(rc, err) + f"; results.json {'written' if (out / 'results.json').exists() else 'MISSING'}"


@case("failed-model-dir", "one model of two fails (its directory is a file)")
def _one_fails_dir(c: Ctx) -> str:
    p = c.file("m.toml", ONE.format(name="vm_dead-fault") + ONE.format(name="other"))
    out = c.path("out")
    out.mkdir()
    (out / "other").write_text("x")
    rc, _, err = c.run("check", str(p), "--no-cache", "--out", str(out))
    return said(rc, err) + f"; results.json {'written' if (out / 'results.json').exists() else 'MISSING'}"


@case("model-not-utf8", "a model file that is not UTF-8")
def _m_utf8(c: Ctx) -> str:
    return said(*c.run("check", str(c.file("m.toml", b'[[model]]\nname = "caf\xe9"\n')))[::2])


@case("sweep-not-utf8", "a sweep file that is not UTF-8")
def _s_utf8(c: Ctx) -> str:
    return said(*c.run("sweep", str(c.file("s.toml", b'[sweep]\nname = "\xff"\n')))[::2])


@case("toml-deep", "a model file nested 2,000 deep")
def _deep(c: Ctx) -> str:
    p = c.file("m.toml", "x = " + "[" * 2000 + "]" * 2000 + "\n")
    return said(*c.run("check", str(p))[::2])


for label, expr in (("100000-terms", "+".join(["1"] * 100_000)),
                    ("2000-factors", "*".join(["pages"] * 2000)),
                    ("5000-minuses", "-" * 5000 + "1")):
    def _expr(c: Ctx, expr: str = expr) -> str:
        p = c.file("s.toml", SWEEP.format(sweep="", axes="pages = [4]",
                                          derive=f'"munmap.end" = "{expr}"'))
        return said(*c.run("sweep", str(p), "--out", str(c.path("o")))[::2])
    case(f"derive-{label}", f"a derive expression of {label.replace('-', ' ')}")(_expr)


@case("derive-in-axis", "axis munmap, derived munmap.end")
def _derive_axis(c: Ctx) -> str:
    p = c.file("s.toml", SWEEP.format(sweep="", axes="munmap = [{ start = 1, end = 3 }, "
                                      "{ start = 1, end = 4 }]", derive='"munmap.end" = "2"'))
    code = ("import sys\nfrom runner.sweep.spec import load_sweep\nfrom runner.errors import "
            "ConfigError\ntry:\n s = load_sweep(sys.argv[1])\nexcept ConfigError as e:\n "
            "print('refused:', str(e).split(': ', 1)[1][:70]); sys.exit(2)\n"
            "print(f'accepted: {len(s.points)} points, {len({p.model_hash for p in s.points})} "
            "distinct models')")
    proc = subprocess.run([sys.executable, "-c", code, str(p)], cwd=c.tree, capture_output=True,
                          text=True, check=False)
    return proc.stdout.strip() or said(proc.returncode, proc.stderr)


@case("grid-1.25e6", "a grid of 1,254,400 valid points")
def _grid(c: Ctx) -> str:
    axes = ('protocol = ["baseline", "sections", "madvise_user", "madvise_kernel", "vm_dead", '
            '"detach_posted", "detach_merged"]\n"threads[0].addr" = [1, 2, 3, 4]\n'
            '"threads[0].access" = ["read", "write"]\n"threads[0].count" = [1, 2, 3, 4, 5, 6, 7]\n'
            'rwsem = ["writer-preferring", "reader-preferring"]\n'
            'write_hold_bound = [0, 1, 2, 3, 4]\nthreshold_pages = [0, 1, 2, 3, 4]\n'
            'section_pages = [1, 2, 3, 4]\nptes_per_table = [1, 2, 3, 4]\n'
            '"vmas[0].flags" = [[], ["locked"], ["hugetlb"], ["pfnmap"]]')  # 1,254,400 points
    p = c.file("s.toml", SWEEP.format(sweep="", axes=axes, derive=""))
    started = time.monotonic()
    rc, _, err = c.run("sweep", str(p), "--out", str(c.path("o")), timeout=20)
    return said(rc, err) + f" (after {time.monotonic() - started:.1f} s)"


def example_run(c: Ctx) -> Path:
    run = c.path("run")
    shutil.copytree(HERE / "tests/data/runs/example", run)
    return run


@case("report-not-utf8", "mmcheck report: results.json not UTF-8")
def _r_utf8(c: Ctx) -> str:
    run = example_run(c)
    (run / "results.json").write_bytes(b'{"models": ["\xff"]}')
    return said(*c.run("report", str(run))[::2])


@case("report-missing-property", "mmcheck report: a property missing")
def _r_missing(c: Ctx) -> str:
    run = example_run(c)
    data = json.loads((run / "results.json").read_text())
    del data["models"][0]["properties"]["NoThirdState"]
    (run / "results.json").write_text(json.dumps(data))
    return said(*c.run("report", str(run))[::2])


@case("report-unknown-verdict", "mmcheck report: verdict \"fine\"")
def _r_verdict(c: Ctx) -> str:
    run = example_run(c)
    data = json.loads((run / "results.json").read_text())
    data["models"][0]["properties"]["TypeOK"]["verdict"] = "fine"
    (run / "results.json").write_text(json.dumps(data))
    return said(*c.run("report", str(run))[::2])


def warm_cache(c: Ctx) -> tuple[Path, Path]:
    m, cache = models(c), c.path("cache")
    c.run("check", str(m), "--cache-dir", str(cache), "--out", str(c.path("out")))
    return m, cache


@case("cache-meta-list", "cache metadata `[]`")
def _cache_list(c: Ctx) -> str:
    m, cache = warm_cache(c)
    for p in cache.glob("*/*.json"):  # before: metadata files
        p.write_text("[]")
    for p in cache.glob("*/*.entry"):  # after: the header line of each entry
        p.write_text("[]\n" + p.read_text().split("\n", 1)[1])
    rc, out, err = c.run("check", str(m), "--cache-dir", str(cache), "--out", str(c.path("o")))
    return said(rc, err, out)


@case("cache-truncated-translation", "a truncated cached translation, twice")
def _cache_trunc(c: Ctx) -> str:
    m, cache = warm_cache(c)
    for p in list(cache.glob("*/*.txt")) + [p for p in cache.glob("*/*.entry")
                                            if '"kind": "text"' in p.read_text()[:200]]:
        p.write_text(p.read_text()[: len(p.read_text()) * 2 // 3])
    first = c.run("check", str(m), "--cache-dir", str(cache), "--out", str(c.path("o")))
    second = c.run("check", str(m), "--cache-dir", str(cache), "--out", str(c.path("o")))
    return f"1st exit {first[0]}, 2nd exit {second[0]}" + (
        " (parse error both times)" if "parse_error" in first[2] + second[2] + first[1] else "")


@case("same-out-twice", "two runs with the same --out at once")
def _same_out(c: Ctx) -> str:
    p = c.file("m.toml", ONE.format(name="vm_dead-fault") + ONE.format(name="vm_dead-x"))
    out = c.path("out")
    a = c.start("check", str(p), "--no-cache", "--out", str(out), "--jobs", "1")
    time.sleep(0.5)
    b = c.start("check", str(p), "--no-cache", "--out", str(out), "--jobs", "1")
    _, ea = a.communicate(timeout=120)
    _, eb = b.communicate(timeout=120)
    return f"1st: {said(a.returncode, ea)[:40]}; 2nd: {said(b.returncode, eb)}"


def read_only(c: Ctx) -> Path | None:
    d = c.path("ro")
    d.mkdir()
    ok = subprocess.run(["chattr", "+i", str(d)], capture_output=True, check=False)
    return d if ok.returncode == 0 else None


def destination(c: Ctx, option: str, where: str) -> str:
    afile = c.file("afile", "x")
    ro = read_only(c)
    target = {"file": afile, "proc": Path("/proc/mmcheck"), "long": c.work / ("x" * 300),
              "ro": (ro / "out") if ro else None}[where]
    if target is None:
        return "skipped (no chattr +i)"
    if option == "--json":
        target = target / "r.json" if where != "file" else target
    argv = ["check", str(models(c)), "--out", str(c.path("out")), "--cache-dir",
            str(c.path("cache"))]
    if option == "--out":
        argv[3] = str(target)
    elif option == "--cache-dir":
        argv[5] = str(target)
    else:
        argv += ["--json", str(target)]
    rc, out, err = c.run(*argv)
    if ro:
        subprocess.run(["chattr", "-i", str(ro)], check=False)
    return said(rc, err, out)


PLACES = {"ro": "read-only", "long": "300-byte name", "file": "on a file", "proc": "under /proc"}
for option, where in (("--out", "ro"), ("--out", "long"), ("--out", "file"), ("--out", "proc"),
                      ("--cache-dir", "ro"), ("--cache-dir", "file"), ("--json", "ro")):
    case(f"{option[2:]}-{where}", f"{option} {PLACES[where]}")(
        lambda c, o=option, w=where: destination(c, o, w))


@case("full-disk", "--out on a full disk (64 KB tmpfs)")
def _full(c: Ctx) -> str:
    mnt = c.path("full")
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True, check=False).returncode != 0:
        return "skipped (cannot mount a tmpfs)"
    try:
        rc, out, err = c.run("check", str(models(c)), "--no-cache", "--out", str(mnt / "out"))
        left = [p.name for p in mnt.rglob(".*.tmp")]
        return said(rc, err, out) + (f"; {len(left)} .tmp left" if left else "; no .tmp left")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@case("tla-directory", "mmcheck tlc beside a directory Backup.tla")
def _tla_dir(c: Ctx) -> str:
    d = c.path("spec")
    d.mkdir()
    for f in ("Ok.tla", "Ok.cfg"):
        shutil.copy(HERE / "tests/corpus/specs" / f, d / f)
    (d / "Backup.tla").mkdir()
    rc, out, err = c.run("tlc", str(d / "Ok.tla"))
    return said(rc, err, out) if rc else f"exit 0: {out.splitlines()[0]}"


def slow_base() -> str:
    """The slow model's table without its name and description: a sweep's [base]."""
    body = SLOW.split("[[model]]\n", 1)[1]
    return "".join(line + "\n" for line in body.splitlines()
                   if not line.startswith(("name =", "description =")))


def signal_case(c: Ctx, command: str, sig: int) -> str:
    if command == "check":
        argv = ["check", str(c.file("slow.toml", SLOW)), "--no-cache", "--out", str(c.path("o"))]
    else:
        base = slow_base()
        sweep = ('[sweep]\nname = "slow"\ntimeout = 120\n[sweep.axes]\nprotocol = ["sections", '
                 '"vm_dead"]\n[base]\n' + base)
        argv = ["sweep", str(c.file("s.toml", sweep)), "--no-cache", "--no-plots", "--out",
                str(c.path("o"))]
    out = argv[-1]
    proc = c.start(*argv)
    deadline = time.monotonic() + 60
    while not c.jvms() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # the pipes stay open: something of it survived
        proc.wait()
        err = ""
    time.sleep(3.0)
    jvms, temps = len(c.jvms()), len(list(c.private.iterdir()))
    points = [pid for pid in others_mentioning(out) if pid not in c.jvms()]
    for pid in points:
        os.kill(pid, signal.SIGKILL)
    c.reap()
    noise = " + 'Exception ignored'" if "Exception ignored" in err else ""
    alive = f"{len(points)} point process(es), " if command == "sweep" else ""
    return (f"exit {proc.returncode}{noise}; 3 s later {alive}{jvms} JVM(s), {temps} temp "
            f"dir(s) left")


def others_mentioning(marker: str) -> list[int]:
    pids = []
    for e in os.listdir("/proc"):
        if e.isdigit() and int(e) != os.getpid():
            try:
                if marker.encode() in Path(f"/proc/{e}/cmdline").read_bytes() and \
                        "State:\tZ" not in Path(f"/proc/{e}/status").read_text():
                    pids.append(int(e))
            except OSError:
                pass
    return pids


for command in ("check", "sweep"):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        case(f"{sig.name.lower()}-{command}", f"{sig.name} of mmcheck {command}")(
            lambda c, cmd=command, s=sig: signal_case(c, cmd, s))


@case("sweep-all-timeout", "a sweep whose points all time out")
def _sweep_timeouts(c: Ctx) -> str:
    base = slow_base()
    p = c.file("s.toml", '[sweep]\nname = "slow"\ntimeout = 1\n[sweep.axes]\nprotocol = '
                         '["vm_dead"]\n[base]\n' + base)
    rc, out, _ = c.run("sweep", str(p), "--no-cache", "--no-plots", "--out", str(c.path("o")))
    return f"exit {rc}: {out.strip().splitlines()[-1][:90]}"


@case("reproduce-line", "certificate of a 64-byte model name: widest line")
def _reproduce(c: Ctx) -> str:
    run = example_run(c)
    data = json.loads((run / "results.json").read_text())
    m = data["models"][1]
    name = "m" * 64
    shutil.copytree(run / m["name"], run / name)
    m["name"] = m["model"]["name"] = name
    (run / "results.json").write_text(json.dumps(data))
    rc, out, err = c.run("report", str(run), "--format", "txt", "--model", name, "--stdout")
    if rc != 0 and not out:
        return said(rc, err)
    return f"{max(len(line) for line in out.splitlines())} columns"


@case("version", "mmcheck --version")
def _version(c: Ctx) -> str:
    rc, out, err = c.run("--version")
    return said(rc, err) if rc else "exit 0: " + " / ".join(out.splitlines()[:2])


@case("completion", "mmcheck completion bash")
def _completion(c: Ctx) -> str:
    rc, out, err = c.run("completion", "bash")
    return said(rc, err) if rc else f"exit 0: a {len(out.splitlines())}-line bash script"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", type=Path, default=HERE, help="the checkout to run")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    tree = args.tree.resolve()
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree,
                         capture_output=True, text=True, check=False).stdout.strip()
    print(f"# {tree} ({rev})")
    print("| case | input | outcome |\n|---|---|---|")
    for name, (what, fn) in CASES.items():
        if args.only not in name:
            continue
        with tempfile.TemporaryDirectory(prefix="mmcheck-hostile-") as work:
            c = Ctx(tree, Path(work))
            try:
                outcome = fn(c)
            except Exception as e:  # noqa: BLE001 - the harness reports, it does not judge
                outcome = f"harness: {type(e).__name__}: {e}"[:100]
            finally:
                c.reap()
                for p in Path(work).rglob("*"):
                    if p.is_dir():
                        subprocess.run(["chattr", "-i", str(p)], capture_output=True,
                                       check=False)
        print(f"| {name} | {what} | {outcome.replace('|', '/')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
