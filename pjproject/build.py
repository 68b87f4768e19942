# SPDX-License-Identifier: GPL-2.0-or-later
"""Build careline's hardened pjsua2 from pinned pjproject source and install it.

    python pjproject/build.py --venv .venv        (what `make library` runs)

The PyPI wheel ``pjsua2-python`` bundles OpenSSL 1.0.2 (TLS 1.2 at most), has
no DTLS-SRTP and holds 4 calls. This builds pjproject 2.15.1 with
``pjproject/config_site.h`` and every ``pjproject/patches/*.patch`` against the
system's OpenSSL 3, Opus and ALSA, packs the SWIG binding as a wheel of the same
name (version ``2.15.1.post1+careline.<key>``, so the project's pin still holds)
and installs it into the venv.

The source is a tarball checked by sha256, taken from the first of:
``$PJPROJECT_TARBALL``; ``../shared/vendor/`` beside the checkout; the cache;
the upstream release download (saved to the cache). Built wheels are cached
under ``$CARELINE_CACHE`` (default ``~/.cache/careline``) by a key of
everything that goes into them, so a second run installs in seconds.

System packages the build needs (Debian): build-essential swig libssl-dev
libasound2-dev libopus-dev uuid-dev pkg-config, and the Python headers.
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
VERSION = "2.15.1"
SHA256 = "f55f97a5500117384bafd66d7dc02bbadcad023df0e4f375a90bdac50ce847c3"
"""Of the *uncompressed* tar of ``git archive --prefix=pjproject-2.15.1/ 2.15.1`` (tag commit
7de6e686fee1642f5443a3f39f0e5ad5e478a117): the same whatever gzip compressed it, so a
vendored tarball, a local ``git archive | gzip`` and GitHub's release archive all match."""
TARBALL = f"pjproject-{VERSION}.tar.gz"
UPSTREAM = f"https://github.com/pjsip/pjproject/archive/refs/tags/{VERSION}.tar.gz"
WHEEL_BASE_VERSION = "2.15.1.post1"
"""The PyPI wheel's version: ours is it plus a local label, which its pin accepts."""
CONFIGURE = [
    "--disable-shared",
    "--disable-video",
    "--disable-libwebrtc",
    "--disable-libyuv",
    # Optional libraries configure would pick up if a machine happens to have them:
    # off, so a cached wheel never depends on one another machine lacks.
    "--disable-upnp",
    "--disable-sdl",
    "--disable-ffmpeg",
    "--disable-v4l2",
    "--disable-openh264",
    "--disable-vpx",
    "--disable-opencore-amr",
    "--disable-silk",
    "--disable-bcg729",
    "--disable-lyra",
]
LICENSES = {
    "COPYING": "COPYING",
    "third_party/srtp/LICENSE": "srtp-LICENSE",
    "third_party/speex/COPYING": "speex-COPYING",
    "third_party/gsm/COPYRIGHT": "gsm-COPYRIGHT",
    "third_party/resample/COPYING": "resample-COPYING",
}
"""pjproject's licence and those of the libraries compiled into the binding (source path ->
name in the wheel's ``.dist-info/licenses/``): a binary distribution must carry them. iLBC
and G.722.1 carry their notices in their source headers (THIRD_PARTY_NOTICES.md)."""
CFLAGS = "-fPIC -O2"
DEBS = "build-essential swig libssl-dev libasound2-dev libopus-dev uuid-dev pkg-config"
TOOLS = ("cc", "c++", "make", "swig", "patch", "pkg-config")
PKG_CONFIG = ("openssl", "opus", "alsa", "uuid")


class BuildError(RuntimeError):
    """The build cannot go on; the message says what to do."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, required=True, help="virtualenv to install into")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel jobs")
    parser.add_argument("--force", action="store_true", help="build even if a wheel is cached")
    parser.add_argument("--no-install", action="store_true", help="only build (and cache)")
    args = parser.parse_args(argv)
    try:
        wheel = build(args.venv, jobs=args.jobs, force=args.force)
        if not args.no_install:
            install(args.venv, wheel, force=args.force)
    except BuildError as exc:
        print(f"pjproject/build.py: {exc}", file=sys.stderr)
        return 1
    return 0


def cache_dir() -> Path:
    """Where tarballs, logs and built wheels are kept between runs."""
    root = os.environ.get("CARELINE_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "careline"


def inputs() -> list[Path]:
    """Every file whose content goes into the build, this script included."""
    return [Path(__file__).resolve(), HERE / "config_site.h", *patches()]


def patches() -> list[Path]:
    """careline's patches, applied in name order."""
    return sorted((HERE / "patches").glob("*.patch"))


def build_key(python: str) -> str:
    """A short digest of the source, the settings and the target Python."""
    digest = hashlib.sha256(f"{SHA256}\0{python}".encode())
    for path in inputs():
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def venv_python(venv: Path) -> Path:
    """The venv's interpreter (must exist)."""
    python = venv.absolute() / "bin" / "python"  # absolute: make runs in the source tree
    if not python.exists():
        raise BuildError(f"no virtualenv at {venv} (run make first, or pass --venv)")
    return python


def python_facts(python: Path) -> dict[str, str]:
    """The venv interpreter's tag, include dir and extension suffix."""
    code = (
        "import sys, sysconfig; v = sys.version_info;"
        "print(f'cp{v[0]}{v[1]}'); print(sysconfig.get_paths()['include']);"
        "print(sysconfig.get_config_var('EXT_SUFFIX')); print(sysconfig.get_platform())"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    tag, include, suffix, platform = out.stdout.split("\n")[:4]
    return {"tag": tag, "include": include, "suffix": suffix, "platform": platform}


def build(venv: Path, *, jobs: int, force: bool) -> Path:
    """The hardened wheel for the venv's Python: cached, or built now."""
    python = venv_python(venv)
    facts = python_facts(python)
    key = build_key(facts["tag"])
    platform = facts["platform"].replace("-", "_").replace(".", "_")
    version = f"{WHEEL_BASE_VERSION}+careline.{key}"
    name = f"pjsua2_python-{version}-{facts['tag']}-{facts['tag']}-{platform}.whl"
    wheels = cache_dir() / "wheels"
    wheel = wheels / name
    if wheel.exists() and not force:
        print(f"hardened pjsua2: cached build {key} ({wheel})")
        return wheel
    check_prerequisites(facts)
    ensure_setuptools(python)
    tarball = source_tarball()
    work = cache_dir() / "build"
    work.mkdir(parents=True, exist_ok=True)
    log_path = cache_dir() / f"build-{key}.log"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=work) as tmp, log_path.open("w") as log:
        src = unpack(tarball, Path(tmp))
        configure_and_make(src, python, jobs, log, log_path)
        binding = src / "pjsip-apps" / "src" / "swig" / "python" / "build"
        built = {p.name: p for p in binding.glob("lib*/*") if p.suffix in (".py", ".so")}
        if "pjsua2.py" not in built or not any(n.startswith("_pjsua2") for n in built):
            raise BuildError(f"the binding was not built; see {log_path}")
        seconds = time.monotonic() - started
        build_facts: dict[str, object] = {
            "pjproject": VERSION,
            "key": key,
            "openssl": pkg_config_version("openssl"),
            "opus": pkg_config_version("opus"),
            "config_site": (HERE / "config_site.h").read_text(),
            "patches": [p.name for p in patches()],
            "configure": " ".join(CONFIGURE),
            "build_seconds": round(seconds),
            "dtls": config_site_defines().get("PJMEDIA_SRTP_HAS_DTLS") == "1",
            "libcrypto": linked_libcrypto(built),
            "sound": "alsa",
        }
        wheels.mkdir(parents=True, exist_ok=True)
        partial = wheel.with_suffix(".partial")
        licenses = {name: (src / source).read_bytes() for source, name in LICENSES.items()}
        write_wheel(partial, version, built, build_facts, licenses)
        partial.replace(wheel)  # a killed build never leaves a half wheel behind
    print(f"hardened pjsua2: built in {seconds:.0f} s ({wheel})")
    return wheel


def config_site_defines() -> dict[str, str]:
    """``#define NAME VALUE`` lines of config_site.h."""
    defines = {}
    for line in (HERE / "config_site.h").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#define":
            defines[parts[1]] = parts[2]
    return defines


def linked_libcrypto(built: dict[str, Path]) -> str:
    """The libcrypto the binding links (so the engine can ask that one its version)."""
    module = next(path for name, path in built.items() if name.startswith("_pjsua2"))
    out = subprocess.run(["ldd", str(module)], capture_output=True, text=True, check=False)
    for line in out.stdout.splitlines():
        name, _, where = line.strip().partition(" => ")
        if name.startswith("libcrypto"):
            return where.split(" (")[0].strip() or name
    return ""


def check_prerequisites(facts: dict[str, str]) -> None:
    """Every tool, library and header the build needs, named if missing."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    for package in PKG_CONFIG:
        if shutil.which("pkg-config") and pkg_config_version(package) is None:
            missing.append(f"{package} (pkg-config)")
    if not (Path(facts["include"]) / "Python.h").exists():
        missing.append(f"Python.h in {facts['include']} (the Python development headers)")
    if missing:
        raise BuildError(
            "cannot build pjsua2, missing: "
            + ", ".join(missing)
            + f"\n  on Debian/Ubuntu: sudo apt-get install {DEBS} python3-dev"
        )


def ensure_setuptools(python: Path) -> None:
    """The binding's setup.py needs setuptools, which a Python 3.12 venv does not have."""
    has = subprocess.run([str(python), "-c", "import setuptools"], capture_output=True)
    if has.returncode != 0:
        print("hardened pjsua2: installing setuptools into the venv (the binding's setup.py)")
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "setuptools"], check=True)


def pkg_config_version(package: str) -> str | None:
    """The version pkg-config knows for ``package``, or None."""
    out = subprocess.run(["pkg-config", "--modversion", package], capture_output=True, text=True)
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def source_tarball() -> Path:
    """The pinned source, found or downloaded, its sha256 checked."""
    env = os.environ.get("PJPROJECT_TARBALL")
    candidates = [Path(env)] if env else []
    repo = HERE.parent
    candidates += [repo.parent / "shared" / "vendor" / TARBALL, cache_dir() / TARBALL]
    if env and not candidates[0].exists():
        raise BuildError(f"PJPROJECT_TARBALL={env}: no such file")
    for path in candidates:
        if path.exists():
            verify(path)
            print(f"hardened pjsua2: source {path} (sha256 ok)")
            return path
    return download(cache_dir() / TARBALL)


def verify(path: Path) -> None:
    """Stop unless ``path`` is the pinned source (its tar stream, however compressed)."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError) as exc:
        raise BuildError(f"{path} is not a gzip-compressed tarball ({exc})") from None
    if digest.hexdigest() != SHA256:
        raise BuildError(
            f"{path} is not pjproject {VERSION} as pinned:\n"
            f"  sha256 of its tar {digest.hexdigest()}\n  wanted {SHA256}\n"
            f"  make it with: git clone https://github.com/pjsip/pjproject && cd pjproject && "
            f"git archive --prefix=pjproject-{VERSION}/ {VERSION} | gzip > {TARBALL}\n"
            "  and point PJPROJECT_TARBALL at it"
        )


def download(target: Path) -> Path:
    """Fetch the upstream release tarball into the cache, then check it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    print(f"hardened pjsua2: downloading {UPSTREAM}")
    try:
        with urllib.request.urlopen(UPSTREAM, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BuildError(
            f"cannot download the pjproject source ({exc}); "
            f"put {TARBALL} somewhere and set PJPROJECT_TARBALL to it"
        ) from None
    try:
        verify(partial)
    except BuildError:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


def unpack(tarball: Path, into: Path) -> Path:
    """Unpack, patch and configure-site the source tree; return its root."""
    with tarfile.open(tarball) as tar:
        if hasattr(tarfile, "data_filter"):  # 3.11.4+: refuse links and paths out of the tree
            tar.extractall(into, filter="data")
        else:  # the tarball's sha256 was checked: it is the pinned upstream source
            tar.extractall(into)  # noqa: S202
    src = into / f"pjproject-{VERSION}"
    for patch in patches():
        result = subprocess.run(
            ["patch", "-p1", "--forward", "--batch", "-i", str(patch)],
            cwd=src,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BuildError(f"patch {patch.name} does not apply:\n{result.stdout}{result.stderr}")
    shutil.copy(HERE / "config_site.h", src / "pjlib" / "include" / "pj" / "config_site.h")
    return src


def configure_and_make(src: Path, python: Path, jobs: int, log: IO[str], log_path: Path) -> None:
    """configure, make the libraries, make the SWIG binding; output to ``log``."""
    env = dict(os.environ, CFLAGS=CFLAGS, CXXFLAGS=CFLAGS)
    swig = src / "pjsip-apps" / "src" / "swig" / "python"
    steps = [
        ("configuring", ["./configure", *CONFIGURE], src),
        ("computing dependencies", ["make", "dep"], src),
        ("compiling the libraries (about a minute on 2 cores)", ["make", f"-j{jobs}", "lib"], src),
        (
            "building the Python binding (about a minute: one large file)",
            ["make", f"PYTHON_EXE={python}"],
            swig,
        ),
    ]
    for number, (what, command, cwd) in enumerate(steps, 1):
        print(f"hardened pjsua2: [{number}/{len(steps)}] {what}", flush=True)
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        result = subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-25:]
            raise BuildError(f"{what} failed; last lines of {log_path}:\n" + "\n".join(tail))


INIT = '''"""pjsua2 built by careline from pinned pjproject source (see pjproject/build.py)."""

from ._careline_build import BUILD
from .pjsua2 import *  # noqa: F403

__version__ = "{version}"  # the PyPI wheel's, which this one stands in for
'''


def write_wheel(
    path: Path,
    version: str,
    built: dict[str, Path],
    facts: dict[str, object],
    licenses: dict[str, bytes] | None = None,
) -> None:
    """Pack the binding as a wheel named like the PyPI one, with the build's facts and the
    licence texts (``licenses``: file name -> text) in ``.dist-info/licenses/``."""
    tag = path.name.split("-")[2]
    platform = path.name.split("-")[4].split(".")[0]
    dist = f"pjsua2_python-{version}.dist-info"
    files: dict[str, bytes] = {
        "pjsua2/__init__.py": INIT.format(version=WHEEL_BASE_VERSION).encode(),
        "pjsua2/_careline_build.py": f"BUILD = {facts!r}\n".encode(),
    }
    for name, source in built.items():
        files[f"pjsua2/{name}"] = source.read_bytes()
    licenses = licenses or {}
    for name, text in licenses.items():
        files[f"{dist}/licenses/{name}"] = text
    files[f"{dist}/METADATA"] = (
        "Metadata-Version: 2.4\nName: pjsua2-python\n"
        f"Version: {version}\nSummary: pjsua2 {VERSION} built by careline (hardened)\n"
        "License-Expression: GPL-2.0-or-later\n"
        + "".join(f"License-File: {name}\n" for name in licenses)
    ).encode()
    files[f"{dist}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: careline pjproject/build.py\nRoot-Is-Purelib: false\n"
        f"Tag: {tag}-{tag}-{platform}\n"
    ).encode()
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([name, f"sha256={digest}", len(data)])
    writer.writerow([f"{dist}/RECORD", "", ""])
    files[f"{dist}/RECORD"] = record.getvalue().encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)


def install(venv: Path, wheel: Path, *, force: bool = False) -> None:
    """Replace whatever pjsua2 the venv has with ``wheel``, then check it imports."""
    python = str(venv_python(venv))
    key = wheel.name.split("+careline.")[1].split("-")[0]
    asked = "import pjsua2; print(getattr(pjsua2, 'BUILD', {}).get('key', ''))"
    current = subprocess.run([python, "-c", asked], capture_output=True, text=True)
    if current.returncode == 0 and current.stdout.strip() == key and not force:
        print(f"hardened pjsua2: build {key} already installed in {venv}")
        return
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", str(wheel)],
        check=True,
    )
    check = "import pjsua2; b = pjsua2.BUILD; print(b['pjproject'], 'OpenSSL', b['openssl'])"
    out = subprocess.run([python, "-c", check], capture_output=True, text=True)
    if out.returncode != 0:
        raise BuildError(f"the installed pjsua2 does not import:\n{out.stderr}")
    print(f"hardened pjsua2: installed into {venv} (pjsua2 {out.stdout.strip()})")


if __name__ == "__main__":
    sys.exit(main())
