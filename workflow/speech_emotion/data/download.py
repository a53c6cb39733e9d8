"""Download the official CREMA-D corpus from its public Git LFS storage.

The audio files of https://github.com/CheyneyComputerScience/CREMA-D live in Git LFS:
``<pointer_url>/AudioWAV/<name>.wav`` returns a small pointer text (``oid sha256:<hex>`` and
``size <n>``), the content itself is served from ``<media_url>/AudioWAV/<name>.wav``. The list of
clip names comes from ``<pointer_url>/SentenceFilenames.csv``.

Behaviour (see :func:`download_cremad`):

* files are fetched in parallel (``jobs`` threads), each with ``retries`` retries and exponential
  backoff; a retry resumes a partial file with an HTTP ``Range`` request;
* each file is checked against the size and SHA-256 of its LFS pointer before it is accepted;
* everything is kept in a *store* folder (verified files, ``*.part`` partial files, the pointers
  and the metadata CSVs), so an interrupted or failed run resumes where it stopped and a rerun
  makes no request at all. The store lies outside the output folder on purpose: Snakemake deletes
  the outputs of a failed or rerun job, the store survives;
* the output folder appears (atomically, as hard links into the store) only when every file
  verified: a missing or failed file is reported by name and no partial corpus is ever produced.

Pooch was considered: it verifies hashes and retries but cannot resume a partial file with
``Range`` and downloads one file at a time, so the transfer loop here uses ``requests`` directly.

One module of over 400 lines on purpose: the retry, resume, verification and publishing steps of
one download share their state (session, store, pointers) and are read together.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests
import urllib3
from requests.adapters import HTTPAdapter

from ..io.files import atomic_dir, atomic_path, write_text_atomic

log = logging.getLogger(__name__)

NAMES_FILE = "SentenceFilenames.csv"
DEMOGRAPHICS_FILE = "VideoDemographics.csv"
PERCEPTION_FILE = "processedResults/summaryTable.csv"
POINTERS_FILE = "pointers.tsv"
LOCAL_COPY_HINT = (
    "Download the corpus by other means (e.g. `git lfs clone "
    "https://github.com/CheyneyComputerScience/CREMA-D`) and pass a local copy instead: "
    "`dataset.source: /path/to/AudioWAV` in the config, or "
    "`--config dataset.source=/path/to/AudioWAV` (plus dataset.demographics and "
    "dataset.perception for VideoDemographics.csv and summaryTable.csv)."
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CHUNK = 1 << 16
_RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    """A download failed; the message names every file that failed and why."""


class _Permanent(Exception):
    """A failure that a retry cannot fix (404, not an LFS pointer)."""


class _ChecksumError(Exception):
    """Content does not match its pointer (retried from scratch)."""


class _Busy(requests.HTTPError):
    """A retryable HTTP status; ``retry_after`` is the server's Retry-After in seconds, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Pointer:
    """A Git LFS pointer: the SHA-256 and size in bytes of the real file."""

    sha256: str
    size: int


@dataclass(frozen=True)
class Settings:
    """Where and how to download."""

    pointer_url: str
    media_url: str
    retries: int = 5
    timeout_s: float = 60.0
    jobs: int = 8
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    max_failures: int = 50  # stop early (outage, rate limit) instead of trying every file


@dataclass
class Stats:
    """What a run did (for the log and for tests)."""

    total: int = 0
    skipped: int = 0
    downloaded: int = 0
    resumed: int = 0
    retries: int = 0
    bytes: int = 0


def parse_pointer(text: str) -> Pointer:
    """Parse a Git LFS pointer file (spec v1); raise ValueError when ``text`` is not one."""
    fields = dict(line.split(" ", 1) for line in text.strip().splitlines() if " " in line)
    if not fields.get("version", "").startswith("https://git-lfs.github.com/spec/"):
        raise ValueError("not a Git LFS pointer (no 'version https://git-lfs.github.com/spec/v1' line)")
    oid, size = fields.get("oid", ""), fields.get("size", "")
    match = re.fullmatch(r"sha256:([0-9a-f]{64})", oid.strip())
    if not match or not size.strip().isdigit():
        raise ValueError(f"malformed Git LFS pointer (oid={oid!r}, size={size!r})")
    return Pointer(match.group(1), int(size))


def file_sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, pointer: Pointer) -> str | None:
    """None when ``path`` matches ``pointer``, else the reason it does not."""
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != pointer.size:
        return f"size {size} bytes, expected {pointer.size}"
    digest = file_sha256(path)
    if digest != pointer.sha256:
        return f"SHA-256 {digest}, expected {pointer.sha256}"
    return None


def read_names(csv_text: str) -> list[str]:
    """Clip names from SentenceFilenames.csv (column ``Filename``, names without ``.wav``)."""
    rows = list(csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff"))))
    column = next((key for key in (rows[0] if rows else {}) if key and key.strip().lower() == "filename"), None)
    if column is None:
        raise DownloadError(f"{NAMES_FILE} has no 'Filename' column")
    names = [row[column].strip().removesuffix(".wav") for row in rows if row[column] and row[column].strip()]
    bad = [name for name in names if not _NAME.match(name)]
    if bad:
        raise DownloadError(f"{NAMES_FILE} holds unsafe file names: {bad[:5]}")
    return sorted(dict.fromkeys(names))


def _read_pointer_cache(path: Path) -> dict[str, Pointer]:
    if not path.is_file():
        return {}
    pointers = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        name, sha, size = line.split("\t")
        pointers[name] = Pointer(sha, int(size))
    return pointers


def _write_pointer_cache(path: Path, pointers: dict[str, Pointer]) -> None:
    lines = ["name\tsha256\tbytes"] + [f"{n}\t{p.sha256}\t{p.size}" for n, p in sorted(pointers.items())]
    write_text_atomic(path, "\n".join(lines) + "\n")


class _Client:
    """HTTP with retries, exponential backoff and Range resume (one shared session)."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(settings.jobs, 4), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "speech-emotion-workflow (CREMA-D downloader)"
        self.sleep = sleep
        self.stats = Stats()
        self._lock = threading.Lock()

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for key, value in deltas.items():
                setattr(self.stats, key, getattr(self.stats, key) + value)

    def _retrying(self, what: str, attempt_fn: Callable[[], object]) -> object:
        """Call ``attempt_fn`` until it succeeds, at most ``retries + 1`` times."""
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return attempt_fn()
            except _Permanent:
                raise
            except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, _ChecksumError) as exc:
                if attempt == attempts:
                    raise DownloadError(f"{exc} (gave up after {attempts} attempts)") from exc
                delay = min(self.settings.max_backoff_s, self.settings.backoff_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                if isinstance(exc, _Busy) and exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.settings.max_backoff_s))
                log.warning("%s: attempt %d/%d failed (%s); retrying in %.1f s", what, attempt, attempts, exc, delay)
                self._count(retries=1)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _get(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        timeout = self.settings.timeout_s
        response = self.session.get(url, headers=headers or {}, stream=True, timeout=(timeout, timeout))
        if response.status_code in _RETRY_STATUS:
            response.close()
            wait = response.headers.get("Retry-After", "")
            retry_after = float(wait) if wait.strip().isdigit() else None
            raise _Busy(f"HTTP {response.status_code} from {url}", retry_after)
        if response.status_code >= 400 and response.status_code != 416:
            response.close()
            raise _Permanent(f"HTTP {response.status_code} from {url}")
        return response

    def get_text(self, url: str) -> str:
        """A small text file, with retries."""

        def attempt() -> str:
            with self._get(url) as response:
                return response.content.decode("utf-8-sig")

        return self._retrying(url, attempt)  # type: ignore[return-value]

    def fetch_file(self, url: str, dest: Path, pointer: Pointer | None = None) -> None:
        """Download ``url`` to ``dest`` (atomically), resuming ``dest.part`` with Range.

        With a ``pointer`` the result must match its size and SHA-256; a mismatch discards the
        partial file and counts as a failed attempt.
        """
        part = dest.with_name(dest.name + ".part")

        def attempt() -> None:
            offset = part.stat().st_size if part.exists() else 0
            if pointer is not None and offset > pointer.size:
                part.unlink()
                offset = 0
            if pointer is None or offset < pointer.size:
                self._transfer(url, part, offset)
            if pointer is not None:
                problem = verify(part, pointer)
                if problem:
                    part.unlink(missing_ok=True)
                    raise _ChecksumError(f"checksum mismatch: {problem}")
            with open(part, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(part, dest)

        self._retrying(url, attempt)

    def _transfer(self, url: str, part: Path, offset: int) -> None:
        headers = {"Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        with self._get(url, headers) as response:
            if response.status_code == 416:  # our partial file is longer than the resource
                part.unlink(missing_ok=True)
                raise requests.HTTPError(f"HTTP 416 (range {offset}-) from {url}; restarting")
            mode = "wb"
            if offset and response.status_code == 206:
                start = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
                if not start or int(start.group(1)) != offset:
                    part.unlink(missing_ok=True)
                    raise requests.HTTPError(f"unexpected Content-Range {response.headers.get('Content-Range')!r}")
                mode = "ab"
                self._count(resumed=1)
                log.info("%s: resuming at byte %d", url, offset)
            expected = response.headers.get("Content-Length")
            written = 0
            try:
                # Raw reads (the request asks for identity encoding): a dropped connection keeps
                # every byte received so far, which the next attempt resumes from.
                with open(part, mode) as handle:
                    while chunk := response.raw.read(_CHUNK, decode_content=False):
                        handle.write(chunk)
                        written += len(chunk)
            finally:
                self._count(bytes=written)
            if expected is not None and written != int(expected):
                raise requests.ConnectionError(f"connection dropped after {written} of {expected} bytes")


def _url(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *(quote(part) for part in parts)])


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:
        shutil.copy2(src, dest)


def _publish_folder(files: Iterable[Path], dest: Path) -> None:
    """Link (or copy) ``files`` into ``dest``, all or nothing (:func:`speech_emotion.io.files.atomic_dir`)."""
    with atomic_dir(dest) as tmp:
        for src in files:
            _link_or_copy(src, tmp / src.name)


def _failure_message(failures: dict[str, str], total: int, untried: int) -> str:
    shown = sorted(failures.items())
    lines = [f"  {name}: {reason}" for name, reason in shown[:20]]
    if len(shown) > 20:
        lines.append(f"  ... and {len(shown) - 20} more (see the log)")
    stopped = f" (stopped early: {untried} files not tried)" if untried else ""
    return (
        f"CREMA-D download failed for {len(failures)} of {total} files{stopped}:\n" + "\n".join(lines) + "\n"
        "Nothing was written to the output folder (no partial corpus). Rerunning resumes where this "
        f"run stopped. {LOCAL_COPY_HINT}"
    )


def download_cremad(
    audio_dir: str | Path,
    demographics: str | Path,
    perception: str | Path,
    store: str | Path,
    settings: Settings,
    names: list[str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Stats:
    """Fetch CREMA-D into ``audio_dir`` (``<name>.wav``) plus the two metadata CSVs.

    ``store`` keeps verified files, partial files, pointers and CSVs between runs. ``names``
    restricts the clips (default: every name in SentenceFilenames.csv). Raises
    :class:`DownloadError` naming every failed file; then no output is written.
    """
    audio_dir, store = Path(audio_dir), Path(store)
    store_audio = store / "AudioWAV"
    store_audio.mkdir(parents=True, exist_ok=True)
    client = _Client(settings, sleep=sleep)

    def meta(relative: str) -> Path:
        """A metadata CSV, fetched once into the store."""
        path = store / Path(relative).name
        if not path.is_file():
            try:
                client.fetch_file(_url(settings.pointer_url, *relative.split("/")), path)
            except (DownloadError, _Permanent) as exc:
                raise DownloadError(f"CREMA-D download failed for {relative}: {exc}\n{LOCAL_COPY_HINT}") from None
            log.info("fetched %s", relative)
        return path

    if names is None:
        names = read_names(meta(NAMES_FILE).read_text(encoding="utf-8-sig"))
    meta_files = {demographics: meta(DEMOGRAPHICS_FILE), perception: meta(PERCEPTION_FILE)}
    client.stats.total = len(names)

    pointer_path = store / POINTERS_FILE
    pointers = _read_pointer_cache(pointer_path)
    pointers_lock = threading.Lock()
    failures: dict[str, str] = {}

    def one(name: str) -> None:
        dest = store_audio / f"{name}.wav"
        with pointers_lock:
            pointer = pointers.get(name)
        if pointer is None:
            text = client.get_text(_url(settings.pointer_url, "AudioWAV", f"{name}.wav"))
            try:
                pointer = parse_pointer(text)
            except ValueError as exc:
                raise _Permanent(f"pointer: {exc}") from None
            with pointers_lock:
                pointers[name] = pointer
        if dest.exists():
            problem = verify(dest, pointer)
            if problem is None:
                client._count(skipped=1)
                return
            log.warning("%s.wav in the store does not verify (%s); downloading again", name, problem)
            dest.unlink()
        client.fetch_file(_url(settings.media_url, "AudioWAV", f"{name}.wav"), dest, pointer)
        client._count(downloaded=1)

    started = time.monotonic()
    untried = 0
    with ThreadPoolExecutor(max_workers=settings.jobs) as pool:
        futures = {pool.submit(one, name): name for name in names}
        for done, future in enumerate(as_completed(futures), 1):
            if future.cancelled():
                untried += 1
                continue
            name = futures[future]
            try:
                future.result()
            except (DownloadError, _Permanent, requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                failures[name] = str(exc)
                log.error("%s.wav failed: %s", name, exc)
                if len(failures) == settings.max_failures:
                    log.error("%d files failed: stopping (the rest is not tried)", len(failures))
                    for pending in futures:
                        pending.cancel()
            if done % 250 == 0 or done == len(names):
                log.info("%d/%d files done (%d failed)", done, len(names), len(failures))
    _write_pointer_cache(pointer_path, pointers)
    stats = client.stats
    log.info(
        "%d files: %d already verified, %d downloaded (%d resumed), %d retries, %.1f MB in %.1f s",
        stats.total, stats.skipped, stats.downloaded, stats.resumed, stats.retries,
        stats.bytes / 1e6, time.monotonic() - started,
    )
    if failures:
        raise DownloadError(_failure_message(failures, len(names), untried))

    _publish_folder((store_audio / f"{name}.wav" for name in names), audio_dir)
    for dest, src in meta_files.items():
        with atomic_path(dest) as tmp:
            shutil.copyfile(src, tmp)
    return stats
