"""Writes scenarios.js: every scenario of the folders given, with its header comment (the
lesson text) apart, as one JavaScript array the page loads (no fetch: works offline and from a
file:// URL alike)."""

import json
import pathlib
import sys


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


def main() -> None:
    entries = []
    for folder in sys.argv[1:]:
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
                }
            )
    sys.stdout.write("self.AWSIM_SCENARIOS = ")
    json.dump(entries, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write(";\n")


if __name__ == "__main__":
    main()
