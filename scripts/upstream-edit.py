#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The edits the upstream series makes to files the kernel tree already has,
for scripts/upstream.sh. Each finds its place by what the tree says, not by
line number, and fails if it cannot: a series must not land in the wrong
place of a tree that has moved on.

    upstream-edit.py maintainers TREE [M] F...   our MAINTAINERS section, with
                                                 these F: patterns added
    upstream-edit.py kconfig-after FILE AFTER    stdin (a Kconfig entry) after
                                                 the entry "config AFTER"
    upstream-edit.py toctree-after FILE AFTER NAME
                                                 NAME after AFTER in a toctree
    upstream-edit.py append FILE                 stdin at the end of FILE,
                                                 after a blank line
"""
import re
import sys

SECTION = 'RUN-DOWN PROTECTION (EX_RUNDOWN)'
LIST = 'linux-kernel@vger.kernel.org'


def die(msg):
    sys.exit('upstream-edit.py: ' + msg)


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def maintainers(tree, args):
    """Add F: patterns to our section, creating it where alphabetical order
    puts it. A maintainer (M:) if given, else the section is an orphan."""
    maintainer = args[0][2:] if args and args[0].startswith('M:') else None
    patterns = [a for a in args if not a.startswith('M:')]
    path = tree + '/MAINTAINERS'
    lines = read(path).split('\n')
    try:
        first = lines.index('Maintainers List')
    except ValueError:
        die(f'{path}: no "Maintainers List"')
    # A section: a title line after a blank line, followed by "X:\t" lines.
    starts = [i for i in range(first + 1, len(lines) - 1)
              if lines[i - 1] == '' and lines[i] and re.match(r'[A-Z]:\t', lines[i + 1])]
    if not starts:
        die(f'{path}: no sections found')
    if SECTION in [lines[i] for i in starts]:
        i = end = lines.index(SECTION, first)
        while end < len(lines) and lines[end] != '':
            end += 1
        body = lines[i + 1:end]
    else:
        # Alphabetical, but a few sections are out of place: the gap whose
        # neighbours on both sides agree most with our title.
        titles = [lines[i].upper() for i in starts]

        def fit(k):
            before = sum(t <= SECTION for t in titles[max(0, k - 3):k])
            after = sum(t > SECTION for t in titles[k:k + 3])
            return before + after

        k = max(range(len(starts) + 1), key=fit)
        i = end = starts[k] if k < len(starts) else len(lines)
        lines[i:i] = ['']       # between ours and the next
        body = (['M:\t' + maintainer] if maintainer else []) + \
            ['L:\t' + LIST, 'S:\t' + ('Maintained' if maintainer else 'Orphan')]
    files = sorted(set([line[3:] for line in body if line.startswith('F:\t')] + patterns))
    body = [line for line in body if not line.startswith('F:\t')] + ['F:\t' + f for f in files]
    lines[i:end] = [SECTION] + body
    write(path, '\n'.join(lines))


def kconfig_after(path, after):
    entry = sys.stdin.read().rstrip('\n') + '\n'
    lines = read(path).split('\n')
    try:
        i = lines.index('config ' + after)
    except ValueError:
        die(f'{path}: no "config {after}"')
    # The entry ends where the next top-level statement begins.
    j = i + 1
    while j < len(lines) and not re.match(r'(config|menuconfig|choice|endchoice|comment|menu|endmenu|if|endif|source)\b', lines[j]):
        j += 1
    while j > i + 1 and lines[j - 1] == '':
        j -= 1
    lines[j:j] = [''] + entry.rstrip('\n').split('\n')
    write(path, '\n'.join(lines))


def toctree_after(path, after, name):
    lines = read(path).split('\n')
    hits = [i for i, line in enumerate(lines) if line.strip() == after and line.startswith('   ')]
    if len(hits) != 1:
        die(f'{path}: "{after}" is in {len(hits)} toctrees, not one')
    lines.insert(hits[0] + 1, '   ' + name)
    write(path, '\n'.join(lines))


def append(path):
    text = read(path).rstrip('\n') + '\n\n' + sys.stdin.read().rstrip('\n') + '\n'
    write(path, text)


def main():
    a = sys.argv[1:]
    if len(a) >= 3 and a[0] == 'maintainers':
        maintainers(a[1], a[2:])
    elif len(a) == 3 and a[0] == 'kconfig-after':
        kconfig_after(a[1], a[2])
    elif len(a) == 4 and a[0] == 'toctree-after':
        toctree_after(a[1], a[2], a[3])
    elif len(a) == 2 and a[0] == 'append':
        append(a[1])
    else:
        die('usage: see the top of this file')


if __name__ == '__main__':
    main()
