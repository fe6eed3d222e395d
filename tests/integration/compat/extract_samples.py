#!/usr/bin/env python3
"""Extracts the C++ code blocks of the HCS reference pages (MicrosoftDocs/Virtualization-Documentation,
virtualization/api/hcs/Reference/*.md) and of the ProjFS seed page into tests/data/win32-samples/.

Run at development time, not by the tests (they use the committed files, so no network is needed):
    extract_samples.py DOCS_CHECKOUT_OR_GIT_DIR COMMIT SEED_PROJFS_TXT OUT_DIR
Each block becomes <Page>.<n>.inc: a header comment naming the source, then the block byte for byte.
The few edits a documented difference forces are made by hand afterwards and listed in docs/win32-compat.md
(the files say so in their header)."""
import re
import subprocess
import sys
from pathlib import Path

PAGES = ["OperationCompletionSample", "EventCallbackSample", "ComputeSystemSample", "ServiceSample",
         "UtilityFunctionSample", "Tutorial"]


def blocks(markdown):
    out, current = [], None
    for line in markdown.splitlines(keepends=True):
        if current is None and re.match(r"^```(cpp|c\+\+|C\+\+|c)\s*$", line):
            current = []
        elif current is not None and line.startswith("```"):
            out.append("".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return out


def main():
    repo, commit, seed, out = sys.argv[1], sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
    (out / "hcs-docs").mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        path = f"virtualization/api/hcs/Reference/{page}.md"
        text = subprocess.run(["git", "--git-dir", repo, "show", f"{commit}:{path}"], check=True,
                              capture_output=True, text=True).stdout
        for n, code in enumerate(blocks(text), 1):
            header = (f"// Source: MicrosoftDocs/Virtualization-Documentation@{commit[:12]} {path}, code block {n}\n"
                      "// (MIT / CC-BY-4.0). Byte-exact below this header except the edits listed in\n"
                      "// docs/win32-compat.md.\n")
            (out / "hcs-docs" / f"{page}.{n}.inc").write_text(header + code)
    # The ProjFS seed page (a translation of learn.microsoft.com "Handling asynchronous callbacks"): its two
    # code blocks run from the first typedef to the end of MyCancelCommandCallback.
    lines = seed.read_text().splitlines(keepends=True)
    start = next(i for i, l in enumerate(lines) if l.startswith("typedef struct MY_ENUM_ENTRY MY_ENUM_ENTRY;"))
    cancel = next(i for i, l in enumerate(lines) if l.startswith("void") and lines[i + 1].startswith("MyCancelCommandCallback"))
    prose = next(i for i in range(cancel - 1, start, -1) if lines[i].strip())
    first = "".join(lines[start:prose])
    second = "".join(lines[cancel:])
    (out / "projfs-seed").mkdir(parents=True, exist_ok=True)
    for n, code in enumerate([first, second], 1):
        header = (f"// Source: the ProjFS seed page ({seed.name}: \"Handling asynchronous callbacks\"), code block {n}.\n"
                  "// Byte-exact below this header except the edits listed in docs/win32-compat.md.\n")
        (out / "projfs-seed" / f"async_callbacks.{n}.inc").write_text(header + code.rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
