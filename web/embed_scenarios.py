"""Writes scenarios.js: every scenario of the folders given, with its header comment (the
lesson text) apart, and the text of the files it names (traces, samples, definitions: the page
has no disk, so it hands them to the run), as one JavaScript array the page loads (no fetch:
works offline and from a file:// URL alike)."""

import json
import pathlib
import re
import sys

# A file a scenario names: `file = "..."` or `definition_file = "..."`, outside comments.
NAMED = re.compile(r'\bfile\s*=\s*"([^"]+)"')
# The most one scenario's files may add to the page (the shipped traces are about 0.5 MB).
MAX_FILES_BYTES = 4 * 1024 * 1024


def named_files(scenario: pathlib.Path, text: str) -> dict:
    """The files `text` names, by the name it gives them, read beside `scenario`."""
    files = {}
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for name in NAMED.findall(line):
            files[name] = (scenario.parent / name).read_text(encoding="utf-8")
    size = sum(len(t.encode()) for t in files.values())
    if size > MAX_FILES_BYTES:
        sys.exit(f"{scenario}: its files have {size} bytes, more than {MAX_FILES_BYTES} to embed")
    return files


def header(text: str) -> str:
    """The leading comment block, without its `#` marks."""
    lines = []
    for line in text.splitlines():
        if line.startswith("#:"):
            continue  # an editor directive (`#:schema PATH`), not lesson text
        if line.startswith("#"):
            lines.append(line[1:].removeprefix(" "))
        elif line.strip() == "" and not lines:
            continue
        else:
            break
    return "\n".join(lines).strip()


def look_at(readme: pathlib.Path) -> dict:
    """README's lesson table: `lessons/NAME.toml` -> (what it teaches, what to look at)."""
    rows = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[a-z_]+/[a-z0-9_]+\.toml`", cells[0]):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def main() -> None:
    entries = []
    args = sys.argv[1:]
    table = {}
    if args and args[0].startswith("--readme="):
        table = look_at(pathlib.Path(args.pop(0).removeprefix("--readme=")))
    for folder in args:
        path = pathlib.Path(folder)
        for file in sorted(path.glob("*.toml")):
            text = file.read_text(encoding="utf-8")
            entries.append(
                {
                    "group": path.name,
                    "name": file.stem,
                    "file": f"{path.name}/{file.name}",
                    "lesson": header(text),
                    "text": text,
                    "files": named_files(file, text),
                    "teaches": table.get(f"{path.name}/{file.name}", ("", ""))[0],
                    "look": table.get(f"{path.name}/{file.name}", ("", ""))[1],
                }
            )
    sys.stdout.write("self.AWSIM_SCENARIOS = ")
    json.dump(entries, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write(";\n")


if __name__ == "__main__":
    main()
