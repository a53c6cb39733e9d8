"""The CREMA-D downloader against a real HTTP server on 127.0.0.1 (no network).

The server mimics the dataset's Git LFS layout: ``/pointer/AudioWAV/<name>.wav`` returns the LFS
pointer text, ``/media/AudioWAV/<name>.wav`` the content (with HTTP Range support), plus the
metadata CSVs. Faults (HTTP 500, a connection dropped mid-body) are injected per path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from conftest import REPO, run_snakemake, shared_path
from speech_emotion.data.download import DownloadError, Settings, download_cremad, parse_pointer, read_names

NAMES = ["1001_DFA_ANG_XX", "1001_DFA_HAP_XX", "1002_IEO_SAD_HI", "1002_IEO_NEU_XX"]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args: object) -> None:  # keep pytest output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        rng = self.headers.get("Range")
        with srv.lock:
            srv.log.append((self.path, rng))
            faults = srv.faults.get(self.path)
            fault = faults.pop(0) if faults else None
        if fault == "500":
            self.send_error(500, "injected failure")
            return
        if fault == "429":
            self.send_response(429)
            self.send_header("Retry-After", "7")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = srv.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "drop":  # promise the whole body, send half, hang up
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.lock = threading.Lock()
        self.log: list[tuple[str, str | None]] = []
        self.faults: dict[str, list[str]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def requests_for(self, prefix: str) -> list[tuple[str, str | None]]:
        return [entry for entry in self.log if entry[0].startswith(prefix)]


def _pointer(data: bytes) -> str:
    return (
        "version https://git-lfs.github.com/spec/v1\n"
        f"oid sha256:{hashlib.sha256(data).hexdigest()}\nsize {len(data)}\n"
    )


def build_site(root: Path, names: list[str]) -> dict[str, bytes]:
    """Pointers, media and CSVs of a tiny CREMA-D on disk; returns the true content by name."""
    rng = np.random.default_rng(0)
    contents = {}
    for name in names:
        buffer = io.BytesIO()
        sf.write(buffer, (0.1 * rng.standard_normal(4000)).astype("float32"), 16000, format="WAV", subtype="PCM_16")
        contents[name] = buffer.getvalue()
        for kind, text in (("media", contents[name]), ("pointer", _pointer(contents[name]).encode())):
            target = root / kind / "AudioWAV" / f"{name}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text)
    rows = "".join(f'{i},"{name}"\n' for i, name in enumerate(names, 1))
    (root / "pointer" / "SentenceFilenames.csv").write_text(f'"Stimulus_Number","Filename"\n{rows}')
    (root / "pointer" / "VideoDemographics.csv").write_text(
        '"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Male","Caucasian","Not Hispanic"\n'
        '1002,21,"Female","Caucasian","Not Hispanic"\n'
    )
    (root / "pointer" / "processedResults").mkdir()
    (root / "pointer" / "processedResults" / "summaryTable.csv").write_text(
        '"","FileName","VoiceVote","VoiceLevel"\n'
        + "".join(f'"{i}","{name}","A","60"\n' for i, name in enumerate(names, 1))
    )
    return contents


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    contents = build_site(root, NAMES)
    server = _Server(root)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, contents
    server.shutdown()
    server.server_close()


class _Run:
    """download_cremad into tmp_path/out with a recorded (not slept) backoff."""

    def __init__(self, tmp_path: Path, server: _Server, retries: int = 3) -> None:
        self.out = tmp_path / "out"
        self.store = tmp_path / "out" / ".download"
        self.settings = Settings(
            pointer_url=f"{server.url}/pointer", media_url=f"{server.url}/media",
            retries=retries, timeout_s=10, jobs=3, backoff_s=0.5,
        )
        self.sleeps: list[float] = []

    def __call__(self, names: list[str] | None = None):
        return download_cremad(
            self.out / "AudioWAV", self.out / "VideoDemographics.csv", self.out / "summaryTable.csv",
            self.store, self.settings, names=names, sleep=self.sleeps.append,
        )


def _assert_complete(run: _Run, contents: dict[str, bytes]) -> None:
    files = sorted(p.name for p in (run.out / "AudioWAV").iterdir())
    assert files == sorted(f"{name}.wav" for name in contents)
    for name, data in contents.items():
        assert (run.out / "AudioWAV" / f"{name}.wav").read_bytes() == data
    assert "ActorID" in (run.out / "VideoDemographics.csv").read_text()
    assert "VoiceVote" in (run.out / "summaryTable.csv").read_text()


def test_parse_pointer():
    data = b"RIFF....WAVE"
    pointer = parse_pointer(_pointer(data))
    assert pointer.sha256 == hashlib.sha256(data).hexdigest() and pointer.size == len(data)
    with pytest.raises(ValueError, match="not a Git LFS pointer"):
        parse_pointer("RIFF\x00\x00WAVEfmt ")


def test_read_names_of_the_official_list():
    """The real SentenceFilenames.csv yields exactly the 7,442 names that have LFS pointers."""
    meta = shared_path("data", "cremad-meta")
    names = read_names((meta / "SentenceFilenames.csv").read_text(encoding="utf-8"))
    lfs = (meta / "AudioWAV-lfs.tsv").read_text().splitlines()[1:]
    assert len(names) == 7442
    assert names == sorted(line.split("\t")[0].removesuffix(".wav") for line in lfs)


def test_all_good(tmp_path, site):
    server, contents = site
    run = _Run(tmp_path, server)
    stats = run()
    _assert_complete(run, contents)
    assert stats.downloaded == len(NAMES) and stats.skipped == 0 and stats.retries == 0
    assert not list(run.out.parent.rglob("*.part")) and not list(run.out.glob(".tmp-*"))


def test_fails_twice_then_succeeds_and_resumes(tmp_path, site):
    """HTTP 500, then a connection dropped half-way, then success: the third try uses Range."""
    server, contents = site
    path = f"/media/AudioWAV/{NAMES[0]}.wav"
    server.faults[path] = ["500", "drop"]
    run = _Run(tmp_path, server, retries=2)
    stats = run()
    _assert_complete(run, contents)
    hits = server.requests_for(path)
    half = len(contents[NAMES[0]]) // 2
    assert hits == [(path, None), (path, None), (path, f"bytes={half}-")]
    assert stats.retries == 2 and stats.resumed == 1
    assert len(run.sleeps) == 2 and run.sleeps[1] > run.sleeps[0] * 0.9  # exponential backoff


def test_rate_limit_honours_retry_after(tmp_path, site):
    server, contents = site
    path = f"/pointer/AudioWAV/{NAMES[1]}.wav"
    server.faults[path] = ["429"]
    run = _Run(tmp_path, server)
    run()
    _assert_complete(run, contents)
    assert run.sleeps == [7.0] and len(server.requests_for(path)) == 2


def test_gives_up_after_retries_and_names_the_file(tmp_path, site):
    server, _ = site
    path = f"/media/AudioWAV/{NAMES[1]}.wav"
    server.faults[path] = ["500"] * 10
    run = _Run(tmp_path, server, retries=2)
    with pytest.raises(DownloadError) as err:
        run()
    assert NAMES[1] in str(err.value) and "dataset.source" in str(err.value)
    assert len(server.requests_for(path)) == 3
    assert not (run.out / "AudioWAV").exists()  # never a partial corpus


def test_wrong_checksum_fails_by_name(tmp_path, site):
    server, contents = site
    bad = server.root / "media" / "AudioWAV" / f"{NAMES[2]}.wav"
    data = bytearray(bad.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    bad.write_bytes(bytes(data))
    run = _Run(tmp_path, server, retries=1)
    with pytest.raises(DownloadError) as err:
        run()
    message = str(err.value)
    assert f"{NAMES[2]}: " in message and "SHA-256" in message and "1 of 4 files" in message
    assert "dataset.source: /path/to/AudioWAV" in message
    assert not (run.out / "AudioWAV").exists()
    assert not (run.store / "AudioWAV" / f"{NAMES[2]}.wav").exists()
    assert not list(run.out.rglob(f"{NAMES[2]}.wav*"))
    assert not (run.out / "VideoDemographics.csv").exists()
    # the good files were kept in the store: after the fix only the bad one is fetched
    bad.write_bytes(contents[NAMES[2]])
    server.log.clear()
    stats = run()
    _assert_complete(run, contents)
    assert stats.downloaded == 1 and stats.skipped == 3
    assert [p for p, _ in server.requests_for("/media")] == [f"/media/AudioWAV/{NAMES[2]}.wav"]


def test_resume_partial_file_with_range(tmp_path, site):
    server, contents = site
    run = _Run(tmp_path, server)
    name = NAMES[3]
    part = run.store / "AudioWAV" / f"{name}.wav.part"
    part.parent.mkdir(parents=True)
    cut = len(contents[name]) // 3
    part.write_bytes(contents[name][:cut])
    stats = run()
    _assert_complete(run, contents)
    path = f"/media/AudioWAV/{name}.wav"
    assert server.requests_for(path) == [(path, f"bytes={cut}-")]
    assert stats.resumed == 1
    assert hashlib.sha256((run.out / "AudioWAV" / f"{name}.wav").read_bytes()).hexdigest() == \
        hashlib.sha256(contents[name]).hexdigest()


def test_corrupt_partial_file_is_discarded(tmp_path, site):
    """A partial file with wrong bytes fails the checksum once, then downloads from scratch."""
    server, contents = site
    run = _Run(tmp_path, server)
    name = NAMES[0]
    part = run.store / "AudioWAV" / f"{name}.wav.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * 100)
    run()
    _assert_complete(run, contents)
    path = f"/media/AudioWAV/{name}.wav"
    assert server.requests_for(path) == [(path, "bytes=100-"), (path, None)]


def test_second_run_downloads_nothing(tmp_path, site):
    server, contents = site
    run = _Run(tmp_path, server)
    run()
    server.log.clear()
    shutil.rmtree(run.out / "AudioWAV")  # what Snakemake does before rerunning the job
    (run.out / "VideoDemographics.csv").unlink()
    stats = run()
    _assert_complete(run, contents)
    assert server.log == []
    assert stats.skipped == len(NAMES) and stats.downloaded == 0


def test_tampered_store_file_is_fetched_again(tmp_path, site):
    server, contents = site
    run = _Run(tmp_path, server)
    run()
    stored = run.store / "AudioWAV" / f"{NAMES[1]}.wav"
    stored.unlink()  # the output is a hard link: write a fresh file, not through the link
    stored.write_bytes(b"garbage")
    server.log.clear()
    stats = run()
    _assert_complete(run, contents)
    assert stats.downloaded == 1 and [p for p, _ in server.log] == [f"/media/AudioWAV/{NAMES[1]}.wav"]


def test_missing_file_404_named(tmp_path, site):
    server, _ = site
    (server.root / "pointer" / "AudioWAV" / f"{NAMES[0]}.wav").unlink()
    (server.root / "media" / "AudioWAV" / f"{NAMES[1]}.wav").unlink()
    run = _Run(tmp_path, server)
    with pytest.raises(DownloadError) as err:
        run()
    message = str(err.value)
    assert f"{NAMES[0]}: HTTP 404" in message and f"{NAMES[1]}: HTTP 404" in message
    assert "2 of 4 files" in message
    assert len(server.requests_for(f"/pointer/AudioWAV/{NAMES[0]}.wav")) == 1  # 404 is not retried
    assert not (run.out / "AudioWAV").exists()


def test_stops_early_after_max_failures(tmp_path, site):
    """An outage must not cost retries x backoff for every one of 7,442 files."""
    server, _ = site
    shutil.rmtree(server.root / "media")
    run = _Run(tmp_path, server, retries=0)
    run.settings = dataclasses.replace(run.settings, jobs=1, max_failures=2)
    with pytest.raises(DownloadError, match=r"failed for [23] of 4 files \(stopped early: [12] files not tried\)"):
        run()
    assert len(server.requests_for("/media")) <= 3
    assert not (run.out / "AudioWAV").exists()


def test_missing_metadata_is_named(tmp_path, site):
    server, _ = site
    (server.root / "pointer" / "processedResults" / "summaryTable.csv").unlink()
    run = _Run(tmp_path, server)
    with pytest.raises(DownloadError, match="processedResults/summaryTable.csv"):
        run()
    assert not (run.out / "AudioWAV").exists()


@pytest.mark.slow
def test_checkpoint_through_snakemake(tmp_path, site):
    """`checkpoint download_cremad`: a failure stops the run naming the file; the fixed rerun
    fetches only that file (the store outlives the outputs Snakemake deletes); a forced rerun
    makes no request at all."""
    server, contents = site
    work = tmp_path / "work"
    work.mkdir()
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["dataset"]["download"].update(
        pointer_url=f"{server.url}/pointer", media_url=f"{server.url}/media", jobs=2, retries=1, timeout_s=10,
    )
    cfg = work / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    args = ("resources/cremad/AudioWAV", "resources/cremad/summaryTable.csv", "--cores", "1", "--configfile", str(cfg))
    env = {"PYTHONDONTWRITEBYTECODE": "1"}
    out = work / "resources" / "cremad"
    missing = server.root / "media" / "AudioWAV" / f"{NAMES[3]}.wav"
    missing.rename(missing.with_suffix(".hidden"))
    server.faults[f"/media/AudioWAV/{NAMES[0]}.wav"] = ["drop"]

    failed = run_snakemake(work, *args, env=env, timeout=300)
    assert failed.returncode != 0
    assert f"{NAMES[3]}: HTTP 404" in failed.stderr and "dataset.source: /path/to/AudioWAV" in failed.stderr
    assert not (out / "AudioWAV").exists() and not (out / "summaryTable.csv").exists()
    assert f"{NAMES[3]}.wav failed" in (work / "results" / "logs" / "download_cremad.log").read_text()

    missing.with_suffix(".hidden").rename(missing)
    server.log.clear()
    done = run_snakemake(work, *args, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p for p, _ in server.log] == [f"/media/AudioWAV/{NAMES[3]}.wav"]
    assert sorted(p.name for p in (out / "AudioWAV").glob("*.wav")) == sorted(f"{n}.wav" for n in NAMES)
    for name, data in contents.items():
        assert (out / "AudioWAV" / f"{name}.wav").read_bytes() == data
    assert "VoiceVote" in (out / "summaryTable.csv").read_text()
    assert "ActorID" in (out / "VideoDemographics.csv").read_text()

    server.log.clear()
    forced = run_snakemake(work, *args, "--forcerun", "download_cremad", env=env, timeout=300)
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert server.log == []
    assert len(list((out / "AudioWAV").glob("*.wav"))) == len(NAMES)
