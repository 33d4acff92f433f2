/*
 * sync_save.c: the disk cache. The records behind the last snapshot are
 * saved to a file (written whole, synced, then renamed in) and read back at
 * start, so a restart while LDAP is down still answers, marked stale.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stafetd.h"
#include "directory.h"
#include "sync.h"

/* Writes the records to the snapshot file: whole, synced, then renamed in. */
int
dir_save_write(const char *path, const struct dir_records *r)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* written a record at a time: the document whole, as JSON objects,
	 * would be ~3 KB a person at every full sync */
	if ((f = fopen(tmp, "we")) != NULL) {
		rc = dir_records_write(f, r);
		if (fclose(f) != 0)
			rc = -1;
	}
	if (rc == 0 && (fd = open(tmp, O_RDONLY | O_CLOEXEC)) != -1) {
		rc = fsync(fd);
		close(fd);
	}
	if (rc != 0 || rename(tmp, path) == -1) {
		log_warn("directory: cannot save the snapshot to %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * Reads the saved records at `path` into `r` (which the caller frees with
 * dir_records_free): 0, or -1 when there is none or it cannot be used
 * (logged, unless the file is simply not there).
 */
int
dir_save_load(const char *path, struct dir_records *r)
{
	json_error_t err;
	json_t *doc;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	/* a record at a time from the text: the document whole, as JSON
	 * objects, would be ~3 KB a person at start */
	if (fd != -1 && fstat(fd, &st) == 0 && st.st_size > 0) {
		void *text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		int rc = -1;
		if (text != MAP_FAILED) {
			rc = dir_records_read(text, (size_t)st.st_size, r);
			munmap(text, (size_t)st.st_size);
		}
		if (rc == 0) {
			close(fd);
			return 0;
		}
	}
	if (fd != -1)
		close(fd);
	/* else whole, as before (and its error message) */
	if ((doc = json_load_file(path, 0, &err)) == NULL) {
		if (access(path, F_OK) == 0)
			log_warnx("directory: cannot read saved snapshot %s: %s", path, err.text);
		return -1;
	}
	if (dir_records_from_json(doc, r) == -1) {
		log_warnx("directory: saved snapshot %s has an unknown format; ignored", path);
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	return 0;
}
