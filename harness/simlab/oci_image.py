"""Build the real node's container images as OCI archives, from Debian packages, without a registry.

No registry is reachable from the lab, so the two images its real node needs are made here and
imported into containerd (``ctr images import``):

- ``harness.local/pause``: the pod sandbox image (containerd's pinned sandbox image), holding only
  ``/pause`` compiled from ``lab/images/pause.c``;
- ``harness.local/probe``: busybox-static and glibc (Debian's ``busybox-static`` and ``libc6``), so
  that shell probes run and an ``nvidia-smi`` injected from the host driver (glibc-linked) runs too.

Archives are deterministic (sorted entries, zero mtimes, root owner): the same inputs give the same
digest, so the tag carries the content hash and a re-import is needed only when an input changed.

    python -m harness.simlab.oci_image --out DIR [--cache DIR] [--source-dir lab/images]

prints one JSON object: ``{"pause": {"ref", "archive", "digest", "written"}, "probe": {...}}``
(``written``: "yes" when the archive was (re)written, "no" when it was there already).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY = "harness.local"
PROBE_PACKAGES = ("busybox-static", "libc6")
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


class ImageError(Exception):
    """An image could not be built (a tool or a package is missing): the message says what to do."""


@dataclass
class Layer:
    """A filesystem layer: regular files (path in the image -> (content, mode)), symlinks, directories."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)

    def add_tree(self, root: Path, only: Iterable[str] = ("",)) -> None:
        """Copy the files, links and directories under ``root/<prefix>`` for each prefix into the layer."""
        for prefix in only:
            base = root / prefix
            if not base.exists() and not base.is_symlink():
                continue
            for p in [base, *sorted(base.rglob("*"))] if base.is_dir() else [base]:
                rel = p.relative_to(root).as_posix()
                if rel in ("", "."):
                    continue
                if p.is_symlink():
                    self.symlinks[rel] = os.readlink(p)
                elif p.is_dir():
                    self.dirs.add(rel)
                elif p.is_file():
                    self.files[rel] = (p.read_bytes(), p.stat().st_mode & 0o7777)

    def tar(self) -> bytes:
        """The layer as an uncompressed, deterministic tar (parents before children)."""
        entries: dict[str, tarfile.TarInfo] = {}
        payload: dict[str, bytes] = {}

        def parents(path: str) -> None:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d and d not in entries:
                    entries[d] = _info(d, tarfile.DIRTYPE, 0o755)

        for d in sorted(self.dirs):
            parents(d)
            entries[d] = _info(d, tarfile.DIRTYPE, 0o755)
        for path, target in sorted(self.symlinks.items()):
            parents(path)
            info = _info(path, tarfile.SYMTYPE, 0o777)
            info.linkname = target
            entries[path] = info
        for path, (data, mode) in sorted(self.files.items()):
            parents(path)
            info = _info(path, tarfile.REGTYPE, mode)
            info.size = len(data)
            entries[path] = info
            payload[path] = data
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for path in sorted(entries):
                info = entries[path]
                t.addfile(info, io.BytesIO(payload[path]) if path in payload else None)
        return buf.getvalue()


def _info(path: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def oci_archive(name: str, layer: Layer, config: dict[str, object]) -> tuple[bytes, str, str]:
    """An OCI image layout as a tar: returns (archive bytes, the image ref, the manifest digest).

    The tag is the first 12 hex digits of the manifest digest, so a changed image gets a new ref.
    """
    raw = layer.tar()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    layer_digest, layer_blob = _blob(gzip.compress(raw, mtime=0))
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": f"harness.simlab.oci_image {name}"}],
    }
    config_digest, config_blob = _blob(json.dumps(image_config, sort_keys=True).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config_blob)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": layer_digest, "size": len(layer_blob)}],
    }
    manifest_digest, manifest_blob = _blob(json.dumps(manifest, sort_keys=True).encode())
    ref = f"{REGISTRY}/{name}:{manifest_digest.split(':')[1][:12]}"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MANIFEST_TYPE,
            "digest": manifest_digest,
            "size": len(manifest_blob),
            "platform": {"architecture": "amd64", "os": "linux"},
            # containerd names the imported image after this annotation.
            "annotations": {"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]},
        }],
    }
    files = {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True).encode(),
    }
    for digest, blob in ((layer_digest, layer_blob), (config_digest, config_blob), (manifest_digest, manifest_blob)):
        files["blobs/sha256/" + digest.split(":")[1]] = blob
    out = Layer(files={k: (v, 0o644) for k, v in files.items()})
    return out.tar(), ref, manifest_digest


def pause_layer(source_dir: Path, work: Path) -> Layer:
    """``/pause``, compiled static from pause.c."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise ImageError("no C compiler to build the pause image: apt-get install gcc libc6-dev")
    binary = work / "pause"
    proc = subprocess.run([cc, "-Os", "-static", "-s", "-o", str(binary), str(source_dir / "pause.c")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageError(f"compiling {source_dir / 'pause.c'} failed (static glibc: apt-get install libc6-dev): "
                         f"{proc.stderr.strip()[-400:]}")
    return Layer(files={"pause": (binary.read_bytes(), 0o755)})


def fetch_debs(packages: Iterable[str], cache: Path) -> list[Path]:
    """Download the packages' .deb files (current candidates) into ``cache``; reuse what is there."""
    cache.mkdir(parents=True, exist_ok=True)
    debs: list[Path] = []
    for pkg in packages:
        found = sorted(cache.glob(f"{pkg}_*.deb"))
        if not found:
            proc = subprocess.run(["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True)
            found = sorted(cache.glob(f"{pkg}_*.deb"))
            if proc.returncode != 0 or not found:
                raise ImageError(f"cannot download the Debian package {pkg} (apt-get download {pkg}): "
                                 f"{proc.stderr.strip()[-400:] or 'no .deb written'}; run `apt-get update` first")
        debs.append(found[-1])
    return debs


def probe_layer(debs: Iterable[Path], work: Path) -> Layer:
    """busybox with a link per applet, and glibc's loader and libraries."""
    root = work / "probe-root"
    for deb in debs:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ImageError(f"cannot unpack {deb}: {proc.stderr.strip()}")
    busybox = root / "bin" / "busybox"
    if not busybox.is_file():
        raise ImageError(f"{busybox} missing: the busybox-static package did not unpack as expected")
    layer = Layer(dirs={"tmp", "proc", "sys", "dev", "etc", "root"})
    layer.add_tree(root, ["bin/busybox", "lib", "lib64", "etc/ld.so.conf.d"])
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            layer.symlinks.setdefault(f"bin/{applet}", "busybox")
    layer.files["etc/passwd"] = (b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n", 0o644)
    layer.files["etc/group"] = (b"root:x:0:\nnogroup:x:65534:\n", 0o644)
    return layer


def build(out: Path, cache: Path, source_dir: Path) -> dict[str, dict[str, str]]:
    """Write both archives under ``out`` (named after their ref) and return their refs and digests."""
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="harness-images-") as tmp:
        work = Path(tmp)
        images: dict[str, tuple[Layer, dict[str, object]]] = {
            "pause": (pause_layer(source_dir, work), {"Entrypoint": ["/pause"], "Env": [PATH_ENV]}),
            "probe": (probe_layer(fetch_debs(PROBE_PACKAGES, cache), work),
                      {"Entrypoint": ["/bin/sh"], "Env": [PATH_ENV], "WorkingDir": "/"}),
        }
        for name, (layer, config) in images.items():
            data, ref, digest = oci_archive(name, layer, config)
            archive = out / f"{name}-{ref.rsplit(':', 1)[1]}.tar"
            written = not archive.is_file() or archive.read_bytes() != data
            if written:
                partial = archive.with_suffix(".partial")
                partial.write_bytes(data)
                partial.replace(archive)
            result[name] = {"ref": ref, "archive": str(archive), "digest": digest, "written": "yes" if written else "no"}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.simlab.oci_image", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory for the OCI archives")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/harness/debs",
                        help="where downloaded .deb files are kept")
    parser.add_argument("--source-dir", type=Path, default=Path(__file__).resolve().parents[2] / "lab/images",
                        help="directory holding pause.c")
    args = parser.parse_args(argv)
    try:
        print(json.dumps(build(args.out, args.cache, args.source_dir), sort_keys=True))
    except ImageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
