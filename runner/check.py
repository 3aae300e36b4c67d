"""Check models: the one module that joins rendering (gen/) to running (TLC).

For each model: render the spec, translate the PlusCal (pcal.trans), run TLC
until every invariant, deadlock freedom and the liveness properties are
decided (see runner.judge); write everything under OUT/<model>/ and a
result.json.
Models run in parallel (one thread each, TLC in its own process group); every
TLC run and every translation is cached by a hash of what determines it.  A model
that fails (a translation error, a full disk, a bug) is an error row: every property
"error", with the reason; the other models are checked and reported as usual.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gen import first_violations
from gen.fairness import with_cheap_fairness
from gen.model import DEADLOCK, INVARIANTS, LIVENESS, PROPERTIES, Model
from gen.render import (
    TERMINATION_INVARIANT,
    Rendered,
    fairness_cfg,
    render,
    terminates_decidable,
    tlc_cfg,
)
from runner import judge, jvmpool
from runner.cache import Cache, digest
from runner.errormap import spec_message, translation_error
from runner.errors import MmcheckError, TranslationError
from runner.files import write_atomic
from runner.java import QUICK_JIT, Cancelled, JavaTools, cancel_all
from runner.limits import check_timeout
from runner.pcal import translate
from runner.rundir import locked
from runner.tlc import run_tlc
from runner.tlc_output import (
    Outcome,
    Progress,
    TlcResult,
    parse_tlc_output,
    reports_left,
    split_first_violations,
)

DEFAULT_TIMEOUT = 600.0  # seconds per TLC run
# TLC's fingerprint set takes -fpmem of the heap (0.25 by default: 455 MB of a pool JVM's
# 2 GB, allocated and cleared by every run).  A run expected to be short (C1 only) gets
# 3%, 55 MB there: 7 million fingerprints before TLC spills any to disk.  Cold matrix:
# 121.0 and 113.5 s CPU against 127.2 s (bench/bench_cold_matrix.py, the same verdicts).
SHORT_RUN_FPMEM = "0.03"
UNDECIDED = ("error", "timeout", "no-violation", "not-checked")
# WriteHoldReport's lines: the per-page work munmap did under down_write (in all, zapped, munlocked)
WRITE_HOLD = {key: re.compile(rf'<<"{key}", (\d+)>>')
              for key in ("max_write_hold", "max_write_zap", "max_write_munlock")}

# (kind, model, text): "start", "run" (a TLC run starts or ends), "done", "failed" (the
# model is an error row; text: why)
Event = Callable[[str, Model, str], None]
ProgressEvent = Callable[[Model, Progress], None]  # TLC's progress reports (code 2200)


@dataclass(frozen=True)
class Simulation:
    """Check by TLC's random simulation instead of exhaustively: `behaviours`
    random behaviours of at most `depth` steps.  A property without a violation
    is reported as "no-violation" (never "holds"); liveness is not checked."""

    behaviours: int
    depth: int

    def args(self) -> list[str]:
        return ["-simulate", f"num={self.behaviours}", "-depth", str(self.depth)]

    def to_dict(self) -> dict[str, Any]:
        return {"behaviours": self.behaviours, "depth": self.depth}


@dataclass(frozen=True)
class Options:
    """How to run TLC for a model."""

    timeout: float = 600.0  # per TLC run
    workers: int = 1
    heap_mb: int | None = None
    simulate: Simulation | None = None
    # C1-only JIT (runner.java.QUICK_JIT) for the runs expected to be short (see
    # _ModelCheck.jit): about half the CPU up to runs of ~10 s, slower beyond.
    quick_jit: bool = False
    # time.monotonic() by which the whole model must be done (e.g. a sweep's per-point
    # timeout): each TLC run gets at most what is left; None: only `timeout` per run.
    deadline: float | None = None
    # TLC's distributed mode (runner.distributed): a server and this many local workers for
    # the safety run; liveness and the write-hold report are left out (it cannot do them).
    distributed: int | None = None
    # Decide the liveness properties on the safety run, by termination (NoCycle and
    # ProgressE, docs/termination.md), where no thread repeats; False: liveness runs only.
    termination: bool = True
    # The properties to check (gen.properties.select); the others are judge.NOT_SELECTED,
    # and no TLC run checks them.  None: every property.
    properties: tuple[str, ...] | None = None


# The JIT of a run (measured on vm_dead, 6 pages, 4 read faults): C1 only takes half the
# CPU of the full JIT on a 21,101-state safety run (2.7 s vs 5.6-6.6 s; wall 2.5 vs 3.5),
# about as long on a 9 s liveness run (wall 9.1 vs 9.0, CPU 9.3 vs 12.7), and 45% longer
# on a 25 s one (36.9 vs 25.5 s).  So C1 unless the run is expected to last longer than
# LONG_RUN_SECONDS: the model's longest run so far, times, for a liveness run that drops
# the symmetry reduction its safety runs had, the reduction (count! per group of identical
# threads) and what liveness costs over a safety run of the same states (about 6x).
LONG_RUN_SECONDS = 10.0
LIVENESS_COST = 6.0
# Cheap fairness (gen/fairness.py) for a liveness run expected to explore more states than
# this (the safety run's distinct states times its symmetry reduction): its side conditions
# cost a run over the safety run's graph, which pays only on large liveness runs
# (bench/bench_fairness.py, per_vma starve: 2 repeating faults, 6,428 liveness states:
# 9.9 s today vs 10.5 s; 3 faults, 124,062 states: 65.9 s vs 38.6 s).
FAIRNESS_STATES = 30_000


def jit_flags(quick: bool, longest: float, reduction: int, unreduced: bool) -> list[str]:
    """The JIT flags of a model's next TLC run: C1 only (when `quick`) unless the run is
    expected to be long; `longest`: seconds of its longest run so far; `unreduced`: a
    liveness run over the state space that symmetry reduced `reduction` times."""
    if not quick:
        return []
    expected = longest * (reduction * LIVENESS_COST if unreduced else 1.0)
    return [] if expected > LONG_RUN_SECONDS else list(QUICK_JIT)


@dataclass(frozen=True)
class RunRecord:
    """One TLC run of a model: which config, what came out, whether from the cache."""

    name: str  # safety-1, safety-2, ..., liveness-1, ...
    cfg: str
    log: str
    outcome: str
    violated: str | None
    distinct_states: int | None
    states_generated: int | None
    depth: int | None
    fp_collision: float | None
    seconds: float | None
    cached: bool
    deadlock_checked: bool
    continued: bool = False  # TLC ran with -continue (gen/first_violations.py's one run)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ModelResult:
    model: Model
    directory: Path
    spec: str  # the translated spec's file name
    spec_sha256: str
    verdicts: dict[str, judge.Verdict]
    runs: tuple[RunRecord, ...]
    max_write_hold: int | None  # over the complete state space, when a safety run completed
    distinct_states: int | None  # of the last safety run (the most complete one)
    depth: int | None
    seconds: float
    tlc_version: str | None
    tlc_revision: str | None
    simulate: Simulation | None = None
    # the two kinds of per-page work in max_write_hold, each maximised on its own
    max_write_zap: int | None = None
    max_write_munlock: int | None = None

    @property
    def status(self) -> int:
        """0 every verdict as expected, 1 one differs, 2 something undecided."""
        if any(v.verdict in UNDECIDED for v in self.verdicts.values()):
            return 2
        return 0 if all(v.matches for v in self.verdicts.values()) else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.model.name,
            "protocol": self.model.protocol,
            "max_write_hold": self.max_write_hold,
            "max_write_zap": self.max_write_zap,
            "max_write_munlock": self.max_write_munlock,
            "distinct_states": self.distinct_states,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "tlc_version": self.tlc_version,
            "tlc_revision": self.tlc_revision,
            "simulate": self.simulate.to_dict() if self.simulate else None,
            "spec": self.spec,
            "spec_sha256": self.spec_sha256,
            "directory": str(self.directory),
            "model": self.model.to_dict(),
            "properties": {p: v.to_dict() for p, v in self.verdicts.items()},
            "runs": [r.to_dict() for r in self.runs],
        }


def _run_timeout(opts: Options) -> float:
    if opts.deadline is None:
        return opts.timeout
    return max(0.001, min(opts.timeout, opts.deadline - time.monotonic()))


TRANSLATED = ("\\* BEGIN TRANSLATION", "\\* END TRANSLATION")
_TRANSLATING: dict[str, threading.Lock] = {}
_TRANSLATING_GUARD = threading.Lock()


@contextlib.contextmanager
def _translating(key: str) -> Iterator[None]:
    with _TRANSLATING_GUARD:
        lock = _TRANSLATING.setdefault(key, threading.Lock())
    with lock:
        yield


def algorithm_text(text: str) -> str | None:
    """The PlusCal algorithm of a module, from its `--algorithm` line to `end algorithm`,
    without its whole-line comments (which describe e.g. the model's munmap range; the
    translator and its checksum ignore them)."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines)
                  if "--algorithm" in line or "--fair algorithm" in line), None)
    if start is None:
        return None
    end = next((i for i in range(start, len(lines))
                if lines[i].startswith("end algorithm")), None)
    if end is None:
        return None
    return "\n".join(line for line in lines[start:end + 1] if not line.lstrip().startswith("\\*"))


def translation_block(text: str) -> str | None:
    """The lines from `\\* BEGIN TRANSLATION` to `\\* END TRANSLATION` (both included)."""
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith(TRANSLATED[0])), None)
    if start is None:
        return None
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(TRANSLATED[1])),
               None)
    return None if end is None else "\n".join(lines[start:end + 1])


_CHECKSUM = re.compile(r"^(\\\* (?:BEGIN|END) TRANSLATION) +(?:PCal|TLA)-[0-9a-f]+$", re.MULTILINE)


def without_checksums(text: str) -> str:
    """The translated module without the checksums pcal.trans writes on its TRANSLATION
    lines.  With them, SANY translates the algorithm again in every TLC run to compare
    them (pcal.Validator): 0.105 s of CPU per short run of baseline-fault on a pool JVM,
    0.082 s without them (60 runs each way).  The translation is made here just before the
    runs and never edited, so the comparison has nothing to find."""
    return _CHECKSUM.sub(r"\1", text)


def splice_translation(rendered: str, block: str) -> str | None:
    """The rendered (untranslated) module with a translation block in place of its empty
    one; None when either is not as expected."""
    if not block.startswith(TRANSLATED[0]) or TRANSLATED[1] not in block.split("\n")[-1]:
        return None
    empty = f"{TRANSLATED[0]}\n{TRANSLATED[1]}\n"
    if rendered.count(empty) != 1:
        return None
    return rendered.replace(empty, block + "\n")
# Outcomes never cached: TLC could not finish, or the input itself was broken (a parse
# error: the translation the run was given is suspect, and is made again next time).
NOT_CACHED = (Outcome.TIMEOUT, Outcome.TOOL_ERROR, Outcome.OUT_OF_MEMORY, Outcome.PARSE_ERROR)


class _ModelCheck:
    """The runs of one model, in order."""

    def __init__(self, model: Model, directory: Path, tools: JavaTools, cache: Cache | None,
                 options: Options, on_event: Event | None, on_progress: ProgressEvent | None,
                 rendered: Rendered | None = None):
        self.model, self.dir, self.tools, self.cache = model, directory, tools, cache
        self.rendered = rendered
        self.spec_text = ""
        self.options, self.on_event, self.on_progress = options, on_event, on_progress
        self.runs: list[RunRecord] = []
        self.results: dict[str, TlcResult] = {}
        self.jvm_args = list(QUICK_JIT) if options.quick_jit else []
        self.translation_key: str | None = None  # set when the translation came from the cache
        self.longest = 0.0  # seconds of the model's longest TLC run so far
        self.reduction = 1  # the symmetry reduction of its safety runs (1: none)

    def event(self, kind: str, text: str) -> None:
        if self.on_event:
            self.on_event(kind, self.model, text)

    def translate(self, rendered: Rendered) -> str:
        """Write the PlusCal as rendered and its translation; return the translated text.
        The translation is a function of the algorithm alone (pcal.trans copies the rest
        of the module and writes only between the TRANSLATION marks, with checksums of
        the algorithm and of what it wrote), so it is cached by the algorithm's text and
        shared by every model with the same threads, whatever their layout."""
        write_atomic(self.dir / "rendered.pcal.tla", rendered.text)
        write_atomic(self.dir / "sources.json", rendered.sources_json())  # report's links
        spec = self.dir / rendered.filename
        algorithm = algorithm_text(rendered.text)
        key = digest("pcal.trans -nocfg, translation of", algorithm or rendered.text,
                     self.tools.identity)
        with _translating(key):  # models with the same algorithm translate it once
            cached = self.cache.get_text(key) if self.cache else None
            text = splice_translation(rendered.text, cached) if cached else None
            if text is not None:
                text = without_checksums(text)  # a cache of an earlier version has them
                self.translation_key = key
                write_atomic(spec, text)
                return text
            write_atomic(spec, rendered.text)
            try:
                translate(spec, tools=self.tools, jvm_args=self.jvm_args)
            except TranslationError as e:  # point at the template line, not the generated file
                raise translation_error(e, rendered) from None
            # Our own file in our own (locked) run directory, just replaced atomically by
            # pcal.translate; only a complete translation is cached.
            text = without_checksums(spec.read_text(encoding="utf-8"))
            write_atomic(spec, text)
            block = translation_block(text)
            if self.cache and block is not None and algorithm is not None:
                self.cache.put_text(key, block)
            return text

    def _progress(self) -> Callable[[Progress], None] | None:
        on_progress = self.on_progress
        if on_progress is None:
            return None
        return lambda p: on_progress(self.model, p)

    def jit(self, unreduced: bool) -> list[str]:
        return jit_flags(self.options.quick_jit, self.longest, self.reduction, unreduced)

    def tlc(self, name: str, spec: Path, spec_text: str, cfg_text: str, deadlock: bool,
            distributed: bool = False, unreduced: bool = False,
            extra_args: tuple[str, ...] = (), workers: int | None = None) -> TlcResult:
        cfg = self.dir / f"{name}.cfg"
        log = self.dir / f"{name}.log"
        write_atomic(cfg, cfg_text)
        opts = self.options
        jvm_args = self.jit(unreduced)
        extra = (opts.simulate.args() if opts.simulate else []) + list(extra_args)
        if set(QUICK_JIT) <= set(jvm_args):
            extra += ["-fpmem", SHORT_RUN_FPMEM]
        key = digest("tlc", spec_text, cfg_text, self.tools.identity, f"deadlock={deadlock}",
                     " ".join(extra), *(["distributed"] if distributed else []))
        hit = self.cache.get_run(key) if self.cache else None
        if hit is not None:
            output, exit_code = hit
            write_atomic(log, output)
            result = parse_tlc_output(output, exit_code)
            if distributed:
                from runner.distributed import judge as judge_distributed

                result = judge_distributed(result, cfg_text, deadlock)
            result = self._mapped(result)
        elif distributed:
            from runner.distributed import run_distributed

            self.event("run", f"{name} (distributed TLC, {opts.distributed} workers) ...")
            result = run_distributed(spec, cfg, tools=self.tools, workers=opts.distributed or 0,
                                     timeout=_run_timeout(opts), deadlock=deadlock,
                                     on_progress=self._progress(), log_path=log,
                                     heap_mb=opts.heap_mb, jvm_args=jvm_args,
                                     no_registers=True)
            # The run's own output (the server's, as run_java returned it), never the log
            # file read back: another run into the same --out may have written it.
            if self.cache and result.outcome not in NOT_CACHED:
                self.cache.put_run(key, result.output, result.exit_code)
            result = self._mapped(result)
        else:
            self.event("run", f"{name} ...")
            on_progress = self.on_progress
            progress = (lambda p: on_progress(self.model, p)) if on_progress else None
            result = run_tlc(spec, cfg, tools=self.tools, workers=workers or opts.workers,
                             timeout=_run_timeout(opts), deadlock=deadlock, extra_args=extra,
                             on_progress=progress, log_path=log, heap_mb=opts.heap_mb,
                             jvm_args=jvm_args)
            # The run's own output, as run_java returned it: never the log file read back.
            if self.cache and result.outcome not in NOT_CACHED:
                self.cache.put_run(key, result.output, result.exit_code)
            result = self._mapped(result)
        if (result.outcome is Outcome.PARSE_ERROR and self.cache
                and self.translation_key is not None):
            self.cache.discard(self.translation_key)  # a cached translation TLC cannot parse
        s = result.stats
        self.longest = max(self.longest, s.seconds or result.wall_seconds or 0.0)
        self.runs.append(RunRecord(
            name, cfg.name, log.name, result.outcome.value, result.violated, s.distinct_states,
            s.states_generated, s.depth, s.fp_collision, s.seconds, hit is not None, deadlock))
        self.results[name] = result
        self.event("run", f"{name}: {result.outcome.value}"
                   + (f" {result.violated}" if result.violated else "")
                   + (" (cached)" if hit is not None else ""))
        return result

    def _mapped(self, result: TlcResult) -> TlcResult:
        """A parse error names the template line behind the spec line SANY reports."""
        if result.outcome is not Outcome.PARSE_ERROR or self.rendered is None:
            return result
        return replace(result, message=spec_message(result.message, self.rendered,
                                                    self.spec_text))

    def check(self) -> ModelResult:
        started = time.monotonic()
        rendered = self.rendered = self.rendered or render(self.model)  # before any file
        self.dir.mkdir(parents=True, exist_ok=True)
        self.event("start", "")
        spec_text = self.spec_text = self.translate(rendered)
        spec = self.dir / rendered.filename
        # Where liveness needs liveness runs by design (a thread repeats), the module gets
        # cheap fairness's definitions (gen/fairness.py): a large liveness run uses them,
        # nothing else reads them.
        fair: bool | None = None  # FairSpec for the liveness runs: None not yet decided
        if not terminates_decidable(rendered):
            text = with_cheap_fairness(spec_text, [(g.const, g.proc) for g in rendered.groups])
            if text is not None:
                write_atomic(spec, text)
                spec_text = self.spec_text = text
            else:
                fair = False
        for g in rendered.groups if rendered.symmetric else ():
            self.reduction *= math.factorial(len(g.members))

        simulated = self.options.simulate is not None
        chosen = self.options.properties
        invariants = INVARIANTS if chosen is None else tuple(
            p for p in INVARIANTS if p in chosen)
        safety = judge.SafetyState(invariants, chosen is None or DEADLOCK in chosen)
        live = judge.start_liveness(skip=simulated or (
            chosen is not None and not any(p in chosen for p in LIVENESS)))
        # Liveness rides along in the runs that check the invariants (one run fewer per
        # model), unless symmetry can shrink those runs: symmetry is unsound for liveness.
        together = not rendered.symmetric and not simulated
        # ... or are decided by those runs, by termination (docs/termination.md), until a
        # run shows they cannot be (a cycle, a stuck state): then by liveness runs.
        terminate = (self.options.termination and not simulated
                     and self.options.distributed is None and terminates_decidable(rendered))
        # The first safety run decides every invariant at once (gen/first_violations.py)
        # where it checks no liveness property, on one TLC worker whatever --jobs leaves
        # (several would each report each invariant, into each other's traces; and the
        # same model checks the same runs, from the cache too, at any --jobs): a run more
        # only where TLC stops early (a deadlock, an error) or where its output cannot be
        # taken apart.
        one_run = (not simulated and self.options.distributed is None
                   and bool(safety.invariants) and (terminate or not together or live.done))
        if one_run:
            text = first_violations.with_first_violations(
                spec_text, [*safety.invariants, *([TERMINATION_INVARIANT] if terminate else [])],
                write_hold=True)
            if text is None:
                one_run = False
            else:
                write_atomic(spec, text)
                spec_text = self.spec_text = text
        write_hold: dict[str, int] = {}
        distinct = depth = None
        n = 0
        if self.options.distributed is not None and not simulated:
            # One distributed run for every invariant and deadlock freedom.  It cannot
            # check liveness nor name a violation: a violation is named (and traced) by the
            # normal runs below; liveness is not checked.
            why = "not checked: distributed TLC checks no temporal properties"
            live = judge.LivenessState((), {p: ("not-checked", None, None, why)
                                            for p in LIVENESS})
            n = 1
            cfg = tlc_cfg(rendered, INVARIANTS, report_write_hold=False)
            result = self.tlc("distributed-1", spec, spec_text, cfg, True, distributed=True)
            if result.stats.distinct_states is not None:
                distinct, depth = result.stats.distinct_states, result.stats.depth
            if not result.outcome.is_violation:
                safety = judge.next_safety(safety, result, "distributed-1")
        while not (safety.done and live.done):
            n += 1
            term = terminate and not safety.done
            # this run checks invariants (a one run's reports are folded into `safety`
            # before the rest of that run is)
            checks_safety = not safety.done
            invariants = safety.invariants if checks_safety else ()
            properties = () if term else live.properties if together or safety.done else ()
            kind = "liveness" if safety.done else "check" if properties else "safety"
            if kind == "liveness" and fair is None:
                fair = False
                if (distinct or 0) * self.reduction > FAIRNESS_STATES:
                    result = self.tlc(f"fairness-{n}", spec, spec_text, fairness_cfg(rendered),
                                      False)
                    fair = result.outcome is Outcome.OK
                    self.event("run", f"fairness-{n}: " + (
                        "liveness runs under FairSpec" if fair else
                        "FairSpec is not Spec here: liveness runs under Spec"))
                    n += 1
            # WriteHoldReport reads TLC register 1, which TLC 2.15's -simulate leaves
            # undefined ("TLCGet(1) was undefined"): not reported when simulating.
            report = checks_safety and not simulated
            once, one_run = one_run, False
            cfg = tlc_cfg(rendered, invariants, properties, report_write_hold=report,
                          termination=term, fair=kind == "liveness" and bool(fair),
                          one_run=once)
            # NoCycle is checked once, on the whole graph, after every invariant held
            result = self.tlc(f"{kind}-{n}", spec, spec_text, cfg, safety.check_deadlock,
                              unreduced=kind == "liveness" and rendered.symmetric,
                              extra_args=(("-continue",) if once else ())
                              + (("-lncheck", "final") if term else ()),
                              workers=1 if once else None)
            if once:
                reports, rest_text = split_first_violations(result.output, result.traces)
                if reports_left(rest_text):  # not taken apart: decided by the runs below
                    self.event("run", f"{kind}-{n}: its reports could not be read: "
                                      "one run per invariant")
                    continue
                found = [name for names, _ in reports for name in names]
                safety = judge.first_violations(safety, reports, f"{kind}-{n}")
                # What ended the run, as a run that checked only the invariants it did not
                # report: folded below as any run is (the write-hold lines are read from
                # the run's whole output, self.results).
                result = self._mapped(parse_tlc_output(
                    rest_text, result.exit_code, timed_out=result.outcome is Outcome.TIMEOUT))
                self.runs[-1] = replace(
                    self.runs[-1], outcome=(Outcome.INVARIANT if found else result.outcome).value,
                    violated=", ".join(found) or None, continued=True)
                if term and TERMINATION_INVARIANT in found:
                    terminate = term = False  # the invariants are decided all the same
                    self.event("run", f"{kind}-{n}: a state is stuck before the end: "
                                      "liveness by liveness runs")
            if term and result.outcome is Outcome.INVARIANT \
                    and result.violated == TERMINATION_INVARIANT:
                terminate = False  # a stuck state: the same run again, then liveness runs
                self.event("run", f"{kind}-{n}: a state is stuck before the end: "
                                  "liveness by liveness runs")
                continue
            if checks_safety:
                safety = judge.next_safety(safety, result, f"{kind}-{n}", simulated=simulated)
                if result.stats.distinct_states is not None:
                    distinct, depth = result.stats.distinct_states, result.stats.depth
                if report and _complete(result):
                    output = self.results[f"{kind}-{n}"].output
                    write_hold = {key: max((int(x) for x in rx.findall(output)), default=0)
                                  for key, rx in WRITE_HOLD.items()}
            if properties:
                live = judge.next_liveness(live, result, f"{kind}-{n}")
            elif term and safety.done:
                if result.outcome is Outcome.OK:
                    live = judge.terminated(f"{kind}-{n}")
                elif result.outcome is Outcome.LIVENESS:
                    terminate = False  # a cycle: liveness by liveness runs
                else:  # TLC could not finish: liveness undecided too, as in a combined run
                    live = judge.next_liveness(live, result, f"{kind}-{n}")
            elif term and result.outcome is Outcome.LIVENESS:
                terminate = False  # (not reached with -lncheck final: a cycle found early)

        verdicts = judge.verdicts({**safety.decided, **live.decided}, self.model.expect,
                                  PROPERTIES, chosen)
        first = next(iter(self.results.values()), None)
        res = ModelResult(
            model=self.model, directory=self.dir, spec=rendered.filename,
            spec_sha256=hashlib.sha256(spec_text.encode()).hexdigest(), verdicts=verdicts,
            runs=tuple(self.runs),
            max_write_hold=write_hold.get("max_write_hold"), distinct_states=distinct, depth=depth,
            seconds=time.monotonic() - started,
            tlc_version=first.tlc_version if first else None,
            tlc_revision=first.tlc_revision if first else None,
            simulate=self.options.simulate,
            max_write_zap=write_hold.get("max_write_zap"),
            max_write_munlock=write_hold.get("max_write_munlock"),
        )
        write_atomic(self.dir / "result.json", json.dumps(res.to_dict(), indent=2) + "\n")
        self.event("done", "")
        return res

    def failed(self, error: Exception, started: float) -> ModelResult:
        """The error row of a model whose check raised: every property "error", saying why;
        the runs made before the failure are kept.  Its result.json is written if it can be."""
        why = str(error) if isinstance(error, MmcheckError) else f"{type(error).__name__}: {error}"
        why = " ".join(why.split())
        chosen = self.options.properties
        verdicts = {p: judge.Verdict(p, "error", self.model.expected(p), None, None, why)
                    if chosen is None or p in chosen else
                    judge.Verdict(p, judge.NOT_SELECTED, self.model.expected(p), None, None,
                                  "not selected (--properties)")
                    for p in PROPERTIES}
        res = ModelResult(
            model=self.model, directory=self.dir, spec="", spec_sha256="", verdicts=verdicts,
            runs=tuple(self.runs), max_write_hold=None, distinct_states=None, depth=None,
            seconds=time.monotonic() - started, tlc_version=None, tlc_revision=None,
            simulate=self.options.simulate)
        try:
            write_atomic(self.dir / "result.json", json.dumps(res.to_dict(), indent=2) + "\n")
        except MmcheckError:
            pass  # the run directory's results.json still has the row
        self.event("failed", why)
        return res


def _complete(result: TlcResult) -> bool:
    """TLC explored the whole state space: no error, or only a liveness violation found
    by the check at the end (nothing left on the queue)."""
    return result.outcome is Outcome.OK or (
        result.outcome is Outcome.LIVENESS and result.stats.states_left == 0)


def check_model(model: Model, directory: Path, tools: JavaTools, *,
                options: Options = Options(), cache: Cache | None = None,
                on_event: Event | None = None,
                on_progress: ProgressEvent | None = None,
                rendered: Rendered | None = None) -> ModelResult:
    """Check one model; its files go to `directory`.  A failure (anything but an interrupt)
    is the model's error row, not an exception."""
    mc = _ModelCheck(model, directory, tools, cache, options, on_event, on_progress, rendered)
    started = time.monotonic()
    try:
        return mc.check()
    except (Cancelled, KeyboardInterrupt):
        raise
    except Exception as e:  # noqa: BLE001 - a failed model is data: its error row
        return mc.failed(e, started)


def default_jobs() -> int:
    """Models checked at once: one more than the cores.  A small model's JVM leaves its
    core idle part of the time (start-up, the main thread waiting for the workers): the
    committed matrix took 89-91 s with 3 jobs on 2 cores, 104-107 s with 2."""
    return (os.cpu_count() or 1) + 1


def check_models(models: Sequence[Model], out: Path, tools: JavaTools, *, jobs: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, cache: Cache | None = None,
                 on_event: Event | None = None, quick_jit: bool = True,
                 on_result: Callable[[ModelResult], None] | None = None,
                 rendered: dict[str, Rendered] | None = None,
                 distributed: int | None = None,
                 termination: bool = True,
                 properties: tuple[str, ...] | None = None,
                 simulate: Simulation | None = None,
                 on_progress: ProgressEvent | None = None) -> list[ModelResult]:
    """Check models, `jobs` at a time (each TLC with cores/jobs workers); results in
    the order of `models`, files under out/<model name>/ (locked: one run at a time).
    `on_result` is called with each model's result as soon as it is done; `rendered` (model
    name -> its render) saves rendering them again.  `distributed`: the safety run of each
    model on distributed TLC with that many local workers (Options.distributed);
    `termination`: Options.termination; `properties`: Options.properties (None: all);
    `simulate`: TLC's random simulation instead of exhaustive runs (Options.simulate);
    `on_progress`: called with TLC's progress reports (one a minute) of every run."""
    timeout = check_timeout(timeout, "timeout")
    jobs = max(1, jobs or (1 if distributed is not None else default_jobs()))
    workers = max(1, (os.cpu_count() or 1) // min(jobs, len(models) or 1))
    options = Options(timeout=timeout, workers=workers, quick_jit=quick_jit,
                      distributed=distributed, termination=termination,
                      properties=properties, simulate=simulate)
    if rendered is None:
        rendered = {m.name: render(m) for m in models}  # a template error: nothing written yet
    with locked(out), jvmpool.session():  # TLC runs on long-lived JVMs where they can
        return _check_all(models, out, tools, jobs, options, cache, on_event, on_result,
                          rendered, on_progress)


def _check_all(models: Sequence[Model], out: Path, tools: JavaTools, jobs: int,
               options: Options, cache: Cache | None,
               on_event: Event | None,
               on_result: Callable[[ModelResult], None] | None,
               rendered: dict[str, Rendered],
               on_progress: ProgressEvent | None = None) -> list[ModelResult]:

    def one(model: Model) -> ModelResult:
        result = check_model(model, out / model.name, tools, options=options, cache=cache,
                             on_event=on_event, rendered=rendered[model.name],
                             on_progress=on_progress)
        if on_result is not None:
            on_result(result)
        return result

    if jobs == 1:
        return [one(m) for m in models]
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        return list(pool.map(one, models))
    except KeyboardInterrupt:
        # Only this thread sees Ctrl-C: kill the JVMs the other threads wait on.
        cancel_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
