"""The workflow on a real (one-node) SLURM cluster through snakemake-executor-plugin-slurm.

The module fixture installs Debian's slurm-wlm and munge when missing (root only), writes a
one-node slurm.conf for this host (2 CPUs, partitions `cpu` and `gpu` as in profiles/slurm, a `gpu`
GRES backed by /dev/null, no accounting), starts munged (if not running), slurmctld and slurmd,
and stops what it started at the end. The jobs run `srun` inside their allocation, and the plugin
drops SLURM_CONF from a job step's environment, so the config must live at /etc/slurm/slurm.conf;
the fixture writes it only when absent (or written by an earlier run of this test) and removes it
afterwards.

Runs use `--workflow-profile profiles/slurm` unchanged, plus `--profile tests/slurm_profile`
(squeue instead of sacct, no account) and, for the demo DAG, `--profile profiles/demo`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]  # one cluster: every test on one worker

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm"
DEMO_PROFILE = REPO / "profiles" / "demo"
TEST_PROFILE = REPO / "tests" / "slurm_profile"
ETC = Path("/etc/slurm")
MARK = "# written by speech-emotion tests/test_slurm.py"
BASE = Path("/tmp/speech-emotion-slurm")  # state, spool, logs and pid files of the test cluster
NODE = "setest1"
CTLD_PORT, SLURMD_PORT = 16817, 16818


def _run(cmd: list[str] | str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, text=True, capture_output=True, **kwargs)


def _install_slurm() -> None:
    if shutil.which("slurmctld") and shutil.which("slurmd") and shutil.which("munged"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("needs Debian's slurm-wlm and munge (apt-get as root); not available here")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"]):
        result = _run(cmd, env=env, timeout=900)
        assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}"


def _munge_works() -> bool:
    if not shutil.which("munge"):
        return False
    cred = _run(["munge", "-n"])
    return cred.returncode == 0 and _run(["unmunge"], input=cred.stdout).returncode == 0


def _start_munged() -> int | None:
    """Start munged unless one answers already; return the pid of the one we started."""
    if _munge_works():
        return None
    key = Path("/etc/munge/munge.key")
    if not key.exists():
        assert _run(["mungekey", "--create", "--keyfile", str(key)]).returncode == 0
        shutil.chown(key, "munge", "munge")
        key.chmod(0o400)
    run_dir = Path("/run/munge")
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(run_dir, "munge", "munge")
    result = _run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"])
    assert result.returncode == 0, f"munged failed to start: {result.stderr}"
    for _ in range(50):
        if _munge_works():
            break
        time.sleep(0.2)
    assert _munge_works(), "munged started but munge/unmunge does not work"
    return int((run_dir / "munged.pid").read_text().split()[0])


def real_memory_mb() -> int:
    """Most of this machine's memory: rules ask for up to train.mem_mb (8 GB by default), and
    slurmd drains a node that claims more than it has. CR_Core does not consume memory, so
    jobs only need to fit, not to add up."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(int(line.split()[1]) / 1024 * 0.9)
    return 4000


def slurm_conf(base: Path, host: str) -> str:
    return f"""{MARK}
ClusterName=setest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={CTLD_PORT}
SlurmdPort={SLURMD_PORT}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
# keep finished jobs visible to squeue (status) and scontrol (the test's checks) for 10 minutes
MinJobAge=600
GresTypes=gpu
NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={host} CPUs=2 RealMemory={real_memory_mb()} Gres=gpu:fake:1 State=UNKNOWN
PartitionName=cpu Nodes={NODE} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={NODE} MaxTime=INFINITE State=UP
"""


def _ours(pid: int, what: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return what in cmdline and str(ETC / "slurm.conf") in cmdline


def _stop(pid: int, timeout: float = 15) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_leftovers() -> None:
    """Daemons of an earlier, interrupted run of this test (found by their pid files)."""
    for name in ("slurmd", "slurmctld"):
        pidfile = BASE / f"{name}.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text().split()[0] or 0)
            if pid and _ours(pid, name):
                _stop(pid)


def _wait_idle(env: dict, timeout: float = 90) -> None:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        result = _run(["sinfo", "-h", "-N", "-o", "%T"], env=env)
        state = result.stdout.strip()
        if result.returncode == 0 and state.startswith("idle"):
            return
        time.sleep(1)
    logs = "\n".join((BASE / f).read_text()[-2000:] for f in ("slurmctld.log", "slurmd.log") if (BASE / f).exists())
    raise AssertionError(f"SLURM node not idle after {timeout}s (state {state!r}):\n{logs}")


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running one-node SLURM cluster; yields the environment to run Snakemake in."""
    if sys.platform != "linux":
        pytest.skip("the SLURM test needs Linux")
    _install_slurm()
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd needs root")
    conf, gres = ETC / "slurm.conf", ETC / "gres.conf"
    for path in (conf, gres):
        if path.exists() and MARK not in path.read_text():
            pytest.skip(f"{path} exists and was not written by this test; not touching a real cluster")
    _stop_leftovers()
    shutil.rmtree(BASE, ignore_errors=True)
    for sub in ("state", "spool"):
        (BASE / sub).mkdir(parents=True)
    host = socket.gethostname().split(".")[0]
    ETC.mkdir(parents=True, exist_ok=True)
    conf.write_text(slurm_conf(BASE, host))
    gres.write_text(f"{MARK}\nName=gpu Type=fake File=/dev/null\n")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
    munged = _start_munged()
    daemons: list[subprocess.Popen] = []
    try:
        for cmd in (
            ["/usr/sbin/slurmctld", "-D", "-i", "-f", str(conf)],
            ["/usr/sbin/slurmd", "-D", "-f", str(conf), "-N", NODE],
        ):
            log = open(BASE / f"{Path(cmd[0]).name}.out", "w")
            daemons.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env))
            time.sleep(1)
        _wait_idle(env)
        yield env
    finally:
        if daemons:
            _run(["scancel", "--partition", "cpu,gpu"], env=env)  # only this test cluster's jobs
        for proc in reversed(daemons):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if munged:
            _stop(munged)
        for path in (conf, gres):
            if path.exists() and MARK in path.read_text():
                path.unlink()


def snakemake(args: list[str], workdir: Path, env: dict, log: Path, timeout: float = 1800) -> str:
    """Run snakemake in workdir on the repository's Snakefile unless args name another one."""
    cmd = [sys.executable, "-m", "snakemake", *args]
    if "-s" not in args:
        cmd[3:3] = ["-s", str(REPO / "Snakefile")]
    with open(log, "w") as out:
        result = subprocess.run(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    text = log.read_text()
    assert result.returncode == 0, f"snakemake failed ({' '.join(cmd)}):\n{text[-6000:]}"
    return text


def jobs_of_run(env: dict) -> list[dict[str, str]]:
    """Every job the controller still knows (MinJobAge keeps finished ones), as key=value dicts."""
    result = _run(["scontrol", "show", "job", "-o"], env=env)
    assert result.returncode == 0, result.stderr
    jobs = []
    for line in result.stdout.splitlines():
        if not line.strip() or line.startswith("No jobs"):
            continue
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        jobs.append(fields)
    return jobs


def slurm_env(env: dict) -> dict:
    return dict(env, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def slurm_args(*profiles: Path) -> list[str]:
    """profiles/slurm as the workflow profile, then the given profiles, then the test additions."""
    args = ["--executor", "slurm", "--workflow-profile", str(SLURM_PROFILE)]
    for profile in (*profiles, TEST_PROFILE):
        args += ["--profile", str(profile)]
    return args


def test_override_profile_only_adds_keys():
    """The workflow profile wins per key over --profile: an overlapping key would be ignored."""
    slurm = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    override = yaml.safe_load((TEST_PROFILE / "config.yaml").read_text())
    assert slurm["executor"] == "slurm"
    assert slurm["set-resources"]["embed"]["gpu"] == 1
    assert not set(slurm) & set(override), f"keys of tests/slurm_profile ignored: {set(slurm) & set(override)}"


GPU_SNAKEFILE = """
rule all:
    input:
        "embed.txt",
        "other.txt",


# named like the workflow's rule, so profiles/slurm's set-resources give it the GPU
rule embed:
    output:
        "embed.txt",
    shell:
        "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output}"


rule other:
    output:
        "other.txt",
    shell:
        "echo CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output}"
"""


def test_gpu_request_reaches_the_job(slurm_cluster, tmp_path):
    """profiles/slurm's `embed: gpu: 1` becomes --gpus=1 on the gpu partition; the job sees a GPU."""
    (tmp_path / "Snakefile").write_text(GPU_SNAKEFILE)
    text = snakemake(
        ["-s", str(tmp_path / "Snakefile"), *slurm_args(), "--verbose"],
        tmp_path, slurm_env(slurm_cluster), tmp_path / "snakemake.log",
    )
    assert (tmp_path / "embed.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=0"
    assert (tmp_path / "other.txt").read_text().strip() == "CUDA_VISIBLE_DEVICES=unset"
    sbatch = [line for line in text.splitlines() if "sbatch call:" in line]
    assert len(sbatch) == 2, text[-3000:]
    assert any("rule_embed" in line and "--gpus=1" in line and "-p gpu" in line for line in sbatch), sbatch
    assert all("--gpus" not in line for line in sbatch if "rule_other" in line), sbatch
    jobs = {job["Comment"]: job for job in jobs_of_run(slurm_cluster) if job.get("WorkDir") == str(tmp_path)}
    assert jobs["rule_embed"]["Partition"] == "gpu" and "gpu:1" in jobs["rule_embed"].get("TresPerJob", "")
    assert jobs["rule_other"]["Partition"] == "cpu" and "gpu" not in jobs["rule_other"].get("TresPerJob", "")
    assert all(job["JobState"] == "COMPLETED" for job in jobs.values())


# The demo DAG through one trained fold: demo corpus, clip checks, manifest, folds, tiny encoder,
# augmentation, clean + augmented embeddings (GPU jobs), layer probe and a logreg fold (~14 jobs).
DEMO_TARGETS = [
    "results/data/manifest.tsv",
    "results/data/folds.tsv",
    "results/cv/tiny-wavlm/logreg/fold-0/predictions.tsv",
]


def assert_same_outputs(local: Path, remote: Path) -> int:
    """Every file the SLURM run made under results/ (data, embeddings, ...) is identical to the local run's."""
    files = sorted(p.relative_to(remote) for p in (remote / "results").rglob("*") if p.is_file())
    # logs and benchmarks hold timings; demo = input
    files = [f for f in files if f.parts[1] not in {"logs", "benchmarks", "demo"}]
    assert files, "the SLURM run produced nothing"
    for rel in files:
        theirs = remote / rel
        assert (local / rel).exists(), f"{rel} made on SLURM but not locally"
        if rel.suffix == ".npz":
            with np.load(local / rel, allow_pickle=False) as a, np.load(theirs, allow_pickle=False) as b:
                assert sorted(a.files) == sorted(b.files), rel
                for key in a.files:
                    assert np.array_equal(a[key], b[key]), f"{rel}: {key} differs between local and SLURM"
        elif rel.suffix == ".zip":
            # model archives: compare what the model is
            # (member names, classes, params, fitted state); predictions.tsv is compared byte-exactly
            with zipfile.ZipFile(local / rel) as a, zipfile.ZipFile(theirs) as b:
                assert sorted(a.namelist()) == sorted(b.namelist()), rel
                if "manifest.json" in a.namelist():
                    ours, other = (json.loads(z.read("manifest.json")) for z in (a, b))
                    ours.pop("files", None)
                    other.pop("files", None)
                    assert ours == other, f"{rel}: manifest differs between local and SLURM"
        else:
            assert (local / rel).read_bytes() == theirs.read_bytes(), f"{rel} differs between local and SLURM"
    return len(files)


@pytest.mark.slow
def test_demo_dag_on_slurm_matches_local_run(slurm_cluster, demo_run, tmp_path):
    """The demo DAG through SLURM (embed on the gpu partition with a GPU) gives the local results (the
    session's demo run, made with the same profile on 2 local cores)."""
    env = slurm_env(slurm_cluster)
    targets = DEMO_TARGETS
    local, remote = demo_run, tmp_path / "slurm"
    remote.mkdir()
    started = time.time()
    text = snakemake(
        [*slurm_args(DEMO_PROFILE), "--verbose", *targets],
        remote, env, tmp_path / "slurm.log",
    )
    print(f"demo targets {targets}: SLURM {time.time() - started:.0f} s")
    assert all((remote / t).is_file() for t in targets)

    compared = assert_same_outputs(local, remote)
    assert compared >= len(targets)

    jobs = [job for job in jobs_of_run(slurm_cluster) if job.get("WorkDir") == str(remote)]
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        rule = job["Comment"].removeprefix("rule_").split("_wildcards_")[0]
        by_rule.setdefault(rule, []).append(job)
    assert {"check_clips", "manifest", "folds", "embed", "train"} <= set(by_rule), sorted(by_rule)
    assert all(job["JobState"] == "COMPLETED" for job in jobs), [(j["Comment"], j["JobState"]) for j in jobs]
    for rule, rule_jobs in by_rule.items():
        for job in rule_jobs:
            gpu = "gpu:1" in job.get("TresPerJob", "")
            assert gpu == (rule == "embed"), f"{job['Comment']}: TresPerJob={job.get('TresPerJob')}"
            assert job["Partition"] == ("gpu" if rule == "embed" else "cpu"), job["Comment"]
    embed_calls = [line for line in text.splitlines() if "sbatch call:" in line and "rule_embed" in line]
    assert len(embed_calls) == len(by_rule["embed"]) >= 2 and all("--gpus=1" in c for c in embed_calls), embed_calls
