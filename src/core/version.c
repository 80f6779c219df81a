/*
 * version.c — the version of libpostkit and the git revision it was built from.
 */
#include "core/internal.h"

#include "pk_version.h"

const char *pk_version(void) { return PK_VERSION; }
const char *pk_git_revision(void) { return PK_GIT_REVISION; }
