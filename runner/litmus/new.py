"""`mmcheck litmus new MODEL`: a litmus test written from a model file's layout and threads,
as a start: the main munmap and every thread become programs of their own; `exists` is a
placeholder to edit."""
from __future__ import annotations

from gen.load import load_models
from runner.errors import ConfigError
from runner.litmus.parse import FLAGS, MAX_PAGES


def new_test(path: str, name: str | None = None) -> str:
    models = load_models(path)
    if name is not None:
        models = [m for m in models if m.name == name]
        if not models:
            raise ConfigError(f"{path}: no model named {name!r}")
    m = models[0]
    if m.pages > MAX_PAGES:
        raise ConfigError(f"{path}: model {m.name}: {m.pages} pages (a litmus test has at most "
                          f"{MAX_PAGES})")
    vmas = []
    for v in m.vmas:
        flags = [f.value for f in v.flags if f.value not in ("prot_none", "shared_file")]
        extra = (', prot = "none"' if any(f.value == "prot_none" for f in v.flags) else "") + (
            f", file_eof = {v.eof if v.eof is not None else v.end}"
            if any(f.value == "shared_file" for f in v.flags) else "")
        bad = [f for f in flags if f not in FLAGS]
        if bad:
            raise ConfigError(f"{path}: model {m.name}: a {bad[0]} VMA cannot be made from user "
                              f"space in a litmus test (flags: {', '.join(FLAGS)})")
        file_part = set(range(v.start, v.eof)) if v.eof is not None else None
        if not isinstance(v.populated, bool) and set(v.populated) != file_part:
            raise ConfigError(f"{path}: model {m.name}: partly populated VMAs are not litmus "
                              "layouts (populated = true or false)")
        pop = "" if v.populated is True else ", populated = false"
        if any(f.value == "shared_file" for f in v.flags) and v.eof is not None:
            pop = ", populated = false" if not v.pages_populated() else ""
        vmas.append(f"{{ start = {v.start}, end = {v.end}, flags = {flags!r}{pop}{extra} }}"
                    .replace("'", '"'))
    programs = [[f"munmap {m.munmap[0]} {m.munmap[1]}"]]
    reads = []
    values = 0
    for t in m.threads:
        for _ in range(t.count):
            if t.kind == "fault" and t.access == "read":
                op = f"poll {t.addr} until sigsegv" if t.repeat else f"read {t.addr}"
                reads.append(len(programs))
            elif t.kind == "fault":
                values += 1
                op = f"write {t.addr} v{values}"
            elif t.kind == "mmap_fixed" and t.get("prot") == "none":
                op = f"mmap_fixed {t.start} {t.end} none"
            elif t.kind == "mmap_fixed":
                values += 1
                op = f"mmap_fixed {t.start} {t.end} v{values}"
            elif t.kind == "mincore":
                op = f"mincore {t.addr}"
                reads.append(-len(programs))  # negative: a mincore register
            elif t.kind == "mlock":
                op = f"mlock {t.start} {t.end}"
            elif t.kind == "madvise":
                op = f"madvise_dontneed {t.start} {t.end}"
            elif t.kind == "munmap":
                op = f"munmap {t.start} {t.end}"
            else:
                raise ConfigError(f"{path}: model {m.name}: a {t.kind} thread is a kernel "
                                  "driver's, not a user-space program")
            programs.append([op])
    if len(programs) > 4:
        raise ConfigError(f"{path}: model {m.name}: more than 4 threads for a litmus test")
    if not reads:
        raise ConfigError(f"{path}: model {m.name}: no read fault: a litmus test needs a register "
                          "for its exists clause (add a read thread)")
    exists = f"{-reads[0]}:r0=enomem" if reads[0] < 0 else f"{reads[0]}:r0=sigsegv"
    lines = [
        f"# A litmus test started from model {m.name} of {path} (mmcheck litmus new).",
        "# EDIT: the programs (a thread's operations run in order), the exists clause (the",
        "# outcome of interest) and the expected verdicts; then mmcheck litmus check FILE.",
        f'name = "{m.name}"',
        f'description = "{m.description or "from model " + m.name}"',
        f"pages = {m.pages}",
        "vmas = [ " + ", ".join(vmas) + " ]",
        "threads = [",
        *[f"  {programs_line(p)}," for p in programs],
        "]",
        f"exists = '{exists}'  # EDIT",
        "",
        "[expect]  # EDIT: protocol = \"allowed\" | \"forbidden\"",
        "",
    ]
    return "\n".join(lines)


def programs_line(ops: list[str]) -> str:
    return "[ " + ", ".join(f'"{o}"' for o in ops) + " ]"
