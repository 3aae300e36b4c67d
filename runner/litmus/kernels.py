"""Kernels: the release -> protocol map (specs/kernels.toml), and Debian kernel packages
fetched into a cache and unpacked to a bootable ELF vmlinux.

`debian:VERSION` (6.1, 6.12, 5.10) names the newest `linux-image-*-cloud-amd64` package of
that series in Debian 12 (bookworm, bookworm-security) or Debian 11 (bullseye-security).
apt runs with a private state under the cache (its own sources list, lists and archives
directories, an empty dpkg status): the host's apt configuration is neither read for sources
nor changed, and nothing is installed.  The package's /boot/vmlinuz is a bzImage; the ELF
vmlinux is its compressed payload (found by the compressor's magic bytes, as the kernel's
scripts/extract-vmlinux does) decompressed with xz (Python), lz4 or zstd.
"""
from __future__ import annotations

import lzma
import os
import re
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from gen.model import read_toml
from runner.errors import ConfigError, ToolNotFound
from runner.files import write_atomic

KERNELS_TOML = Path(__file__).resolve().parents[2] / "specs" / "kernels.toml"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEBIAN = {  # series -> (apt sources, the package name pattern)
    "6.1": (["http://deb.debian.org/debian bookworm main",
             "http://deb.debian.org/debian-security bookworm-security main"],
            r"linux-image-6\.1\.0-(\d+)-cloud-amd64"),
    "6.12": (["http://deb.debian.org/debian bookworm main",
              "http://deb.debian.org/debian-security bookworm-security main"],
             r"linux-image-6\.12\.(\d+)\+deb12-cloud-amd64"),
    "5.10": (["http://deb.debian.org/debian-security bullseye-security main"],
             r"linux-image-5\.10\.0-(\d+)-cloud-amd64"),
}


def _version(text: str) -> tuple[int, int]:
    m = re.match(r"(\d+)\.(\d+)", text)
    if not m:
        raise ConfigError(f"{text!r}: not a kernel release (major.minor...)")
    return int(m.group(1)), int(m.group(2))


def protocol_for(release: str, path: Path = KERNELS_TOML) -> tuple[str, str]:
    """(protocol, why) for a kernel release string such as `6.18.44-fc-v1300`."""
    data = read_toml(str(path), "kernel map")
    for o in data.get("override", []):
        if release.startswith(str(o.get("release", "\0"))):
            return str(o["protocol"]), str(o.get("why", "override"))
    v = _version(release)
    for r in data.get("range", []):
        lo = _version(str(r["from"]))
        hi = _version(str(r["until"])) if "until" in r else None
        if lo <= v and (hi is None or v < hi):
            return str(r["protocol"]), str(r.get("why", ""))
    raise ConfigError(f"{release}: no protocol in {path} for this release")


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "mmcheck" / "kernels"


@dataclass(frozen=True)
class Kernel:
    spec: str  # debian:6.1
    package: str  # linux-image-6.1.0-42-cloud-amd64
    release: str  # 6.1.0-42-cloud-amd64 (uname -r in the guest)
    vmlinux: Path


def _apt_options(state: Path) -> list[str]:
    return ["-o", f"Dir::Etc::SourceList={state / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/nonexistent", "-o", f"Dir::State::Lists={state / 'lists'}",
            "-o", f"Dir::Cache={state / 'cache'}", "-o", "Dir::State::status=/dev/null",
            "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root"]


def _run(argv: list[str], cwd: Path | None = None, what: str = "") -> str:
    if not shutil.which(argv[0]):
        raise ToolNotFound(f"{argv[0]} not found: {what or 'needed for Debian kernels'}")
    run = subprocess.run(argv, check=False, cwd=cwd, capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"{' '.join(argv[:2])} failed: {last}")
    return run.stdout


def fetch_debian(version: str, progress: object = None) -> Kernel:
    """The newest Debian cloud kernel of series `version`, downloaded (cached) and unpacked."""
    if version not in DEBIAN:
        raise ConfigError(f"debian:{version}: unknown (one of: "
                          f"{', '.join('debian:' + v for v in DEBIAN)})")
    sources, pattern = DEBIAN[version]
    state = cache_dir() / f"apt-{version}"
    for d in ("lists/partial", "cache/archives/partial"):
        (state / d).mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text("".join(
        f"deb [signed-by={KEYRING}] {s}\n" for s in sources))
    opts = _apt_options(state)
    lists = [f for f in (state / "lists").glob("*_Packages*")]
    if not lists or min(time.time() - f.stat().st_mtime for f in lists) > 86400:  # a day old
        _run(["apt-get", *opts, "-qq", "update"], what="apt-get downloads Debian kernels")
    names = _run(["apt-cache", *opts, "pkgnames", "linux-image-"]).split()
    found = sorted((int(m.group(1)), n) for n in names if (m := re.fullmatch(pattern, n)))
    if not found:
        raise ConfigError(f"debian:{version}: no package matching {pattern} in {sources}")
    package = found[-1][1]
    release = package.removeprefix("linux-image-")
    vmlinux = cache_dir() / f"vmlinux-{release}"
    if not vmlinux.is_file():
        debs = state / "debs"
        debs.mkdir(exist_ok=True)
        if not list(debs.glob(f"{package}_*.deb")):
            _run(["apt-get", *opts, "-qq", "download", package], cwd=debs)
        deb = max(debs.glob(f"{package}_*.deb"))
        bz = _vmlinuz_from_deb(deb, release, state)
        write_atomic(vmlinux, extract_vmlinux(bz.read_bytes(), str(deb)))
        for old in debs.glob("*.deb"):  # the ELF is kept; the package is not needed again
            old.unlink()
    return Kernel(f"debian:{version}", package, release, vmlinux)


def _vmlinuz_from_deb(deb: Path, release: str, state: Path) -> Path:
    out = state / f"vmlinuz-{release}"
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
        assert p.stdout is not None
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                if member.name.endswith(f"boot/vmlinuz-{release}"):
                    f = tar.extractfile(member)
                    assert f is not None
                    out.write_bytes(f.read())
                    break
            else:
                raise ConfigError(f"{deb}: no boot/vmlinuz-{release} in the package")
    return out


MAGICS = [  # (magic bytes, how to decompress from there)
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
]


def extract_vmlinux(image: bytes, where: str = "vmlinuz") -> bytes:
    """The ELF vmlinux inside a bzImage: try each compressor at each offset of its magic."""
    for magic, kind in MAGICS:
        pos = image.find(magic)
        while pos >= 0:
            data = _decompress(kind, image[pos:])
            if data[:4] == b"\x7fELF":
                return data
            pos = image.find(magic, pos + 1)
    raise ConfigError(f"{where}: no xz, lz4 or zstd payload holding an ELF vmlinux")


def _decompress(kind: str, data: bytes) -> bytes:
    if kind == "xz":
        try:
            return lzma.LZMADecompressor().decompress(data)
        except lzma.LZMAError:
            return b""
    tool = {"lz4": ["lz4", "-dc"], "zstd": ["zstd", "-dcq"]}[kind]
    if not shutil.which(tool[0]):
        raise ToolNotFound(f"{tool[0]} not found: needed to unpack this kernel (apt-get install "
                           f"{'lz4' if kind == 'lz4' else 'zstd'})")
    run = subprocess.run(tool, check=False, input=data, capture_output=True)  # trailing bytes: an error, ignored
    return run.stdout
