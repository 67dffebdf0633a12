#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""One file of the project in its in-tree shape, on standard output.

    upstream-rewrite.py FILE            a source, header, guide or litmus test
    upstream-rewrite.py --kconfig NAME  the Kconfig entry of NAME
    upstream-rewrite.py --kunitconfig   lib/tests/ex_rundown.kunitconfig
    upstream-rewrite.py --litmus-readme the README of the litmus tests
    upstream-rewrite.py --exceptions [TREE-FILE...]
                                        scripts/lint-exceptions in the tree's
                                        paths, "FILE TYPE TEXT" a line; with
                                        files, those of these files as prose
                                        (for the cover letter)

The rules are few and mechanical, so that a source reads the same in both
shapes but for paths; anything else that differs lives in files the series
leaves out (src/ex_rundown_main.c, src/ex_rundown_compat.h,
include/ex_rundown_module.h), never in #ifdefs:

 - an #include of a file the series leaves out is dropped;
 - <ex_rundown*.h> becomes <linux/ex_rundown*.h>, and the project's paths
   in comments become the tree's (src/ -> lib/, kunit/ -> lib/tests/,
   include/ -> include/linux/, litmus/ -> Documentation/litmus-tests/);
 - the test for scoped_cond_guard(), which kernels before 6.5 lack, is
   unwrapped, with the comment above it that says so and its #else;
 - in the guide, what lies between two ".. out-of-tree" comments is
   dropped, and the API reference (kernel-doc) is added at its end.

A rule that finds nothing to do where it must is an error: a changed
source must not drift silently into a different series.
"""
import re
import sys
import textwrap

LEFT_OUT = ('ex_rundown_module.h', 'ex_rundown_compat.h')

PATHS = [
    (re.compile(r'\bsrc/(ex_rundown\w*\.[ch])\b'), r'lib/\1'),
    (re.compile(r'\bkunit/(ex_rundown\w*\.[ch])\b'), r'lib/tests/\1'),
    (re.compile(r'(?<![/\w])include/(ex_rundown\w*\.h)\b'), r'include/linux/\1'),
    (re.compile(r'(?<![/\w.-])litmus/'), 'Documentation/litmus-tests/ex_rundown/'),
    (re.compile(r'<(ex_rundown\w*\.h)>'), r'<linux/\1>'),
]

# The API reference: the kernel-doc of each header and source (its exports),
# without the slow paths the inline functions call (__ex_rundown_*()),
# which are exported but not API: as scripts/docs.sh leaves them out.
API_FILES = [
    ('The shared-counter family', [('include/ex_rundown.h', None), ('src/ex_rundown.c', 'export')]),
    ('The cache-aware family', [('include/ex_rundown_pcpu.h', None), ('src/ex_rundown_pcpu.c', 'export')]),
]


def api_reference():
    out = ['', 'API reference', '=============', '']
    for title, files in API_FILES:
        out += [title, '-' * len(title), '']
        for f, kind in files:
            hidden = sorted(set(re.findall(r'^/\*\*\n \* (__ex_rundown_\w+)\(\)', open(f).read(), re.M)))
            out.append('.. kernel-doc:: ' + tree_path(f))
            if kind:
                out.append('   :%s:' % kind)
            if hidden:
                out.append('   :no-identifiers: ' + ' '.join(hidden))
            out.append('')
    return '\n'.join(out)


def die(msg):
    sys.exit('upstream-rewrite.py: ' + msg)


def paths(text):
    for pat, repl in PATHS:
        text = pat.sub(repl, text)
    return text


def drop_left_out_includes(lines):
    out = []
    for line in lines:
        m = re.match(r'#include\s+[<"](?:\.\./src/)?([\w.]+)[>"]', line)
        if m and m.group(1) in LEFT_OUT:
            continue
        out.append(line)
    return out


def unwrap_guards(lines, name):
    """Drop '#ifdef scoped_cond_guard', the comment right above it, its
    '#else' branch if any, and its '#endif /* scoped_cond_guard */'."""
    out = []
    found = 0
    in_else = False
    for line in lines:
        if line.rstrip() == '#else /* !scoped_cond_guard */':
            in_else = True
            continue
        if in_else and line.rstrip() != '#endif /* scoped_cond_guard */':
            continue
        in_else = False
        if line.rstrip() == '#ifdef scoped_cond_guard':
            found += 1
            # The comment that ends on the line above says why the test.
            if out and out[-1].rstrip().endswith('*/'):
                while out and not out[-1].lstrip().startswith('/*'):
                    out.pop()
                if out:
                    out.pop()
            continue
        if line.rstrip() == '#endif /* scoped_cond_guard */':
            found -= 1
            continue
        out.append(line)
    if found:
        die(f'{name}: unbalanced #ifdef scoped_cond_guard')
    return out


def squeeze_blank(lines):
    out = []
    for line in lines:
        if line.strip() == '' and out and out[-1].strip() == '':
            continue
        out.append(line)
    return out


def c_file(name, text):
    lines = text.split('\n')
    lines = drop_left_out_includes(lines)
    lines = unwrap_guards(lines, name)
    return paths('\n'.join(squeeze_blank(lines)))


def guide(name, text):
    out, skipping = [], False
    for line in text.split('\n'):
        if line.strip() == '.. out-of-tree {':
            skipping = True
            continue
        if line.strip() == '.. out-of-tree }':
            if not skipping:
                die(f'{name}: ".. out-of-tree }}" without its opening')
            skipping = False
            continue
        if not skipping:
            out.append(line)
    if skipping:
        die(f'{name}: ".. out-of-tree {{" never closed')
    text = '\n'.join(squeeze_blank(out)).rstrip('\n') + '\n'
    return paths(text) + api_reference()


def kconfig(name):
    text = open('Kconfig').read()
    m = re.search(r'^config %s\n(?:(?:\t.*)?\n)*' % re.escape(name), text, re.M)
    if not m:
        die(f'no "config {name}" in Kconfig')
    return m.group(0).rstrip('\n') + '\n'


def kunitconfig():
    """kunit/.kunitconfig without what only scripts/kunit.sh needs: the
    paragraphs (blank-line separated) that name it."""
    paras = open('kunit/.kunitconfig').read().split('\n\n')
    keep = [p.strip('\n') for p in paras if 'scripts/' not in p]
    if len(keep) == len(paras):
        die('kunit/.kunitconfig: no paragraph for scripts/kunit.sh to drop')
    return '\n\n'.join(keep) + '\n'


def litmus_readme():
    """litmus/README without the demo's tests and the project's make."""
    text = open('litmus/README').read()
    run = ('Run\nthem with `make litmus` (scripts/litmus.sh, also a layer of '
           '`make check`).')
    if run not in text:
        die('litmus/README: the sentence on how to run them has changed')
    text = text.replace(run, 'See\ntools/memory-model/README for how to run them.')
    # An entry is its name at the start of a line and what is indented under it.
    text = re.sub(r'^demo-[^\n]*\n(?:\t[^\n]*\n)*\n?', '', text, flags=re.M)
    if 'demo' in text:
        die('litmus/README: a demo test is still named')
    return paths(text.rstrip('\n') + '\n')


def tree_path(path):
    """A project path as the series places it."""
    for pat, repl in PATHS[:3]:
        path = pat.sub(repl, path)
    return path


def exceptions(files):
    """scripts/lint-exceptions: each entry with the comment right above it
    (entries that follow each other share one)."""
    out, why, reason, prev_entry = [], [], '', False
    for line in open('scripts/lint-exceptions').read().split('\n'):
        if line.startswith('#'):
            why.append(line[1:].strip())
            prev_entry = False
        elif not line.strip():
            why, prev_entry = [], False
        else:
            f, t, text = line.split(' ', 2)
            if why:
                reason = ' '.join(why)
            elif not prev_entry:
                die(f'lint-exceptions: no reason above "{line}"')
            out.append((tree_path(f), t, text, reason))
            why, prev_entry = [], True
    if not files:
        return ''.join(f'{f} {t} {text}\n' for f, t, text, _ in out)
    groups = {}
    for f, t, text, reason in out:
        if f in files:
            groups.setdefault((f, reason), []).append(f'{t} at "{text}"')
    prose = []
    for (f, reason), what in groups.items():
        prose.append(textwrap.fill(f'{f}: {"; ".join(what)}. {reason}', width=72,
                                   initial_indent=' - ', subsequent_indent='   ',
                                   break_long_words=False, break_on_hyphens=False))
    return '\n'.join(prose) + '\n' if prose else ''


def main():
    args = sys.argv[1:]
    if args[:1] == ['--kconfig'] and len(args) == 2:
        sys.stdout.write(kconfig(args[1]))
    elif args == ['--kunitconfig']:
        sys.stdout.write(kunitconfig())
    elif args[:1] == ['--exceptions']:
        sys.stdout.write(exceptions(args[1:]))
    elif args == ['--litmus-readme']:
        sys.stdout.write(litmus_readme())
    elif len(args) == 1:
        name = args[0]
        text = open(name).read()
        if name.endswith(('.c', '.h')):
            sys.stdout.write(c_file(name, text))
        elif name.endswith('.rst'):
            sys.stdout.write(guide(name, text))
        elif name.endswith('.litmus'):
            sys.stdout.write(paths(text))
        else:
            die(f'{name}: no rule for this kind of file')
    else:
        die('usage: FILE | --kconfig NAME | --kunitconfig | --litmus-readme')


if __name__ == '__main__':
    main()
