"""The README and docs/ against the code: every relative link resolves (file and heading),
and every `--flag` they mention is a flag some command of this project declares."""

import argparse
import pathlib
import re

import pytest

from pipeline import flags

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Flags of other tools that the docs show in their commands: docker build, uv sync,
# tensorboard, Beam's pipeline options (--beam-arg=...), and Beam's own log message. (uv's
# --version needs no entry: every command here declares one.)
EXTERNAL_FLAGS = {
    "--platform",
    "--build-arg",
    "--frozen",
    "--extra",
    "--logdir",
    "--project",
    "--region",
    "--temp_location",
    "--flink_master",
    "--extra_package",
    # Beam on a distributed engine (docs/kubeflow.md): Beam's pipeline options, its job
    # service and worker pool, podman run's --user, and the Dockerfile's COPY --from.
    "--job_endpoint",
    "--environment_type",
    "--environment_config",
    "--spark_master_url",
    "--sdk_container_image",
    "--port",
    "--service_port",
    "--user",
    "--from",
}

LINK = re.compile(r"\]\(([^)\s]+)\)")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9_-]*)")
FLAG_LITERAL = re.compile(r"""["'](--[a-z][a-z0-9_-]*)""")


def prose_lines(path):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield number, line


def anchors(path):
    """GitHub's ids of a Markdown file's headings."""
    ids, seen = set(), {}
    for _, line in prose_lines(path):
        match = re.match(r"#+ (.*)", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def known_flags():
    """Every option string the project's commands declare: the literals in its code (each
    argparse flag is one), plus the runners' flags that pipeline/flags.py builds from
    setting names (and the --no- forms of the boolean ones)."""
    found = set()
    for path in ROOT.rglob("*.py"):
        top = path.relative_to(ROOT).parts[0]
        if top in {".venv", "tests", "build"} or top.endswith(".egg-info"):
            continue
        found |= set(FLAG_LITERAL.findall(path.read_text()))
    parser = argparse.ArgumentParser()
    flags.add_flags(parser)
    found |= {option for option in parser._option_string_actions if option.startswith("--")}
    return found


def test_the_docs_are_found():
    names = {path.name for path in DOCS}
    assert {"README.md", "data.md", "training.md", "kubeflow.md", "inspect.md"} <= names


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_relative_links_resolve(path):
    broken = []
    for number, line in prose_lines(path):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.exists():
                broken.append(f"{path.name}:{number}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.name}:{number}: {target}: no such heading")
    assert not broken, "\n".join(broken)


def test_every_flag_mentioned_exists():
    known = known_flags() | EXTERNAL_FLAGS
    unknown = [
        f"{path.name}:{number}: {flag}"
        for path in DOCS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for flag in FLAG.findall(line)
        if flag.rstrip("-_") not in known
    ]
    assert not unknown, "flags no command declares:\n" + "\n".join(unknown)
