/*-------------------------------------------------------------------------
 *
 * checksum.c
 *	  The checksum of a revision's content: SHA-256 over a normalized,
 *	  unambiguous serialization, so that the same revision file loaded on
 *	  another machine (other line endings, trailing blanks) matches.
 *
 * Normalization of each SQL text and the message: CR LF and lone CR become
 * LF, trailing spaces and tabs of every line are dropped, and leading and
 * trailing blank lines are dropped.  Parents, depends_on and branch labels
 * are sorted, since their order carries no meaning.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#if PG_VERSION_NUM >= 140000
#include "common/cryptohash.h"
#endif
#include "common/sha2.h"
#include "lib/stringinfo.h"

#include "checksum.h"

/*
 * append_normalized: append the normalized form of s to buf.
 */
static void
append_normalized(StringInfo buf, const char *s)
{
	StringInfoData line;
	int			pending_newlines = 0;
	bool		started = false;

	initStringInfo(&line);
	for (const char *p = s;; p++)
	{
		if (*p == '\r' || *p == '\n' || *p == '\0')
		{
			/* end of a line: trim it and emit it */
			while (line.len > 0 &&
				   (line.data[line.len - 1] == ' ' || line.data[line.len - 1] == '\t'))
				line.data[--line.len] = '\0';
			if (line.len > 0)
			{
				if (started)
					for (int i = 0; i < pending_newlines; i++)
						appendStringInfoChar(buf, '\n');
				appendBinaryStringInfo(buf, line.data, line.len);
				started = true;
				pending_newlines = 0;
			}
			if (*p == '\0')
				break;
			if (started)
				pending_newlines++;
			if (*p == '\r' && p[1] == '\n')
				p++;
			resetStringInfo(&line);
		}
		else
			appendStringInfoChar(&line, *p);
	}
	pfree(line.data);
}

/*
 * append_field: "name=<length>:<normalized text>\n", or "name=-\n" for NULL.
 */
static void
append_field(StringInfo buf, const char *name, const char *value)
{
	StringInfoData norm;

	appendStringInfo(buf, "%s=", name);
	if (value == NULL)
	{
		appendStringInfoString(buf, "-\n");
		return;
	}
	initStringInfo(&norm);
	append_normalized(&norm, value);
	appendStringInfo(buf, "%d:", norm.len);
	appendBinaryStringInfo(buf, norm.data, norm.len);
	appendStringInfoChar(buf, '\n');
	pfree(norm.data);
}

/*
 * cmp_cstring: qsort comparator for C strings.
 */
static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * append_names: "name=<count>:a,b,c\n" with the names sorted.
 */
static void
append_names(StringInfo buf, const char *name, char **names, int n)
{
	char	  **sorted = palloc(sizeof(char *) * (n ? n : 1));

	if (n > 0)
		memcpy(sorted, names, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), cmp_cstring);
	appendStringInfo(buf, "%s=%d:", name, n);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoChar(buf, ',');
		appendStringInfoString(buf, sorted[i]);
	}
	appendStringInfoChar(buf, '\n');
	pfree(sorted);
}

/*
 * sha256_hex: lower-case hex SHA-256 of len bytes.
 */
static char *
sha256_hex(const char *data, size_t len)
{
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	static const char digits[] = "0123456789abcdef";

#if PG_VERSION_NUM >= 140000
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL ||
		pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "pg_migrate: could not compute SHA-256");
	pg_cryptohash_free(ctx);
#else
	pg_sha256_ctx ctx;

	pg_sha256_init(&ctx);
	pg_sha256_update(&ctx, (const uint8 *) data, len);
	pg_sha256_final(&ctx, digest);
#endif
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
	{
		hex[2 * i] = digits[digest[i] >> 4];
		hex[2 * i + 1] = digits[digest[i] & 15];
	}
	hex[PG_SHA256_DIGEST_LENGTH * 2] = '\0';
	return hex;
}

/*
 * pgm_checksum: hex SHA-256 of the normalized content.  With id NULL and
 * parents_omitted, the result seeds a generated id: the content without the
 * id and (when the caller left them out) without the parents.
 */
char *
pgm_checksum(const PgmContent *c, bool for_generated_id)
{
	StringInfoData buf;
	char	   *hex;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "pg_migrate revision 1\n");
	append_field(&buf, "id", for_generated_id ? "" : c->id);
	if (for_generated_id && c->parents_omitted)
		appendStringInfoString(&buf, "down_revision=*\n");
	else
		append_names(&buf, "down_revision", c->parents, c->nparents);
	append_names(&buf, "depends_on", c->deps, c->ndeps);
	append_names(&buf, "branch_labels", c->labels, c->nlabels);
	append_field(&buf, "message", c->message);
	append_field(&buf, "upgrade", c->upgrade);
	append_field(&buf, "downgrade", c->downgrade);
	append_field(&buf, "verify", c->verify);
	appendStringInfo(&buf, "transactional=%s\n", c->transactional ? "true" : "false");
	hex = sha256_hex(buf.data, buf.len);
	pfree(buf.data);
	return hex;
}
