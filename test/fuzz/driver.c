/*-------------------------------------------------------------------------
 *
 * driver.c
 *	  A stand-in for libFuzzer when clang's -fsanitize=fuzzer is not
 *	  available: feeds the seed corpus, then randomly mutated copies of it,
 *	  to LLVMFuzzerTestOneInput() for a bounded time.
 *
 * It has no coverage feedback, so it finds less than libFuzzer in the same
 * time; it is there so that "make fuzz" still exercises the targets with a
 * plain C compiler (and AddressSanitizer/UBSan when the compiler has
 * them).  It understands the few libFuzzer options the run script uses
 * (-max_total_time, -runs, -seed, -max_len, -dict, -artifact_prefix,
 * -print_final_stats; others are ignored) and prints libFuzzer's "Done N
 * runs" and "stat::number_of_executed_units" lines, so the script reads
 * both the same way.  An input that crashes is written to
 * <artifact_prefix>crash-<n> before the process dies.
 *
 *-------------------------------------------------------------------------
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Blob
{
	uint8_t    *data;
	size_t		size;
} Blob;

static Blob *seeds = NULL;
static size_t nseeds = 0;
static Blob *dict = NULL;
static size_t ndict = 0;

/* the input being run, for the crash handler */
static const uint8_t *cur_data = NULL;
static size_t cur_size = 0;
static char crash_path[4096] = "crash-input";

static uint64_t rng_state = 88172645463325252ULL;

/*
 * rnd: xorshift64, enough for mutations.
 */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * rnd_below: a random number in [0, n), 0 when n is 0.
 */
static size_t
rnd_below(size_t n)
{
	return n ? (size_t) (rnd() % n) : 0;
}

/*
 * on_crash: save the input that was running, then die of the same signal.
 */
static void
on_crash(int sig)
{
	int			fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0)
	{
		if (cur_data != NULL && cur_size > 0 &&
			write(fd, cur_data, cur_size) < 0)
			(void) 0;
		close(fd);
	}
	if (write(2, "==driver== crashing input saved\n", 32) < 0)
		(void) 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * add_blob: append a copy of the bytes to an array of blobs.
 */
static void
add_blob(Blob **arr, size_t *n, const uint8_t *data, size_t size)
{
	*arr = realloc(*arr, sizeof(Blob) * (*n + 1));
	if (*arr == NULL)
		abort();
	(*arr)[*n].data = malloc(size ? size : 1);
	if ((*arr)[*n].data == NULL)
		abort();
	memcpy((*arr)[*n].data, data, size);
	(*arr)[*n].size = size;
	(*n)++;
}

/*
 * load_file: add a file's bytes to the seeds.
 */
static void
load_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf;
	long		len;

	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		abort();
	if (len > 0 && fread(buf, 1, len, f) != (size_t) len)
		len = 0;
	fclose(f);
	add_blob(&seeds, &nseeds, buf, len > 0 ? (size_t) len : 0);
	free(buf);
}

/*
 * load_path: a file, or every regular file of a directory.
 */
static void
load_path(const char *path)
{
	struct stat st;
	DIR		   *d;
	struct dirent *e;

	if (stat(path, &st) != 0)
		return;
	if (!S_ISDIR(st.st_mode))
	{
		load_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
	{
		char		full[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			load_file(full);
	}
	closedir(d);
}

/*
 * load_dict: libFuzzer's dictionary format: one "value" (optionally
 * name="value") per line, with \\, \" and \xNN escapes; # starts a comment.
 */
static void
load_dict(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char		line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f))
	{
		char	   *q = strchr(line, '"');
		uint8_t		val[1024];
		size_t		n = 0;

		if (line[0] == '#' || q == NULL)
			continue;
		for (q++; *q && *q != '"'; q++)
		{
			if (*q == '\\' && q[1] == 'x' && q[2] && q[3])
			{
				char		hex[3] = {q[2], q[3], 0};

				val[n++] = (uint8_t) strtol(hex, NULL, 16);
				q += 3;
			}
			else if (*q == '\\' && q[1])
				val[n++] = (uint8_t) *++q;
			else
				val[n++] = (uint8_t) *q;
		}
		add_blob(&dict, &ndict, val, n);
	}
	fclose(f);
}

/*
 * mutate: apply 1-8 random edits to buf (of *len bytes, room for max).
 */
static void
mutate(uint8_t *buf, size_t *len, size_t max)
{
	static const char *const numbers[] = {
		"0", "1", "-1", "+1", "2147483647", "2147483648", "-2147483648",
		"4294967296", "99999999999999999999", "@", ":", "%%", "\n", ";"
	};
	int			nedits = 1 + (int) rnd_below(8);

	for (int e = 0; e < nedits; e++)
	{
		size_t		pos = rnd_below(*len + 1);

		switch (rnd_below(9))
		{
			case 0:				/* flip a bit */
				if (*len)
					buf[rnd_below(*len)] ^= (uint8_t) (1u << rnd_below(8));
				break;
			case 1:				/* set a random byte */
				if (*len)
					buf[rnd_below(*len)] = (uint8_t) rnd();
				break;
			case 2:				/* insert a random printable byte */
				if (*len < max)
				{
					memmove(buf + pos + 1, buf + pos, *len - pos);
					buf[pos] = (uint8_t) (32 + rnd_below(95));
					(*len)++;
				}
				break;
			case 3:				/* delete a range */
				if (*len)
				{
					size_t		start = rnd_below(*len);
					size_t		n = 1 + rnd_below(*len - start);

					memmove(buf + start, buf + start + n, *len - start - n);
					*len -= n;
				}
				break;
			case 4:				/* duplicate a range */
				if (*len)
				{
					size_t		start = rnd_below(*len);
					size_t		n = 1 + rnd_below(*len - start);

					if (*len + n <= max)
					{
						memmove(buf + pos + n, buf + pos, *len - pos);
						memmove(buf + pos, buf + (start < pos ? start : start + n), n);
						*len += n;
					}
				}
				break;
			case 5:				/* insert a dictionary word */
			case 6:				/* insert an interesting number or separator */
				{
					const uint8_t *w;
					size_t		n;

					if (rnd_below(9) < 5 && ndict > 0)
					{
						Blob	   *b = &dict[rnd_below(ndict)];

						w = b->data;
						n = b->size;
					}
					else
					{
						const char *s = numbers[rnd_below(sizeof(numbers) / sizeof(numbers[0]))];

						w = (const uint8_t *) s;
						n = strlen(s);
					}
					if (*len + n <= max)
					{
						memmove(buf + pos + n, buf + pos, *len - pos);
						memcpy(buf + pos, w, n);
						*len += n;
					}
				}
				break;
			case 7:				/* splice in part of another seed */
				if (nseeds)
				{
					Blob	   *b = &seeds[rnd_below(nseeds)];
					size_t		start = rnd_below(b->size);
					size_t		n = b->size ? 1 + rnd_below(b->size - start) : 0;

					if (*len + n <= max)
					{
						memmove(buf + pos + n, buf + pos, *len - pos);
						memcpy(buf + pos, b->data + start, n);
						*len += n;
					}
				}
				break;
			default:			/* truncate */
				*len = rnd_below(*len + 1);
				break;
		}
	}
}

/*
 * run_one: one input, remembered for the crash handler.
 */
static void
run_one(const uint8_t *data, size_t size)
{
	cur_data = data;
	cur_size = size;
	LLVMFuzzerTestOneInput(data, size);
	cur_data = NULL;
}

/*
 * main: options and seed paths as libFuzzer takes them; the seeds once,
 * then mutations until the time or the number of runs is used up.
 */
int
main(int argc, char **argv)
{
	long		max_time = 0;
	long long	max_runs = -1;
	size_t		max_len = 4096;
	const char *prefix = "";
	uint8_t    *buf;
	unsigned long long runs = 0;
	unsigned long long nseeds_given = 0;
	time_t		start = time(NULL);
	int			npaths = 0;

	for (int i = 1; i < argc; i++)
	{
		if (strncmp(argv[i], "-max_total_time=", 16) == 0)
			max_time = atol(argv[i] + 16);
		else if (strncmp(argv[i], "-runs=", 6) == 0)
			max_runs = atoll(argv[i] + 6);
		else if (strncmp(argv[i], "-seed=", 6) == 0)
			rng_state = (uint64_t) atoll(argv[i] + 6) * 2654435761ULL + 1;
		else if (strncmp(argv[i], "-max_len=", 9) == 0)
			max_len = (size_t) atol(argv[i] + 9);
		else if (strncmp(argv[i], "-dict=", 6) == 0)
			load_dict(argv[i] + 6);
		else if (strncmp(argv[i], "-artifact_prefix=", 17) == 0)
			prefix = argv[i] + 17;
		else if (argv[i][0] == '-')
			continue;			/* other libFuzzer options */
		else
		{
			load_path(argv[i]);
			npaths++;
		}
	}
	if (rng_state == 0)
		rng_state = 1;
	snprintf(crash_path, sizeof(crash_path), "%scrash-input", prefix);
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGILL, on_crash);

	fprintf(stderr, "INFO: pg_migrate fallback driver (no libFuzzer): %zu seed inputs from %d paths, %zu dictionary words\n",
			nseeds, npaths, ndict);
	/* the seeds as they are */
	for (size_t i = 0; i < nseeds; i++)
		run_one(seeds[i].data, seeds[i].size);
	runs = nseeds;
	nseeds_given = nseeds;
	if (nseeds == 0)
		add_blob(&seeds, &nseeds, (const uint8_t *) "", 0);

	/* then mutated copies until the time or the run count is used up */
	buf = malloc(max_len + 1);
	if (buf == NULL)
		abort();
	while (max_runs < 0 || (long long) (runs - nseeds_given) < max_runs)
	{
		Blob	   *s = &seeds[rnd_below(nseeds)];
		size_t		len = s->size < max_len ? s->size : max_len;
		uint8_t    *in;

		if ((runs & 255) == 0 && max_time > 0 && time(NULL) - start >= max_time)
			break;
		if (max_runs < 0 && max_time <= 0)
			break;				/* neither limit given: just the seeds */
		memcpy(buf, s->data, len);
		mutate(buf, &len, max_len);
		/* an exact-size copy, so that reading past the end is caught */
		in = malloc(len ? len : 1);
		if (in == NULL)
			abort();
		memcpy(in, buf, len);
		run_one(in, len);
		free(in);
		runs++;
	}
	free(buf);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].data);
	free(seeds);
	for (size_t i = 0; i < ndict; i++)
		free(dict[i].data);
	free(dict);
	fprintf(stderr, "Done %llu runs in %ld second(s)\n", runs, (long) (time(NULL) - start));
	fprintf(stderr, "stat::number_of_executed_units: %llu\n", runs);
	return 0;
}
