"""The C program of a litmus test, and compiling it with the system C compiler.

One self-contained program per test (libc and pthreads only, as the kernel's mm selftests):

- the threads are created first (their stacks exist before the layout is made), each pinned
  to its own CPU, and wait for a start flag;
- an address window is reserved (PROT_NONE), its middle unmapped again, and each VMA of the
  test placed there with MAP_FIXED_NOREPLACE, one empty abstract page from the reservation on
  either side: no foreign VMA (stack, heap, thread stack) neighbours the layout;
- abstract page p is SCALE real pages at base + (p - 1) * SCALE * 4096; an access to page p
  touches its first real page; populated VMAs get ORIG in every real page; MADV_NOHUGEPAGE
  keeps transparent huge pages out (the model has none); RLIMIT_STACK is raised to its hard
  limit so that a VM_GROWSDOWN VMA grows as the model's does (it has no stack rlimit);
- a PROT_NONE VMA is mapped PROT_NONE; a shared file VMA is a MAP_SHARED mapping of a memfd
  (shmem) whose size ends at its `file_eof` page: its pages before hold ORIG in the page
  cache (faulted in when populated, else zapped again with MADV_DONTNEED), the pages after
  are past EOF (SIGBUS);
- SIGSEGV and SIGBUS are caught with sigsetjmp/siglongjmp (registers are volatile); mincore
  records resident, not resident or ENOMEM;
- the result is one line: `litmus NAME 0:r0=sigsegv 0:r1=orig`.

`prog` runs the test once; `prog --runs N [--timeout S]` forks N runs (each killed by SIGALRM
after S seconds) and prints a `litmus-hang`/`litmus-crash` line for a run that did not
finish; as /init of a guest (pid 1) it reads the runs from the environment and reboots at the
end (qemu -no-reboot then exits).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from runner.errors import ConfigError, ToolNotFound
from runner.litmus.parse import LitmusTest, Op

PAGE = 4096
DEFAULT_SCALE_MIB = 64  # real memory per abstract page: 64 MiB gave ~50% on 6.18 (issue 17)
ORIG = 0x6F
BASE_CODES = {"zero": 0, "orig": ORIG}
SEGV, BUS, OK = 256, 257, 258
RES, NRES, ENOMEM_, OTHER = 259, 260, 261, 262  # mincore: 1, 0, ENOMEM, another error


def value_codes(test: LitmusTest) -> dict[str, int]:
    codes = dict(BASE_CODES)
    codes.update({v: 0x11 + i for i, v in enumerate(test.values())})
    codes.update({"sigsegv": SEGV, "sigbus": BUS, "ok": OK, "resident": RES,
                  "notresident": NRES, "enomem": ENOMEM_, "mincore_error": OTHER})
    return codes


def _op_c(op: Op, codes: dict[str, int]) -> str:
    def addr(p: int | None) -> str:
        return f"PAGE_ADDR({p})"

    if op.kind == "read":
        return f"regs[{op.register[1:]}] = probe_read({addr(op.page)});"  # type: ignore[index]
    if op.kind == "write":
        return (f"regs[{op.register[1:]}] = probe_write({addr(op.page)}, "  # type: ignore[index]
                f"{codes[op.value]});")  # type: ignore[index]
    if op.kind == "mincore" and op.until:
        cond = " || ".join(f"v == {codes[u]}" for u in op.until)
        return (f"{{ int v; do v = probe_mincore({addr(op.page)}); "
                f"while (!({cond}) && v != V_MINCORE_ERROR); regs[{op.register[1:]}] = v; }}")  # type: ignore[index]
    if op.kind == "mincore":
        return f"regs[{op.register[1:]}] = probe_mincore({addr(op.page)});"  # type: ignore[index]
    if op.kind == "poll":
        cond = " || ".join(f"v == {codes[u]}" for u in op.until)
        return (f"{{ int v; do v = probe_read({addr(op.page)}); "
                f"while (!({cond}) && v < 256); regs[{op.register[1:]}] = v; }}")  # type: ignore[index]
    length = f"(size_t)({op.end} - {op.start}) * BLK"
    if op.kind == "munmap":
        return f"munmap({addr(op.start)}, {length});"
    if op.kind == "madvise_dontneed":
        return f"madvise({addr(op.start)}, {length}, MADV_DONTNEED);"
    if op.kind == "mlock":
        return f"if (mlock({addr(op.start)}, {length})) die(\"mlock\");"
    if op.kind == "mremap_shrink":
        return (f"if (mremap({addr(op.start)}, {length}, (size_t)({op.new_end} - {op.start}) * "
                f"BLK, 0) == MAP_FAILED) die(\"mremap\");")
    if op.kind == "mmap_fixed" and op.prot == "none":
        return (f"if (mmap({addr(op.start)}, {length}, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | "
                f"MAP_FIXED, -1, 0) == MAP_FAILED) die(\"mmap_fixed\");")
    assert op.kind == "mmap_fixed" and op.value
    return (f"if (mmap({addr(op.start)}, {length}, PROT_READ | PROT_WRITE, MAP_PRIVATE | "
            f"MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) die(\"mmap_fixed\");\n"
            f"    probe_write({addr(op.start)}, {codes[op.value]});")


def program(test: LitmusTest, scale_pages: int) -> str:
    codes = value_codes(test)
    names = sorted(codes.items(), key=lambda kv: kv[1])
    vmas = []
    for v in test.vmas:
        flags = "MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE" + (
            " | MAP_GROWSDOWN" if "growsdown" in v.flags else "")
        if v.file_eof is not None:
            vmas.append(f"    place_file({v.start}, {v.end}, {v.file_eof}, {int(v.populated)});")
            continue
        vmas.append(f"    place({v.start}, {v.end}, {flags}, {int(v.populated)}, "
                    f"{int('locked' in v.flags)}, {int(v.prot == 'none')});")
    threads = []
    for t, ops in enumerate(test.threads):
        body = "\n    ".join(_op_c(op, codes) for op in ops)
        threads.append(f"    case {t}:\n    {body}\n    break;")
    regs_per_thread = [sum(op.register is not None for op in ops) for ops in test.threads]
    prints = []
    for t, n in enumerate(regs_per_thread):
        for r in range(n):
            prints.append(f"    n += put(line + n, sizeof line - n, \" {t}:r{r}=\", "
                          f"results[{t}][{r}]);")
    return TEMPLATE.format(
        name=test.name, pages=test.pages, scale=scale_pages, nthreads=len(test.threads),
        orig=ORIG, segv=SEGV, bus=BUS, ok=OK, res=RES, nres=NRES, enomem=ENOMEM_, other=OTHER,
        names="\n".join(f"    case {c}: return \"{n}\";" for n, c in names),
        vmas="\n".join(vmas), threads="\n".join(threads), prints="\n".join(prints),
        source=test.path,
    )


def compiler() -> str:
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return cc
    raise ToolNotFound("no C compiler (cc, gcc or clang): install gcc and libc6-dev")


def compile_program(source: str, out: Path, *, static: bool = False) -> Path:
    """Compile `source` to `out` with the system C compiler (static for a guest's /init)."""
    cc = compiler()
    src = out.with_suffix(".c")
    src.write_text(source, encoding="utf-8")
    argv = [cc, "-O2", "-Wall", "-pthread", "-o", str(out), str(src)] + (["-static"] if static else [])
    run = subprocess.run(argv, check=False, capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        first = next((line for line in run.stderr.splitlines() if "error" in line),
                     run.stderr.strip()[:200])
        what = "a static program (libc6-dev has libc.a)" if static else "the program"
        raise ConfigError(f"{src}: {cc} could not compile {what}: {first}")
    return out


TEMPLATE = r"""/* Litmus test {name} ({source}), generated by mmcheck litmus: do not edit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define NPAGES {pages}
#define SCALE {scale}UL                /* real pages per abstract page */
#define BLK (SCALE * 4096UL)
#define NTHREADS {nthreads}
#define ORIG {orig}
#define V_SEGV {segv}
#define V_BUS {bus}
#define V_OK {ok}
#define V_RES {res}
#define V_NRES {nres}
#define V_ENOMEM {enomem}
#define V_MINCORE_ERROR {other}

static char *base;                      /* abstract page 1 */
#define PAGE_ADDR(p) (base + (size_t)((p) - 1) * BLK)
static volatile int go;
static int results[NTHREADS][8];
static __thread sigjmp_buf jb;
static __thread volatile int armed;

static void die(const char *what)
{{
    char buf[160];
    int n = snprintf(buf, sizeof buf, "litmus-error {name}: %s: %s\n", what, strerror(errno));
    write(1, buf, n);
    _exit(3);
}}

static void on_signal(int sig)
{{
    if (armed)
        siglongjmp(jb, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}}

static int probe_read(volatile unsigned char *p)
{{
    volatile int v = 0;
    int sig = sigsetjmp(jb, 1);
    if (sig) {{
        armed = 0;
        return sig == SIGSEGV ? V_SEGV : V_BUS;
    }}
    armed = 1;
    v = *p;
    armed = 0;
    return v;
}}

static int probe_write(volatile unsigned char *p, int value)
{{
    int sig = sigsetjmp(jb, 1);
    if (sig) {{
        armed = 0;
        return sig == SIGSEGV ? V_SEGV : V_BUS;
    }}
    armed = 1;
    *p = (unsigned char)value;
    armed = 0;
    return V_OK;
}}

static int probe_mincore(unsigned char *p)
{{
    unsigned char vec = 0;
    if (mincore(p, 4096, &vec))
        return errno == ENOMEM ? V_ENOMEM : V_MINCORE_ERROR;
    return (vec & 1) ? V_RES : V_NRES;
}}

/* a MAP_SHARED mapping of a memfd (shmem) that ends at page eof: [start, eof) hold ORIG in
   the page cache (with their ptes when populated), [eof, end) are past EOF: SIGBUS */
static void place_file(int start, int end, int eof, int populated)
{{
    size_t len = (size_t)(end - start) * BLK, in = (size_t)(eof - start) * BLK;
    int fd = memfd_create("litmus", 0);
    if (fd < 0 || ftruncate(fd, (off_t)in))
        die("memfd_create/ftruncate");
    char *p = mmap(PAGE_ADDR(start), len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p == MAP_FAILED || p != PAGE_ADDR(start))
        die("mmap (MAP_SHARED, MAP_FIXED_NOREPLACE) of the layout's file");
    close(fd);
    madvise(p, len, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < in; off += 4096)
        p[off] = ORIG;
    if (!populated && in)
        madvise(p, in, MADV_DONTNEED);   /* the ptes go, the page cache stays */
}}

static void place(int start, int end, int flags, int populated, int locked, int prot_none)
{{
    size_t len = (size_t)(end - start) * BLK;
    char *p = mmap(PAGE_ADDR(start), len, prot_none ? PROT_NONE : PROT_READ | PROT_WRITE,
                   flags, -1, 0);
    if (p == MAP_FAILED || p != PAGE_ADDR(start))
        die("mmap (MAP_FIXED_NOREPLACE) of the layout");
    madvise(p, len, MADV_NOHUGEPAGE);
    /* MADV_POPULATE_WRITE (5.14+): one fault-in pass in the kernel, fast under TCG */
    if (populated)
        madvise(p, len, 23);
    if (populated)
        for (size_t off = 0; off < len; off += 4096)
            p[off] = ORIG;
    if (locked && mlock(p, len))
        die("mlock");
}}

static void *thread_main(void *arg)
{{
    long t = (long)arg;
    int *regs = results[t];
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) > 1) {{
        int want = (int)(t % CPU_COUNT(&all)), seen = -1;
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &all) && ++seen == want) {{
                CPU_ZERO(&one);
                CPU_SET(c, &one);
                sched_setaffinity(0, sizeof one, &one);
                break;
            }}
    }}
    while (!go)
        ;
    switch (t) {{
{threads}
    }}
    return NULL;
}}

static const char *value_name(int v)
{{
    switch (v) {{
{names}
    }}
    return NULL;
}}

static int put(char *out, size_t room, const char *head, int v)
{{
    const char *name = value_name(v);
    return name ? snprintf(out, room, "%s%s", head, name)
                : snprintf(out, room, "%s0x%x", head, v);
}}

static int run_once(void)
{{
    pthread_t th[NTHREADS];
    struct sigaction sa;
    struct rlimit rl;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    if (getrlimit(RLIMIT_STACK, &rl) == 0) {{
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_STACK, &rl);
    }}
    for (long t = 0; t < NTHREADS; t++)
        if (pthread_create(&th[t], NULL, thread_main, (void *)t))
            die("pthread_create");
    /* reserve a window, then free its middle for the layout: no foreign neighbours */
    size_t total = (NPAGES + 6) * BLK;
    char *res = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED)
        die("mmap (reserve)");
    char *inner = (char *)(((unsigned long)res + BLK + (2UL << 20) - 1) & ~((2UL << 20) - 1));
    if (munmap(inner, (NPAGES + 2) * BLK))
        die("munmap (window)");
    base = inner + BLK;
{vmas}
    __atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    char line[512];
    int n = snprintf(line, sizeof line, "litmus {name}");
{prints}
    n += snprintf(line + n, sizeof line - n, "\n");
    write(1, line, n);
    return 0;
}}

static void say(const char *fmt, int a, int b)
{{
    char buf[160];
    int n = snprintf(buf, sizeof buf, fmt, a, b);
    write(1, buf, n);
}}

int main(int argc, char **argv)
{{
    int runs = 0, timeout = 60;
    for (int i = 1; i + 1 < argc; i += 2) {{
        if (!strcmp(argv[i], "--runs"))
            runs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout"))
            timeout = atoi(argv[i + 1]);
    }}
    if (getpid() == 1) {{       /* a guest's /init */
        const char *r = getenv("litmus_runs"), *s = getenv("litmus_timeout");
        runs = r ? atoi(r) : 1;
        timeout = s ? atoi(s) : timeout;
    }}
    if (runs <= 0)
        return run_once();
    for (int i = 0; i < runs; i++) {{
        pid_t pid = fork();
        if (pid == 0) {{
            alarm(timeout);
            _exit(run_once());
        }}
        int status = 0, got;
        if (pid < 0)
            die("fork");
        while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
        if (got < 0)
            die("waitpid");
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
            say("litmus-hang {name} run %d: killed after %d s\n", i + 1, timeout);
        else if (WIFSIGNALED(status))
            say("litmus-crash {name} run %d: signal %d\n", i + 1, WTERMSIG(status));
        else if (WEXITSTATUS(status) != 0)
            say("litmus-crash {name} run %d: exit %d\n", i + 1, WEXITSTATUS(status));
    }}
    say("litmus-done {name} %d runs\n", runs, 0);  /* (say takes two numbers) */
    if (getpid() == 1) {{
        sync();
        reboot(RB_AUTOBOOT);
    }}
    return 0;
}}
"""
