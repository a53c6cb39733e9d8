"""User documentation hygiene (issue 15): the tracked text a user reads holds no absolute path of a
development machine, no commit hash presented as a commit and no "measured here" aside, and every
relative link of README.md and docs/*.md points to a file (and heading) that exists.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

DOC_PATTERNS = (
    "README.md",
    "docs/*.md",
    "config.yaml",
    "profiles/*",
    "profiles/*/*",
    "benchmarks/*.sh",
    "benchmarks/*.py",
    "benchmarks/*.yaml",
    "workflow/report/*.rst",
    "results/README.md",
)
"""The files a user reads (git pathspecs; the same as globs, one folder level for profiles)."""

NOT_YET_CLEAN: dict[str, str] = {}
"""Files that still fail the hygiene check, with why; remove an entry once the file is fixed."""

MACHINE_PATHS = ("/work/", "/tmp/ser-", "/root/")
COMMIT_HASH = re.compile(
    r"(?i)\b(?:commit|revision|rev|sha|hash)\b[\s:=`'\"]*(?=[0-9a-f]{0,39}\d)[0-9a-f]{7,40}\b"  # "at commit d70c43a"
    r"|\b[0-9a-f]{40}\b"  # a full git SHA-1 anywhere
)
ASIDES = re.compile(r"(?i)\bmeasured here\b|\bthis machine\b|\bmeasured on (?:this|my|our) (?:machine|laptop|computer)\b")


def tracked(patterns: tuple[str, ...] = DOC_PATTERNS) -> list[str]:
    """Repository-relative paths of the tracked files matching ``patterns`` (globs outside git)."""
    try:
        out = subprocess.run(["git", "ls-files", "--", *patterns], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout
        files = sorted(set(out.split()))
    except (OSError, subprocess.CalledProcessError):
        files = sorted({str(p.relative_to(REPO)) for pattern in patterns for p in REPO.glob(pattern) if p.is_file()})
    return [f for f in files if (REPO / f).is_file()]


def params(files: list[str], known: dict[str, str]) -> list:
    return [pytest.param(f, marks=pytest.mark.skip(reason=f"{f}: {known[f]}")) if f in known else f for f in files]


def problems(text: str) -> list[str]:
    """Each offending line as `line N: what: the line`."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        what = [f"absolute path {p}" for p in MACHINE_PATHS if p in line]
        what += [f"commit hash {m.group(0)!r}" for m in COMMIT_HASH.finditer(line)]
        what += [f"aside {m.group(0)!r}" for m in ASIDES.finditer(line)]
        found += [f"line {number}: {w}: {line.strip()}" for w in what]
    return found


def test_the_hygiene_check_finds_what_it_must():
    bad = (
        "time snakemake -s /work/main/Snakefile\n"
        "`bash benchmarks/real_corpus.sh /tmp/ser-urdu` at commit d70c43a\n"
        "Measured here (2 cores): 104 jobs\n"
        "revision: 0123456789abcdef0123456789abcdef01234567\n"
        "a clean clone of this machine type\n"
    )
    assert len(problems(bad)) == 6, problems(bad)
    fine = (
        "a SHA-256 `checksum` that load_shard verifies; a hash of its id\n"
        "dataset: {kind: folder, root: /data/urdu}\n"
        "`--config 'classifiers={\"svm\":{\"C\":3.0}}'` reruns 33 jobs; the 12 speakers of fold 0\n"
    )
    assert problems(fine) == []


@pytest.mark.parametrize("name", params(tracked(), NOT_YET_CLEAN))
def test_user_docs_hold_no_machine_paths_commit_hashes_or_asides(name):
    found = problems((REPO / name).read_text(encoding="utf-8"))
    assert not found, f"{name}:\n" + "\n".join(found)


# --- links -------------------------------------------------------------------------------------------
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without fenced code blocks (their `#` lines are comments, their brackets code)."""
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text, lower case, punctuation dropped (but - and
    _), each space a hyphen."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (repeated headings get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(prose(path.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    """Relative links of a Markdown file whose file, or heading in a Markdown file, does not exist."""
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if file_part and file_part.startswith("/"):
            broken.append(f"{target}: an absolute link (use a path relative to {path.name})")
        elif not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with anchor #{anchor} in {linked.name}")
    return broken


def test_the_link_check_finds_what_it_must(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## Some `code` & more\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n[ok](other.md) [ok](other.md#some-code--more) [ok](#title) [web](https://example.org)\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [self](#nope)\n\n"
        "```\n[not a link](inside-code.md)\n# not a heading\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nope: no heading with anchor #nope in other.md",
        "#nope: no heading with anchor #nope in page.md",
    ]


@pytest.mark.parametrize("name", tracked(("README.md", "docs/*.md")))
def test_relative_links_point_to_existing_files(name):
    broken = broken_links(REPO / name)
    assert not broken, f"{name}:\n" + "\n".join(broken)


def test_readme_is_a_short_guide_that_links_every_docs_page():
    """README.md is the newcomer's guide (under about 250 lines); the details live in docs/, and every
    page there is reachable from it."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250, len(text.splitlines())
    pages = sorted(p.name for p in (REPO / "docs").glob("*.md"))
    assert pages, "docs/ has no pages"
    assert [p for p in pages if f"(docs/{p})" not in text] == []
    assert "python -m pytest -q" in text  # the test command .ci/run calls
