/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What <ex_rundown.h> adds for modules built outside the kernel tree
 * against ex_rundown.ko: the check that they were built against the ABI of
 * the ex_rundown.ko they load beside. Not part of the upstream series
 * (scripts/upstream.sh): in the kernel tree every module is built with the
 * kernel it runs in.
 */
#ifndef _EX_RUNDOWN_MODULE_H
#define _EX_RUNDOWN_MODULE_H

/*
 * The ABI of the inline fast paths: the encodings in <ex_rundown.h> and
 * <ex_rundown_pcpu.h>, which every module built against these headers
 * carries in its own code. MODVERSIONS checksums the exported functions'
 * prototypes, not these, so a module built against one encoding and loaded
 * beside an ex_rundown.ko of another would corrupt the count in silence.
 * Instead every module built against this header references a symbol named
 * after EX_RUNDOWN_ABI, which ex_rundown.ko exports only for its own: built
 * against another, it fails to load, and the kernel log names it and the
 * symbol ("exr_consumer: Unknown symbol ex_rundown_abi_1_rebuild_this_module").
 * Rebuild it against the headers of the ex_rundown.ko it is to run with.
 *
 * A change of encoding or of either structure's layout bumps
 * EX_RUNDOWN_ABI; src/ex_rundown_main.c holds the encodings of the current
 * ABI in static_assert()s, so that a change cannot forget it.
 */
#define EX_RUNDOWN_ABI		1
#define ___EX_RUNDOWN_ABI_SYMBOL(v)	ex_rundown_abi_##v##_rebuild_this_module
#define __EX_RUNDOWN_ABI_SYMBOL(v)	___EX_RUNDOWN_ABI_SYMBOL(v)
#define EX_RUNDOWN_ABI_SYMBOL		__EX_RUNDOWN_ABI_SYMBOL(EX_RUNDOWN_ABI)

extern const unsigned int EX_RUNDOWN_ABI_SYMBOL;

#ifdef MODULE
/* Kept, so that the module's symbol table names it as needed. */
static const unsigned int *const __ex_rundown_abi __used = &EX_RUNDOWN_ABI_SYMBOL;
#endif

#endif /* _EX_RUNDOWN_MODULE_H */
