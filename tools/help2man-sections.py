#!/usr/bin/env python3
"""Finishes a man page that help2man made from a spectrum-camera --help text (tools/build-deb.sh runs it).

help2man knows FILES, ENVIRONMENT and EXAMPLES but turns "Exit status:" into a subsection of OPTIONS, and it fills
the example lines into paragraphs, joining commands and breaking a continued one. This makes "Exit status:" the
EXIT STATUS section and sets the EXAMPLES section verbatim, one command per line as the --help text has them.

Usage: help2man-sections.py PAGE.1 HELP.txt   (HELP.txt: the --help output the page was made from; PAGE is rewritten)
"""
import re
import sys


def roff_escape(line):
    return line.replace("\\", "\\e").replace("-", "\\-")


def examples_from_help(text):
    lines, inside = [], False
    for line in text.splitlines():
        if re.match(r"^Examples:\s*$", line):
            inside = True
            continue
        if inside and line and not line[0].isspace():
            break
        if inside:
            lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
    return [l[indent:] for l in lines]


def main(page, help_file):
    with open(page, encoding="utf-8") as f:
        roff = f.read()
    with open(help_file, encoding="utf-8") as f:
        examples = examples_from_help(f.read())
    roff = roff.replace('.SS "Exit status:"', '.SH "EXIT STATUS"')
    if examples:
        verbatim = ".SH EXAMPLES\n.PP\n.nf\n" + "\n".join(roff_escape(l) for l in examples) + "\n.fi\n"
        roff = re.sub(r"^\.SH EXAMPLES\n.*?(?=^\.SH |\Z)", lambda _: verbatim, roff, flags=re.S | re.M)
    with open(page, "w", encoding="utf-8") as f:
        f.write(roff)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
