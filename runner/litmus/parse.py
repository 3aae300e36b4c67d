"""Litmus test files (specs/litmus/*.toml): the layout, the threads' programs, the `exists`
clause and the expected verdict per protocol, validated into frozen dataclasses.

A test is what user space can do, restricted to what the shared mm model can express:
VMAs (anonymous, populated or not, `growsdown`, `locked`, `prot = "none"`, or a shared
file mapping whose file ends at page `file_eof`: SIGBUS past it), and per thread a program
of `read P`, `write P V`, `poll P until A|B`, `mincore P`, `munmap S E`, `mmap_fixed S E V`
(or `mmap_fixed S E none`: PROT_NONE), `madvise_dontneed S E`, `mlock S E` and
`mremap_shrink S E N`.  Every read, poll, write and mincore has a register (per thread, r0,
r1, ...) holding what it returned: `orig` (the VMA's original content), `zero`, a written
value's name, `sigsegv`, `sigbus`, `ok` (a write that went through); for mincore
`resident`, `notresident` or `enomem`.  `exists` is a
formula over registers in herd7's syntax: `0:r0=sigsegv /\\ 0:r1=orig` (with `\\/`, `~`
and parentheses).  Every problem is one ConfigError naming the file and the key.
"""
from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gen.model import read_toml
from runner.errors import ConfigError

VERDICTS = ("allowed", "forbidden")
SIGNALS = ("sigsegv", "sigbus")
BASE_VALUES = ("orig", "zero", "ok") + SIGNALS
MINCORE_VALUES = ("resident", "notresident", "enomem")
RESERVED = BASE_VALUES + MINCORE_VALUES + ("none",)  # not a value name (none: PROT_NONE)
FLAGS = ("growsdown", "locked")
PROTS = ("rw", "none")
OPS = {  # name -> argument kinds: P page, S/E range, N new end, V value name, U until-set
    "read": "P", "write": "PV", "poll": "PU", "mincore": "P", "munmap": "SE",
    "mmap_fixed": "SEV", "madvise_dontneed": "SE", "mlock": "SE", "mremap_shrink": "SEN",
}
REGISTER_OPS = ("read", "write", "poll", "mincore")
UNMAP_OPS = ("munmap", "mremap_shrink")  # the model's munmap threads
MAX_PAGES = 8
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
TEST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
KEYS = {"name", "description", "pages", "vmas", "threads", "exists", "expect", "shows"}
VMA_KEYS = {"start", "end", "flags", "populated", "prot", "file_eof"}
USER_VISIBLE = ("MunmapAtomic", "NoThirdState", "NoLostWrite")


@dataclass(frozen=True)
class Op:
    kind: str  # a key of OPS
    page: int | None = None  # read, write, poll
    start: int | None = None  # munmap, mmap_fixed, madvise_dontneed
    end: int | None = None
    value: str | None = None  # write, mmap_fixed: the name of the value written
    until: tuple[str, ...] = ()  # poll: the values that end it
    register: str | None = None  # "r0", ... for read, write, poll and mincore
    prot: str | None = None  # mmap_fixed: "none" (PROT_NONE, nothing written)
    new_end: int | None = None  # mremap_shrink S E N: [S, E) becomes [S, N); [N, E) unmapped

    def text(self) -> str:
        if self.until:
            return f"{self.kind} {self.page} until {'|'.join(self.until)}"
        args = [self.page] if self.page is not None else [self.start, self.end]
        if self.new_end is not None:
            args.append(self.new_end)
        tail = [self.value] if self.value else ["none"] if self.prot == "none" else []
        return " ".join([self.kind, *map(str, args)] + tail)

    def unmaps(self) -> tuple[int, int] | None:
        """The range the model's munmap thread for this operation unmaps (or None)."""
        if self.kind == "munmap":
            return self.start, self.end  # type: ignore[return-value]
        if self.kind == "mremap_shrink":
            return self.new_end, self.end  # type: ignore[return-value]
        return None


@dataclass(frozen=True)
class Vma:
    start: int
    end: int
    flags: tuple[str, ...] = ()
    populated: bool = True
    prot: str = "rw"  # "none": PROT_NONE
    file_eof: int | None = None  # a MAP_SHARED file mapping; its file ends at this page


# exists: an expression tree of ("and"|"or", [..]), ("not", e) and ("eq", thread, reg, value)
Expr = tuple[Any, ...]


@dataclass(frozen=True)
class LitmusTest:
    name: str
    path: str
    description: str
    pages: int
    vmas: tuple[Vma, ...]
    threads: tuple[tuple[Op, ...], ...]
    exists: Expr
    exists_text: str
    expect: dict[str, str] = field(default_factory=dict)
    # `shows = { property = P, scenarios = [...] }`: the user-visible property whose violation
    # the exists outcome is, and the scenarios (specs/scenarios.toml) it reproduces
    shows: str | None = None
    scenarios: tuple[str, ...] = ()

    def values(self) -> list[str]:
        """The written value names, in the order of their ops (thread, then program)."""
        return [op.value for ops in self.threads for op in ops if op.value]

    def registers(self) -> dict[tuple[int, str], Op]:
        return {(t, op.register): op for t, ops in enumerate(self.threads)
                for op in ops if op.register}


def _err(path: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {problem}")


def _page(path: str, key: str, word: str, lo: int, hi: int) -> int:
    if not word.isdigit() or not lo <= int(word) <= hi:
        raise _err(path, key, f"{word!r} is not a page number in {lo}..{hi}")
    return int(word)


def parse_op(path: str, key: str, text: str, pages: int) -> Op:
    if not isinstance(text, str) or not text.split():
        raise _err(path, key, "must be a string such as \"read 1\"")
    words = text.split()
    kind, args = words[0], words[1:]
    if kind not in OPS:
        raise _err(path, key, f"unknown operation {kind!r} (one of: {', '.join(OPS)})")
    if kind == "poll" or (kind == "mincore" and len(args) > 1):
        if len(args) != 3 or args[1] != "until":
            raise _err(path, key, f"{kind} P until V|V...")
        until = tuple(args[2].split("|"))
        if any(not NAME.match(u) for u in until):
            raise _err(path, key, f"bad value list {args[2]!r}")
        if kind == "mincore" and any(u not in MINCORE_VALUES for u in until):
            raise _err(path, key, f"mincore P until: values of {', '.join(MINCORE_VALUES)}")
        return Op(kind, page=_page(path, key, args[0], 1, pages), until=until)
    shape = OPS[kind]
    if len(args) != len(shape):
        raise _err(path, key, f"{kind} takes {len(shape)} argument(s) ({' '.join(shape)})")
    new_end = None
    if shape[0] == "P":
        page = _page(path, key, args[0], 1, pages)
        value = args[1] if len(args) > 1 else None
        start = end = None
    else:
        page = None
        start = _page(path, key, args[0], 1, pages)
        end = _page(path, key, args[1], start + 1, pages + 1)
        value = args[2] if shape[2:] == "V" else None
        if shape[2:] == "N":
            if end - start < 2:
                raise _err(path, key, "mremap_shrink S E N: [S, E) shrinks to [S, N): needs "
                           "S < N < E")
            new_end = _page(path, key, args[2], start + 1, end - 1)
    if kind == "mmap_fixed" and value == "none":
        return Op(kind, start=start, end=end, prot="none")
    if value is not None and (not NAME.match(value) or value in RESERVED):
        raise _err(path, key, f"value name {value!r}: lower-case letters and digits, not one "
                   f"of {', '.join(RESERVED)}")
    return Op(kind, page=page, start=start, end=end, value=value, new_end=new_end)


_TOKEN = re.compile(r"\s*(/\\|\\/|~|\(|\)|(\d+):(r\d+)\s*(!?=)\s*([a-z][a-z0-9_]*))")


def parse_exists(path: str, text: Any) -> Expr:
    """herd7's formula: atoms `T:rK=V` (or `!=`), `/\\` binds tighter than `\\/`, `~`."""
    if not isinstance(text, str) or not text.strip():
        raise _err(path, "exists", "missing or empty (e.g. '0:r0=sigsegv /\\ 0:r1=orig')")
    tokens: list[Any] = []
    pos = 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _err(path, "exists", f"cannot read {text[pos:].strip()[:20]!r}")
        if m.group(2) is not None:
            atom: Expr = ("eq", int(m.group(2)), m.group(3), m.group(5))
            tokens.append(("not", atom) if m.group(4) == "!=" else atom)
        else:
            tokens.append(m.group(1))
        pos = m.end()
    expr, rest = _or(path, tokens)
    if rest:
        raise _err(path, "exists", f"unexpected {rest[0]!r}")
    return expr


def _chain(path: str, t: list[Any], op: str, name: str,
           operand: Callable[[str, list[Any]], tuple[Expr, list[Any]]]
           ) -> tuple[Expr, list[Any]]:
    """operand (op operand)*: one (name, [operands]) node, or the operand alone."""
    left, t = operand(path, t)
    parts = [left]
    while t and t[0] == op:
        right, t = operand(path, t[1:])
        parts.append(right)
    return ((name, parts) if len(parts) > 1 else left), t


def _or(path: str, t: list[Any]) -> tuple[Expr, list[Any]]:
    return _chain(path, t, "\\/", "or", _and)


def _and(path: str, t: list[Any]) -> tuple[Expr, list[Any]]:
    return _chain(path, t, "/\\", "and", _unary)


def _unary(path: str, t: list[Any]) -> tuple[Expr, list[Any]]:
    if not t:
        raise _err(path, "exists", "ends too early")
    if t[0] == "~":
        e, rest = _unary(path, t[1:])
        return ("not", e), rest
    if t[0] == "(":
        e, rest = _or(path, t[1:])
        if not rest or rest[0] != ")":
            raise _err(path, "exists", "a '(' is not closed")
        return e, rest[1:]
    if isinstance(t[0], tuple):
        return t[0], t[1:]
    raise _err(path, "exists", f"unexpected {t[0]!r}")


def atoms(e: Expr) -> list[Expr]:
    if e[0] == "eq":
        return [e]
    if e[0] == "not":
        return atoms(e[1])
    return [a for part in e[1] for a in atoms(part)]


def parse_test(data: dict[str, Any], path: str) -> LitmusTest:
    extra = sorted(set(data) - KEYS)
    if extra:
        raise _err(path, extra[0], f"unknown key (allowed: {', '.join(sorted(KEYS))})")
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not TEST_NAME.match(name) or len(name) > 48:
        raise _err(path, "name", f"{name!r}: letters, digits, '-' and '_' (at most 48)")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _err(path, "description", "must be a string")
    pages = data.get("pages")
    if isinstance(pages, bool) or not isinstance(pages, int) or not 1 <= pages <= MAX_PAGES:
        raise _err(path, "pages", f"must be an integer in 1..{MAX_PAGES}")
    raw_vmas = data.get("vmas")
    if not isinstance(raw_vmas, list) or not raw_vmas:
        raise _err(path, "vmas", "must be a non-empty list of { start, end, flags, populated }")
    vmas = []
    for i, v in enumerate(raw_vmas):
        key = f"vmas[{i}]"
        if not isinstance(v, dict) or set(v) - VMA_KEYS:
            raise _err(path, key, f"a table of {', '.join(sorted(VMA_KEYS))}")
        start = v.get("start")
        end = v.get("end")
        if not (isinstance(start, int) and isinstance(end, int)
                and 1 <= start < end <= pages + 1):
            raise _err(path, key, f"start and end must satisfy 1 <= start < end <= {pages + 1}")
        flags = v.get("flags", [])
        if not isinstance(flags, list) or any(f not in FLAGS for f in flags):
            raise _err(path, key + ".flags", f"a list of: {', '.join(FLAGS)}")
        prot = v.get("prot", "rw")
        if prot not in PROTS:
            raise _err(path, key + ".prot", "\"rw\" (read and write) or \"none\" (PROT_NONE)")
        populated = v.get("populated", prot == "rw")
        if not isinstance(populated, bool):
            raise _err(path, key + ".populated", "true or false")
        if prot == "none" and populated:
            raise _err(path, key + ".populated", "a PROT_NONE VMA cannot be populated")
        eof = v.get("file_eof")
        if eof is not None and (isinstance(eof, bool) or not isinstance(eof, int)
                                or not start <= eof <= end):
            raise _err(path, key + ".file_eof", f"the page the file ends at, in {start}..{end}")
        if (prot == "none" or eof is not None) and flags:
            raise _err(path, key + ".flags", "no flags on a PROT_NONE or file VMA")
        if prot == "none" and eof is not None:
            raise _err(path, key, "a PROT_NONE file mapping is not supported")
        vmas.append(Vma(start, end, tuple(sorted(set(flags))), populated, prot, eof))
    vmas.sort(key=lambda v: v.start)
    for a, b in itertools.pairwise(vmas):
        if b.start < a.end:
            raise _err(path, "vmas", f"[{a.start}, {a.end}) and [{b.start}, {b.end}) overlap")
        if (b.start == a.end and a.file_eof is None and b.file_eof is None
                and (a.flags, a.prot) == (b.flags, b.prot)):
            raise _err(path, "vmas", f"[{a.start}, {a.end}) and [{b.start}, {b.end}): the kernel "
                       "merges side-by-side anonymous VMAs of the same flags into one (the model "
                       "does not): leave a page between them")
    raw_threads = data.get("threads")
    if not isinstance(raw_threads, list) or not raw_threads or len(raw_threads) > 4:
        raise _err(path, "threads", "a list of 1..4 programs (lists of operations)")
    threads = []
    for t, program in enumerate(raw_threads):
        if not isinstance(program, list) or not program:
            raise _err(path, f"threads[{t}]", "a non-empty list of operations")
        ops: list[Op] = []
        for k, text in enumerate(program):
            op = parse_op(path, f"threads[{t}][{k}]", text, pages)
            if op.kind in REGISTER_OPS:
                op = Op(**{**op.__dict__, "register": f"r{sum(o.register is not None for o in ops)}"})
            ops.append(op)
        threads.append(tuple(ops))
    all_ops = [op for ops in threads for op in ops]
    if not any(op.kind in UNMAP_OPS for op in all_ops):
        raise _err(path, "threads", "no thread munmaps (or mremap_shrinks): the model needs one")
    for t, program_ops in enumerate(threads):
        for k, op in enumerate(program_ops):
            _check_layout(path, f"threads[{t}][{k}]", op, vmas)
    if len(all_ops) > 7:
        raise _err(path, "threads", "more than 7 operations in all (the model's thread limit)")
    values = [op.value for op in all_ops if op.value]
    if len(set(values)) != len(values):
        raise _err(path, "threads", "a value name is written twice")
    for op in all_ops:
        for u in op.until if op.kind == "poll" else ():
            if u not in BASE_VALUES + tuple(values) or u == "ok":
                raise _err(path, "threads", f"poll until {u!r}: not a value any access returns")
    exists = parse_exists(path, data.get("exists"))
    regs = {(t, op.register): op for t, ops in enumerate(threads) for op in ops if op.register}
    for _, t, r, v in atoms(exists):
        if (t, r) not in regs:
            raise _err(path, "exists", f"{t}:{r}: no such register")
        allowed = MINCORE_VALUES if regs[(t, r)].kind == "mincore" else BASE_VALUES + tuple(values)
        if v not in allowed:
            raise _err(path, "exists", f"{t}:{r}={v}: {v!r} is not a value of {t}:{r} "
                       f"({regs[(t, r)].kind}: one of {', '.join(allowed)})")
    expect = data.get("expect", {})
    if not isinstance(expect, dict) or any(v not in VERDICTS for v in expect.values()):
        raise _err(path, "expect", "a table protocol = \"allowed\" | \"forbidden\"")
    shows = data.get("shows", {})
    if (not isinstance(shows, dict) or set(shows) - {"property", "scenarios"}
            or shows.get("property", USER_VISIBLE[0]) not in USER_VISIBLE
            or not isinstance(shows.get("scenarios", []), list)):
        raise _err(path, "shows", f"{{ property = one of {', '.join(USER_VISIBLE)}, "
                   "scenarios = [...] }")
    return LitmusTest(name, path, description, pages, tuple(vmas), tuple(threads), exists,
                      data["exists"].strip(), dict(expect), shows.get("property"),
                      tuple(map(str, shows.get("scenarios", []))))


def _check_layout(path: str, key: str, op: Op, vmas: list[Vma]) -> None:
    """What the model does not cover about an operation on the layout: a one-line error."""
    def at(p: int) -> Vma | None:
        return next((v for v in vmas if v.start <= p < v.end), None)

    if (op.kind == "write" and op.page is not None and (v := at(op.page)) is not None
            and v.file_eof is not None):
        raise _err(path, key, "a write into the shared file mapping is not modelled (the "
                   "page cache keeps it after a zap)")
    if op.kind == "mremap_shrink" and at(op.start or 0) is None:
        raise _err(path, key, "mremap_shrink S E N: page S must be in a VMA of the layout "
                   "(5.16+ gives EFAULT otherwise: not modelled)")
    if op.kind == "mlock":
        assert op.start is not None and op.end is not None
        inside = [v for v in vmas if op.start <= v.start and v.end <= op.end]
        if (sum(v.end - v.start for v in inside) != op.end - op.start
                or any(v.flags or v.prot != "rw" or v.file_eof is not None for v in inside)):
            raise _err(path, key, "mlock S E: [S, E) must be whole anonymous read-write VMAs of "
                       "the layout without flags and without a hole (its split, merge and "
                       "errors are not modelled)")
        for v in vmas:
            if "locked" in v.flags and (v.end == op.start or v.start == op.end):
                raise _err(path, key, "mlock S E: a locked VMA next to [S, E) would merge with "
                           "it (not modelled)")


def load_tests(paths: list[str] | list[Path]) -> list[LitmusTest]:
    """Read litmus files (a directory: its *.toml files); names must be unique."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.toml")) if p.is_dir() else [p])
    if not files:
        raise ConfigError("no litmus test files given")
    tests: dict[str, LitmusTest] = {}
    for f in files:
        test = parse_test(read_toml(str(f), "litmus test"), str(f))
        if test.name in tests:
            raise _err(str(f), "name", f"{test.name!r} also in {tests[test.name].path}")
        tests[test.name] = test
    return list(tests.values())
