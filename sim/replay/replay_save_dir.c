/*
 * replay_save_dir.c - every device of a world written into a directory
 * beside a manifest (replay --save, explore --save-failing): the targets
 * checked first, each image through replay_save.c, then manifest.json.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay_impl.h"

struct entry {
	char file[TRACE_NAME_MAX + 16];
	char path[4500];
	bool existed;                /* the target was there before (force) */
	bool written;
	struct replay_save_info info;
	char skipped[512];           /* why a dm device has no file */
};

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static int write_manifest(const char *dir, const struct replay_dev_desc *devs,
			  const struct entry *e, unsigned nr, const struct replay_save_dir_opts *o,
			  char *errbuf, size_t len)
{
	char *buf = NULL, path[4400];
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	int r;

	if (!f)
		return -ENOMEM;
	fputs("{\n  \"trace\": ", f);
	json_str(f, o->trace ? o->trace : "");
	fprintf(f, ",\n  \"seed\": %" PRIu64 ",\n  \"state\": ", o->seed);
	json_str(f, o->state ? o->state : "");
	fputs(",\n  \"hash\": \"fnv1a64\",\n  \"devices\": [", f);
	for (unsigned i = 0; i < nr; i++) {
		bool dm = devs[i].kind == REPLAY_DEV_DM;

		fprintf(f, "%s\n    {\"device\": ", i ? "," : "");
		json_str(f, devs[i].name);
		fprintf(f, ", \"kind\": \"%s\"", dm ? "dm" : "disk");
		if (!dm)
			fprintf(f, ", \"content\": \"%s\"",
				o->crashed || o->durable ? "durable" : "current");
		if (e[i].written) {
			fputs(", \"file\": ", f);
			json_str(f, e[i].file);
			fprintf(f, ", \"size_bytes\": %" PRIu64 ", \"fnv1a64\": \"%016" PRIx64 "\"}",
				e[i].info.size_bytes, e[i].info.fnv1a64);
		} else {
			fputs(", \"file\": null, \"skipped\": ", f);
			json_str(f, e[i].skipped);
			fputc('}', f);
		}
	}
	fputs("\n  ]\n}\n", f);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	r = replay_save_bytes(path, o->force, buf, n, errbuf, len);
	free(buf);
	return r;
}

/* dir exists as a directory afterwards, or an error. */
static int make_dir(const char *dir, char *errbuf, size_t len)
{
	struct stat st;

	if (!mkdir(dir, 0777))
		return 0;
	if (errno == EEXIST && !stat(dir, &st) && S_ISDIR(st.st_mode))
		return 0;
	snprintf(errbuf, len, "%s: %s", dir,
		 errno == EEXIST ? "exists and is not a directory" : strerror(errno));
	return errno == EEXIST ? -ENOTDIR : -errno;
}

static int save_one(struct replay_world *w, const struct replay_dev_desc *d, unsigned idx,
		    struct entry *e, const struct replay_save_dir_opts *o, char *errbuf,
		    size_t len)
{
	int r;

	if (d->kind == REPLAY_DEV_DM) {
		if (!d->readable) {
			snprintf(e->skipped, sizeof(e->skipped), "%s",
				 !d->has_table ? "no live table" : "suspended");
			return 0;
		}
		r = replay_world_save_path(w, d->name, 0, e->path, o->force, &e->info, errbuf,
					   len);
		if (r && e->info.read_failed) {
			/* An invalid snapshot fails its reads: that is content, not an error. */
			snprintf(e->skipped, sizeof(e->skipped), "%s", errbuf);
			errbuf[0] = 0;
			return 0;
		}
	} else if (o->crashed) {
		r = replay_disk_save_path(o->crashed[idx], REPLAY_SAVE_DURABLE, e->path, o->force,
					  &e->info, errbuf, len);
	} else {
		r = replay_world_save_path(w, d->name, o->durable ? REPLAY_SAVE_DURABLE : 0,
					   e->path, o->force, &e->info, errbuf, len);
	}
	e->written = !r;
	return r;
}

int replay_world_save_dir(struct replay_world *w, const char *dir,
			  const struct replay_save_dir_opts *o, struct replay_save_dir_result *res,
			  char *errbuf, size_t len)
{
	struct replay_dev_desc *devs;
	struct entry *e;
	unsigned nr;
	char mpath[4400];
	int r;

	errbuf[0] = 0;
	if (res)
		memset(res, 0, sizeof(*res));
	if ((r = make_dir(dir, errbuf, len)))
		return r;
	if ((r = replay_world_devices(w, &devs, &nr)))
		return r;
	e = calloc(nr ? nr : 1, sizeof(*e));
	if (!e) {
		free(devs);
		return -ENOMEM;
	}
	/* Every target first, so a refusal leaves the directory as it was. */
	snprintf(mpath, sizeof(mpath), "%s/manifest.json", dir);
	r = replay_save_check_target(mpath, o->force, errbuf, len);
	for (unsigned i = 0; i < nr && !r; i++) {
		snprintf(e[i].file, sizeof(e[i].file), "%s-%s.img",
			 devs[i].kind == REPLAY_DEV_DM ? "dm" : "disk", devs[i].name);
		snprintf(e[i].path, sizeof(e[i].path), "%s/%s", dir, e[i].file);
		e[i].existed = !access(e[i].path, F_OK);
		r = replay_save_check_target(e[i].path, o->force, errbuf, len);
	}
	for (unsigned i = 0; i < nr && !r; i++) {
		r = save_one(w, &devs[i], i, &e[i], o, errbuf, len);
		if (res && e[i].written)
			res->files++;
		else if (res && !r)
			res->skipped++;
	}
	if (!r)
		r = write_manifest(dir, devs, e, nr, o, errbuf, len);
	for (unsigned i = 0; r && i < nr; i++)
		if (e[i].written && !e[i].existed)
			unlink(e[i].path); /* made by this call: taken back */
	free(e);
	free(devs);
	return r;
}
