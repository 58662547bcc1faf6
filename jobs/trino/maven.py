"""Download the pinned `io.trino:trino-server` tarball from the Maven repository, verified.

Repository base URL, first match wins: env `FINLAKE_MAVEN_REPO`; a `<mirror>` of `central` (or
`*`) in `~/.m2/settings.xml`; the `central` repository of the installed Maven's super POM.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from jobs.trino.paths import TRINO_VERSION, TrinoPaths

log = logging.getLogger(__name__)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _central_from_maven_install() -> str | None:
    mvn = shutil.which("mvn")
    if not mvn:
        return None
    lib = Path(mvn).resolve().parent.parent / "lib"
    for jar in sorted(lib.glob("maven-model-builder*.jar")):
        with zipfile.ZipFile(jar) as archive:
            try:
                pom = archive.read("org/apache/maven/model/pom-4.0.0.xml")
            except KeyError:
                continue
        for repo in ET.fromstring(pom).iter():
            if _local(repo.tag) != "repository":
                continue
            fields = {_local(child.tag): (child.text or "").strip() for child in repo}
            if fields.get("id") == "central" and fields.get("url"):
                return fields["url"]
    return None


def _mirror_from_m2_settings() -> str | None:
    path = Path.home() / ".m2" / "settings.xml"
    if not path.exists():
        return None
    for mirror in ET.parse(path).getroot().iter():
        if _local(mirror.tag) != "mirror":
            continue
        fields = {_local(child.tag): (child.text or "").strip() for child in mirror}
        mirror_of = {m.strip() for m in fields.get("mirrorOf", "").split(",")}
        if fields.get("url") and {"central", "*"} & mirror_of:
            return fields["url"]
    return None


def maven_repo_url() -> str:
    """Base URL of the Maven repository (env, ~/.m2 mirror, or Maven's own default)."""
    url = (
        os.environ.get("FINLAKE_MAVEN_REPO")
        or _mirror_from_m2_settings()
        or _central_from_maven_install()
    )
    if not url:
        raise RuntimeError("no Maven repository known: set FINLAKE_MAVEN_REPO")
    return url.rstrip("/")


def artifact_url(version: str = TRINO_VERSION) -> str:
    """URL of the pinned `io.trino:trino-server` tarball."""
    name = f"trino-server-{version}.tar.gz"
    return f"{maven_repo_url()}/io/trino/trino-server/{version}/{name}"


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as response:
        body: bytes = response.read()
    return body.decode().strip()


def download_tarball(paths: TrinoPaths) -> Path:
    """Download the release tarball once and verify it against the published `.sha1`."""
    url = artifact_url(paths.version)
    sha_file = paths.tarball.with_name(paths.tarball.name + ".sha1")
    paths.downloads.mkdir(parents=True, exist_ok=True)
    if not sha_file.exists():
        sha_file.write_text(_fetch_text(url + ".sha1").split()[0] + "\n")
    expected = sha_file.read_text().split()[0].lower()
    if paths.tarball.exists() and _sha1(paths.tarball) == expected:
        return paths.tarball
    part = paths.tarball.with_suffix(f".part-{os.getpid()}")  # concurrent downloaders
    log.info("downloading trino-server", extra={"version": paths.version})
    with urllib.request.urlopen(url, timeout=120) as response, part.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)
    actual = _sha1(part)
    if actual != expected:
        part.unlink()
        raise RuntimeError(f"checksum mismatch for {url}: {actual} != {expected}")
    part.replace(paths.tarball)
    return paths.tarball
