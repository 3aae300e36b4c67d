"""Cheap fairness (cost-profile.md's P5) for the liveness runs that remain: runner.check
uses it for a large liveness run of a model whose threads repeat (docs/termination.md,
"Cheap fairness"; bench/bench_fairness.py measures it).

A liveness run under `Spec` (`WF_vars(GThread(self))` for every thread) spends most of its
time evaluating, on every transition and for every thread, `ENABLED <<GThread(t)>>_vars`
and the action `<<GThread(t)>>_vars` (../shared/design/cost-profile.md: 73% of a run).
Since `WF_vars(A) == []<>~ENABLED <<A>>_vars \\/ []<><<A>>_vars`, the same fairness can be
written with a state predicate `Blocked(t)` standing for `~ENABLED <<A_t>>_vars` and an
action `Moved(t)` standing for `<<A_t>>_vars`, both cheap to evaluate:

    FairSpec == Init /\\ [][Next]_vars /\\ \\A t \\in G : []<>Blocked_G(t) \\/ []<><<Moved_G(t)>>_vars

`FairSpec` has the behaviours of `Spec` exactly when `Blocked_G(t) <=> ~ENABLED <<A_t>>_vars`
holds in every reachable state (`BlockedExact`, an invariant) and `Moved_G(t) <=>
<<A_t>>_vars` on every reachable step (`MovedExact`, an action property): the runner checks
both in a run of their own and uses `FairSpec` only when they held on the whole graph.
So the definitions below can be derived by reading the translation (they are a guess that
the model checks), and a guess that is wrong costs a fallback, never a verdict.

The guess, from pcal.trans's translation of each process of a thread group:
* a label's action is disabled exactly when one of the guards it starts with is false: the
  conjuncts after `pc[self] = "L"` that prime no variable (a leading `await`);
* the process is disabled at "Done";
* a step of the thread changes its pc or one of the variables its actions write at index
  `self` (`x' = [x EXCEPT ![self] ...]`).

Pure text work on the translated module: nothing here runs TLC.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

FAIR_SPEC = "FairSpec"
BLOCKED_EXACT = "BlockedExact"
MOVED_EXACT = "MovedExact"

_WF = re.compile(r"^\\A self \\in (\w+) : WF_vars\((\w+)\(self\)\)$")
_OWN_WRITE = re.compile(r"(\w+)' = \[\1 EXCEPT !\[self\]")


def _definition(text: str, head: str) -> list[str] | None:
    """The lines of the top-level definition that starts with `head`, up to a blank line."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(head):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            return lines[i:end]
    return None


def _conjuncts(lines: list[str]) -> list[list[str]]:
    """The top-level conjuncts of `NAME(self) == /\\ A\\n    /\\ B ...`, each as its lines
    (the first without its bullet), continuation lines kept as they are."""
    column = lines[0].index("/\\")
    out: list[list[str]] = []
    for line in lines:
        if line[column:column + 2] == "/\\" and not line[:column].strip():
            out.append([line])
        elif out:
            out[-1].append(line)
    # strip the bullets: the text of a conjunct starts after "/\ " at column + 3
    return [[c[0][column + 3:]] + c[1:] for c in out]


def _guards(action: list[str], label: str) -> list[list[str]] | None:
    """The leading guards of a label's action (after its pc test), each as lines whose
    first line starts at column 0 of the guard; None when the action is not read."""
    head = action[0]
    start = head.find("== ")
    if start < 0:
        return None
    body = [" " * (start + 3) + head[start + 3:]] + action[1:]
    conjuncts = _conjuncts(body)
    if not conjuncts or conjuncts[0][0].strip() != f'pc[self] = "{label}"':
        return None
    column = start + 3 + 3  # where a conjunct's text starts
    guards = []
    for c in conjuncts[1:]:
        text = "\n".join(c)
        if "'" in text or "UNCHANGED" in text:
            break
        if any(line[:column].strip() for line in c[1:]):
            return None  # a continuation line left of its conjunct: not read here
        guards.append([c[0]] + [line[column:] for line in c[1:]])
    return guards


def _indent(lines: list[str], by: int) -> str:
    return "\n".join([lines[0]] + [" " * by + line for line in lines[1:]])


def cheap_fairness(translated: str, procs: Sequence[tuple[str, str]]) -> str | None:
    """The definitions to append to a translated module (before its closing line) for
    the thread groups `procs` ((the constant of the group, its process name)): Blocked_G,
    Moved_G, FairSpec, BlockedExact, MovedExact.  None when the translation is not of the
    shape read here (then the liveness runs keep `Spec`)."""
    spec = _definition(translated, "Spec == ")
    if spec is None:
        return None
    fair = [line.strip().removeprefix("/\\ ").strip() for line in spec[1:]]
    if not spec[0].replace(" ", "").startswith("Spec==/\\Init/\\[][Next]_vars"):
        return None
    by_proc = {proc: const for const, proc in procs}
    kept: list[str] = []
    cheap: list[tuple[str, str]] = []
    for f in fair:
        m = _WF.match(f)
        if m and by_proc.get(m.group(2)) == m.group(1):
            cheap.append((m.group(1), m.group(2)))
        elif f.startswith("WF_vars(") and "self" not in f:
            kept.append(f)  # a process of its own (RcuCallbacks, OtherMm): its WF stays
        else:
            return None  # SF, or something not written by the thread groups' processes
    if not cheap:
        return None
    out = ["", "\\* ---- cheap fairness (gen/fairness.py, docs/termination.md) ----"]
    for const, proc in cheap:
        thread = _definition(translated, f"{proc}(self) == ")
        if thread is None:
            return None
        labels = re.findall(r"(\w+)\(self\)", " ".join(thread).split("==", 1)[1])
        blocked = ['pc[self] = "Done"']
        own: list[str] = []
        for label in labels:
            action = _definition(translated, f"{label}(self) == ")
            if action is None:
                return None
            guards = _guards(action, label)
            if guards is None:
                return None
            for name in _OWN_WRITE.findall("\n".join(action)):
                if name not in own and name != "pc":
                    own.append(name)
            if guards:
                name = f"Guard_{label}"
                out.append(f"{name}(self) ==")
                out += [f"  /\\ {_indent(g, 5)}" for g in guards]
                blocked.append(f'pc[self] = "{label}" /\\ ~{name}(self)')
        out.append(f"Blocked_{const}(self) ==")
        out += [f"  \\/ {b}" for b in blocked]
        out.append(f"Moved_{const}(self) ==")
        out += [f"  \\/ {v}'[self] # {v}[self]" for v in ["pc", *own]]
    fairness = [f"\\A self \\in {c} : ([]<>Blocked_{c}(self) \\/ []<><<Moved_{c}(self)>>_vars)"
                for c, _ in cheap]
    out.append(f"{FAIR_SPEC} == /\\ Init /\\ [][Next]_vars")
    out += [f"            /\\ {f}" for f in fairness + kept]
    out.append(f"{BLOCKED_EXACT} ==")
    out += [f"  /\\ \\A self \\in {c} : Blocked_{c}(self) <=> ~ENABLED <<{p}(self)>>_vars"
            for c, p in cheap]
    moved = " /\\ ".join(f"(\\A self \\in {c} : Moved_{c}(self) <=> <<{p}(self)>>_vars)"
                         for c, p in cheap)
    out.append(f"{MOVED_EXACT} == [][{moved}]_vars")
    return "\n".join(out) + "\n"


def with_cheap_fairness(translated: str, procs: Sequence[tuple[str, str]]) -> str | None:
    """The translated module with cheap_fairness's definitions before its closing line."""
    block = cheap_fairness(translated, procs)
    if block is None:
        return None
    end = translated.rstrip().rfind("\n")
    last = translated.rstrip()[end + 1:]
    if not last.startswith("===="):
        return None
    return translated[:end + 1] + block + "\n" + translated[end + 1:]
