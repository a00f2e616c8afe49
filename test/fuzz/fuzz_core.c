/*-------------------------------------------------------------------------
 *
 * fuzz_core.c
 *	  src/mg_core.c compiled for the fuzz targets, with its C-heap calls
 *	  (calloc, realloc, free: the MG_STANDALONE allocator) routed through
 *	  the tracker of fuzz_common.c, so that each input's memory is released
 *	  afterwards.  The core's own source is used unchanged.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

/* only the body of mg_core.c sees these: its headers are included above */
#define calloc fz_calloc
#define realloc fz_realloc
#define free fz_free

#include "mg_core.c"
