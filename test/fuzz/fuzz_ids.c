/*-------------------------------------------------------------------------
 *
 * fuzz_ids.c
 *	  Fuzz target: revision id and branch label validation, and the string
 *	  hash table that maps ids and labels to revisions.
 *
 * The input is split at newlines into names.  Each name is checked by
 * mg_valid_id() and the answer compared with a plain reading of the rule
 * ([A-Za-z0-9_]{1,64}, not head, heads or base).  Then every name is put
 * into an MgHash, every second one removed again (backward-shift
 * deletion), and each lookup compared with a linear search.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 512

/*
 * reference_valid: the rule for ids and labels, written out naively.
 */
static bool
reference_valid(const char *s)
{
	size_t		len = strlen(s);

	if (len < 1 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", s[i]))
			return false;
	return strcmp(s, "head") != 0 && strcmp(s, "heads") != 0 &&
		strcmp(s, "base") != 0;
}

/*
 * reference_get: the value a sequence of puts and removes leaves for key:
 * the last put of an equal key that was not removed since, or -1.
 */
static int
reference_get(char **names, const int *vals, const bool *present, int n,
			  const char *key)
{
	int			v = -1;

	for (int i = 0; i < n; i++)
		if (strcmp(names[i], key) == 0)
			v = present[i] ? vals[i] : -1;
	return v;
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * LLVMFuzzerTestOneInput: one input, as libFuzzer (or driver.c) calls it;
 * everything it allocated is freed before it returns.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *input = fz_cstring(data, size);
	char	   *names[MAX_NAMES];
	int			vals[MAX_NAMES];
	bool		present[MAX_NAMES];
	int			n = 0;
	char	   *p = input;
	MgHash		h;

	/* names: the lines of the input (a NUL byte ends the input) */
	while (n < MAX_NAMES)
	{
		char	   *nl = strchr(p, '\n');

		names[n++] = p;
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}

	for (int i = 0; i < n; i++)
	{
		MgError		err;
		bool		valid;

		memset(&err, 0, sizeof(err));
		valid = mg_valid_id(names[i], &err, i % 2 ? "branch label" : "revision id");
		if (valid != reference_valid(names[i]))
			fz_fail("mg_valid_id(\"%.80s\") = %d, the rule says %d",
					names[i], valid, !valid);
		if (!valid)
		{
			fz_check_error(&err);
			if (err.code != MG_ERR_NAME)
				fz_fail("mg_valid_id failed with code %d", (int) err.code);
		}
		if (mg_reserved_name(names[i]) !=
			(strcmp(names[i], "head") == 0 || strcmp(names[i], "heads") == 0 ||
			 strcmp(names[i], "base") == 0))
			fz_fail("mg_reserved_name(\"%.80s\") is wrong", names[i]);
	}

	/* the hash: put all, remove every second (by its name), look up all */
	memset(&h, 0, sizeof(h));
	if (mg_hash_get(&h, "anything") != -1)
		fz_fail("an empty hash finds a key");
	for (int i = 0; i < n; i++)
	{
		vals[i] = i;
		present[i] = true;
		mg_hash_put(&h, names[i], i);
	}
	for (int i = 0; i < n; i += 2)
	{
		mg_hash_remove(&h, names[i]);
		for (int j = 0; j < n; j++)
			if (strcmp(names[j], names[i]) == 0)
				present[j] = false;
	}
	for (int i = 0; i < n; i++)
	{
		int			got = mg_hash_get(&h, names[i]);
		int			want = reference_get(names, vals, present, n, names[i]);

		if (got != want)
			fz_fail("hash lookup of \"%.80s\" gave %d, expected %d", names[i], got, want);
	}
	/* removing what is absent changes nothing */
	mg_hash_remove(&h, "\x01not-a-name");
	for (int i = 0; i < n; i++)
		if (mg_hash_get(&h, names[i]) != reference_get(names, vals, present, n, names[i]))
			fz_fail("removing an absent key changed the hash");

	free(input);
	fz_reset();
	return 0;
}
