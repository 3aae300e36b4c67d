"""The model as text: the address space drawn as a map, the threads and the parameters.

Pages 1..N are columns; a row for the page-table pages, one for the VMAs (lettered, with
their flags in a legend), one per thread that works on a range or faults at a page.
Ranges are half-open, drawn `[....)` like the kernel's [start, end).
"""
from __future__ import annotations

import textwrap

from gen.model import Model

WIDTH = 80
LABEL = 14  # width of the row names
FLAG_NAMES = {"locked": "VM_LOCKED", "hugetlb": "VM_HUGETLB", "pfnmap": "VM_PFNMAP",
              "uprobe": "uprobe", "growsdown": "VM_GROWSDOWN", "growsup": "VM_GROWSUP",
              "prot_none": "PROT_NONE", "shared_file": "VM_SHARED"}


# How the map names a thread that acts at a page.
ADDR_NOTES = {
    "fault": "{access} fault at {addr}",
    "follow_pte": "follow_pte at {addr} ({lookup})",
    "binder": "binder vm_insert_page at {addr} ({lock} lock)",
}


def _cell(pages: int) -> int:
    return 4 if pages <= 12 else 3


def _span(start: int, end: int, name: str, fill: str, w: int) -> str:
    inner = (end - start) * w - 2
    return "[" + (name[:inner]).ljust(inner, fill) + ")"


def _row(name: str, pages: int, spans: list[tuple[int, int, str, str]], note: str = "") -> str:
    w = _cell(pages)
    line = [" "] * (pages * w)
    for start, end, text, fill in spans:
        drawn = _span(start, end, text, fill, w)
        line[(start - 1) * w:(start - 1) * w + len(drawn)] = list(drawn)
    body = "".join(line)
    text = f"  {name[:LABEL - 3]:<{LABEL - 2}}{body}"
    return (f"{text}  {note}" if note else text).rstrip()


def thread_rows(model: Model) -> list[tuple[str, str, str]]:
    """(name, members, what it does) for every thread group, the main munmap first."""
    a, b = model.munmap
    rows = [("munmap0", "munmap0", f"munmap [{a}, {b}) by the {model.protocol} protocol")]
    for i, t in enumerate(model.threads, start=1):
        prefix = f"{t.kind}{i}"
        members = prefix if t.count == 1 else ", ".join(f"{prefix}_{j}"
                                                         for j in range(1, t.count + 1))
        if t.kind == "fault":
            what = f"{t.access} fault at page {t.addr}" + (", repeating forever" if t.repeat else "")
        elif t.kind == "mmap_fixed" and t.get("prot") == "none":
            what = f"mmap(MAP_FIXED, PROT_NONE) of [{t.start}, {t.end})"
        elif t.kind == "mmap_fixed":
            what = f"mmap(MAP_FIXED) of [{t.start}, {t.end}), then a write fault at {t.start}"
        elif t.kind == "munmap":
            what = f"a second munmap of [{t.start}, {t.end})"
        elif t.kind == "follow_pte":
            what = (f"s390 pci_mmio: {t.lookup}({t.addr}), VM_PFNMAP check, follow_pte under "
                    f"down_read")
        elif t.kind == "binder":
            what = (f"binder: alloc->vma cached at mmap, then vm_insert_page at {t.addr} under "
                    f"the {t.lock} lock")
        elif t.kind == "madvise":
            what = f"madvise(MADV_DONTNEED) of [{t.start}, {t.end})"
        else:  # an actor of its own: its summary
            what = t.summary()
        rows.append((prefix, members, what))
    return rows


def address_map(model: Model) -> list[str]:
    n, per = model.pages, model.ptes_per_table
    w = _cell(n)
    out = [f"  {'page':<{LABEL - 2}}" + "".join(f"{p:<{w}}" for p in range(1, n + 1)).rstrip()]
    tables = [(t * per + 1, min((t + 1) * per, n) + 1, f"pt{t + 1}", " ")
              for t in range((n - 1) // per + 1)]
    out.append(_row("page tables", n, tables))
    vmas = sorted(model.vmas, key=lambda v: v.start)
    letters = [chr(ord("A") + i) for i in range(len(vmas))]
    out.append(_row("VMAs", n, [(v.start, v.end, ltr, " ") for v, ltr in zip(vmas, letters)]))
    a, b = model.munmap
    out.append(_row("munmap0", n, [(a, b, "", "=")], f"munmap [{a}, {b})"))
    for i, t in enumerate(model.threads, start=1):
        name = f"{t.kind}{i}" + (f" x{t.count}" if t.count > 1 else "")
        if t.addr is not None:  # a thread that acts at a page
            mark = [" "] * (n * w)
            mark[(t.addr - 1) * w] = "^"
            note = (ADDR_NOTES[t.kind].format(addr=t.addr, access=t.access, lookup=t.lookup,
                                              lock=t.lock)
                    if t.kind in ADDR_NOTES else t.summary())
            if t.repeat:
                note += ", forever"
            out.append(f"  {name:<{LABEL - 2}}{''.join(mark)}  {note}".rstrip())
        elif t.start is not None and t.end is not None:
            fill = {"mmap_fixed": "+", "munmap": "=", "madvise": "-"}.get(t.kind, "~")
            what = {"mmap_fixed": "mmap(MAP_FIXED)", "munmap": "munmap",
                    "madvise": "madvise"}.get(t.kind)
            out.append(_row(name, n, [(t.start, t.end, "", fill)],
                            f"{what} [{t.start}, {t.end})" if what else t.summary()))
        else:  # neither a page nor a range
            out.append(f"  {name:<{LABEL - 2}}{' ' * (n * w)}  {t.summary()}".rstrip())
    out.append("")
    for v, ltr in zip(vmas, letters):
        flags = ", ".join(FLAG_NAMES.get(f.value, f.value) for f in v.flags) or "no flags"
        kind = "file text" if any(f.value == "uprobe" for f in v.flags) else \
            "device memory" if any(f.value == "pfnmap" for f in v.flags) else \
            "a shared file" + (f" (past its end from page {v.eof})" if v.eof is not None else "") \
            if any(f.value == "shared_file" for f in v.flags) else "anonymous"
        held = v.pages_populated()
        pop = ("every page populated" if held == set(range(v.start, v.end)) else
               "no page populated yet" if not held else
               "pages " + ", ".join(map(str, sorted(held))) + " populated")
        out.append(f"  {ltr} = VMA [{v.start}, {v.end}), {kind}, {flags}; {pop}")
    return out


def model_section(model: Model) -> list[str]:
    """The model part of an attachment: protocol, map, threads, parameters."""
    out = _fill(f"Protocol: {model.protocol} ({model.definition.description})")
    if model.description:
        out += _fill(f"Scenario: {model.description}")
    out += ["", (f"Address space: pages 1..{model.pages}, {model.ptes_per_table} ptes per "
                 f"page-table page"), ""]
    out += address_map(model)
    out += ["", "Threads:"]
    for _, members, what in thread_rows(model):
        out += _fill(f"{members}: {what}", "  ", "    ")
    params = [f"mmap_sem {model.rwsem.value}", f"write_hold_bound {model.write_hold_bound}"]
    if model.protocol == "sections":
        params.append(f"section_pages {model.section_pages}")
    if model.protocol in ("madvise_kernel", "vm_dead"):
        params.append(f"threshold_pages {model.threshold_pages}")
    params += [f"{name} {value}" for name, value in model.options.items()]
    out += [""] + _fill("Parameters: " + ", ".join(params))
    return out


def _fill(text: str, indent: str = "", more: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=more,
                         break_on_hyphens=False) or [""]
