// A SQLite VFS shim that keeps unsynced writes in memory (see include/CPowerLossVFS.h).
// https://www.sqlite.org/vfs.html, https://www.sqlite.org/c3ref/io_methods.html

#include "CPowerLossVFS.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    sqlite3_int64 offset;
    int size;
    unsigned char *data;
} PLWrite;

/// One file on the simulated disk, shared by every handle open on it (the OS page cache: an unsynced write
/// is visible to every reader, and a sync through any handle makes it durable).
typedef struct PLNode {
    struct PLNode *next;        // all nodes with open handles, for the cut
    char *path;
    int refs;
    PLWrite *writes;            // unsynced writes, oldest first
    int count, capacity;
    sqlite3_int64 truncatedTo;  // an unsynced truncation (-1: none)
    sqlite3_int64 size;         // the size SQLite sees
} PLNode;

typedef struct PLFile {
    sqlite3_file base;          // must come first: SQLite sees this
    PLNode *node;               // database, WAL or journal: writes wait for xSync; NULL: passed through
    sqlite3_file *real;         // the default VFS's file, allocated right after this struct
} PLFile;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sqlite3_vfs *realVFS;
static sqlite3_vfs vfs;
static int registered;
static int dead;
static PLNode *nodes;
static powerloss_stats stats;

#define REAL(f) (((PLFile *)(f))->real)

static void discard(PLNode *f) {
    for (int i = 0; i < f->count; i++) {
        stats.discarded_writes++;
        stats.discarded_bytes += f->writes[i].size;
        free(f->writes[i].data);
    }
    f->count = 0;
    f->truncatedTo = -1;
}

/// Writes the pending truncation and writes to the real file (through `real`, a handle on it), in order.
static int flush(PLNode *f, sqlite3_file *real) {
    int rc = SQLITE_OK;
    if (f->truncatedTo >= 0) rc = real->pMethods->xTruncate(real, f->truncatedTo);
    for (int i = 0; i < f->count && rc == SQLITE_OK; i++) {
        rc = real->pMethods->xWrite(real, f->writes[i].data, f->writes[i].size, f->writes[i].offset);
    }
    for (int i = 0; i < f->count; i++) free(f->writes[i].data);
    f->count = 0;
    f->truncatedTo = -1;
    return rc;
}

static int plClose(sqlite3_file *file) {
    PLNode *n = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (n && --n->refs == 0) {
        if (dead) discard(n); else flush(n, REAL(file));
        for (PLNode **p = &nodes; *p; p = &(*p)->next) {
            if (*p == n) {
                *p = n->next;
                break;
            }
        }
        free(n->writes);
        free(n->path);
        free(n);
    }
    pthread_mutex_unlock(&lock);
    return REAL(file)->pMethods->xClose(REAL(file));
}

static int plRead(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset) {
    PLNode *f = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (dead) {
        stats.refused++;
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_READ;
    }
    if (!f) {
        pthread_mutex_unlock(&lock);
        return REAL(file)->pMethods->xRead(REAL(file), buffer, amount, offset);
    }
    unsigned char *out = buffer;
    int rc = REAL(file)->pMethods->xRead(REAL(file), buffer, amount, offset);
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
        pthread_mutex_unlock(&lock);
        return rc;
    }
    // What an unsynced truncation removed reads as absent.
    if (f->truncatedTo >= 0 && offset + amount > f->truncatedTo) {
        sqlite3_int64 from = f->truncatedTo > offset ? f->truncatedTo - offset : 0;
        memset(out + from, 0, (size_t)(amount - from));
    }
    for (int i = 0; i < f->count; i++) {
        PLWrite *w = &f->writes[i];
        sqlite3_int64 start = w->offset > offset ? w->offset : offset;
        sqlite3_int64 end = w->offset + w->size < offset + amount ? w->offset + w->size : offset + amount;
        if (start < end) memcpy(out + (start - offset), w->data + (start - w->offset), (size_t)(end - start));
    }
    rc = SQLITE_OK;
    if (offset + amount > f->size) {
        sqlite3_int64 from = f->size > offset ? f->size - offset : 0;
        memset(out + from, 0, (size_t)(amount - from));
        rc = SQLITE_IOERR_SHORT_READ;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int plWrite(sqlite3_file *file, const void *buffer, int amount, sqlite3_int64 offset) {
    PLNode *f = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (dead) {
        stats.refused++;
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_WRITE;
    }
    stats.writes++;
    if (!f) {
        pthread_mutex_unlock(&lock);
        return REAL(file)->pMethods->xWrite(REAL(file), buffer, amount, offset);
    }
    // A rewrite of the same range (a page written again) replaces the earlier unsynced copy, unless a later
    // write overlaps it (newest first: stop at the first overlap).
    for (int i = f->count - 1; i >= 0; i--) {
        if (f->writes[i].offset == offset && f->writes[i].size == amount) {
            memcpy(f->writes[i].data, buffer, (size_t)amount);
            goto done;
        }
        if (f->writes[i].offset < offset + amount && offset < f->writes[i].offset + f->writes[i].size) break;
    }
    if (f->count == f->capacity) {
        int capacity = f->capacity ? f->capacity * 2 : 64;
        PLWrite *grown = realloc(f->writes, sizeof(PLWrite) * (size_t)capacity);
        if (!grown) {
            pthread_mutex_unlock(&lock);
            return SQLITE_IOERR_NOMEM;
        }
        f->writes = grown;
        f->capacity = capacity;
    }
    unsigned char *copy = malloc((size_t)amount);
    if (!copy) {
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_NOMEM;
    }
    memcpy(copy, buffer, (size_t)amount);
    f->writes[f->count++] = (PLWrite){offset, amount, copy};
done:
    if (offset + amount > f->size) f->size = offset + amount;
    pthread_mutex_unlock(&lock);
    return SQLITE_OK;
}

static int plTruncate(sqlite3_file *file, sqlite3_int64 size) {
    PLNode *f = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (dead) {
        stats.refused++;
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_TRUNCATE;
    }
    if (!f) {
        pthread_mutex_unlock(&lock);
        return REAL(file)->pMethods->xTruncate(REAL(file), size);
    }
    int kept = 0;
    for (int i = 0; i < f->count; i++) {
        PLWrite w = f->writes[i];
        if (w.offset >= size) {
            free(w.data);
            continue;
        }
        if (w.offset + w.size > size) w.size = (int)(size - w.offset);
        f->writes[kept++] = w;
    }
    f->count = kept;
    if (f->truncatedTo < 0 || size < f->truncatedTo) f->truncatedTo = size;
    f->size = size;
    pthread_mutex_unlock(&lock);
    return SQLITE_OK;
}

static int plSync(sqlite3_file *file, int flags) {
    PLNode *f = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (dead) {
        stats.refused++;
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_FSYNC;
    }
    stats.syncs++;
    int rc = f ? flush(f, REAL(file)) : SQLITE_OK;
    if (rc == SQLITE_OK) rc = REAL(file)->pMethods->xSync(REAL(file), flags);
    pthread_mutex_unlock(&lock);
    return rc;
}

static int plFileSize(sqlite3_file *file, sqlite3_int64 *size) {
    PLNode *f = ((PLFile *)file)->node;
    pthread_mutex_lock(&lock);
    if (dead) {
        stats.refused++;
        pthread_mutex_unlock(&lock);
        return SQLITE_IOERR_FSTAT;
    }
    if (!f) {
        pthread_mutex_unlock(&lock);
        return REAL(file)->pMethods->xFileSize(REAL(file), size);
    }
    *size = f->size;
    pthread_mutex_unlock(&lock);
    return SQLITE_OK;
}

static int isDead(void) {
    pthread_mutex_lock(&lock);
    int d = dead;
    if (d) stats.refused++;
    pthread_mutex_unlock(&lock);
    return d;
}

static int plLock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xLock(REAL(f), level); }
static int plUnlock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xUnlock(REAL(f), level); }
static int plCheckReservedLock(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int plFileControl(sqlite3_file *f, int op, void *arg) {
    // A size hint would grow the real file behind the shim's back; it is only a hint.
    if (op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int plSectorSize(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int plDeviceCharacteristics(sqlite3_file *f) {
    // Nothing is atomic or safe to append on a disk that loses unsynced writes.
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f))
        & ~(SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE);
}
static int plShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    if (isDead()) return SQLITE_IOERR_SHMMAP;
    return REAL(f)->pMethods->xShmMap(REAL(f), region, size, extend, out);
}
static int plShmLock(sqlite3_file *f, int offset, int n, int flags) {
    // Unlocking must work after the cut, so that closing releases what the connection held.
    if ((flags & SQLITE_SHM_LOCK) && isDead()) return SQLITE_IOERR_SHMLOCK;
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void plShmBarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int plShmUnmap(sqlite3_file *f, int deleteFlag) { return REAL(f)->pMethods->xShmUnmap(REAL(f), deleteFlag); }

static const sqlite3_io_methods ioMethods = {
    2, plClose, plRead, plWrite, plTruncate, plSync, plFileSize, plLock, plUnlock, plCheckReservedLock,
    plFileControl, plSectorSize, plDeviceCharacteristics, plShmMap, plShmLock, plShmBarrier, plShmUnmap,
    NULL, NULL,
};

static int plOpen(sqlite3_vfs *v, const char *name, sqlite3_file *file, int flags, int *outFlags) {
    (void)v;
    PLFile *f = (PLFile *)file;
    memset(f, 0, sizeof(PLFile));
    f->real = (sqlite3_file *)(f + 1);
    if (isDead()) return SQLITE_CANTOPEN;
    int rc = realVFS->xOpen(realVFS, name, f->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        file->pMethods = NULL;
        return rc;
    }
    file->pMethods = &ioMethods;
    int buffered = name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
    pthread_mutex_lock(&lock);
    stats.files_opened++;
    if (buffered) {
        PLNode *n = nodes;
        while (n && strcmp(n->path, name) != 0) n = n->next;
        if (!n) {
            n = calloc(1, sizeof(PLNode));
            char *path = n ? strdup(name) : NULL;
            if (!path) {
                free(n);
                pthread_mutex_unlock(&lock);
                f->real->pMethods->xClose(f->real);
                file->pMethods = NULL;
                return SQLITE_NOMEM;
            }
            n->path = path;
            n->truncatedTo = -1;
            if (f->real->pMethods->xFileSize(f->real, &n->size) != SQLITE_OK) n->size = 0;
            n->next = nodes;
            nodes = n;
        }
        n->refs++;
        f->node = n;
    }
    pthread_mutex_unlock(&lock);
    return SQLITE_OK;
}

static int plDelete(sqlite3_vfs *v, const char *name, int syncDir) {
    (void)v;
    if (isDead()) return SQLITE_IOERR_DELETE;
    return realVFS->xDelete(realVFS, name, syncDir);
}
static int plAccess(sqlite3_vfs *v, const char *name, int flags, int *out) {
    (void)v;
    return realVFS->xAccess(realVFS, name, flags, out);
}
static int plFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) {
    (void)v;
    return realVFS->xFullPathname(realVFS, name, n, out);
}
static void *plDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return realVFS->xDlOpen(realVFS, name); }
static void plDlError(sqlite3_vfs *v, int n, char *out) { (void)v; realVFS->xDlError(realVFS, n, out); }
static void (*plDlSym(sqlite3_vfs *v, void *h, const char *sym))(void) {
    (void)v;
    return realVFS->xDlSym(realVFS, h, sym);
}
static void plDlClose(sqlite3_vfs *v, void *h) { (void)v; realVFS->xDlClose(realVFS, h); }
static int plRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return realVFS->xRandomness(realVFS, n, out); }
static int plSleep(sqlite3_vfs *v, int micros) { (void)v; return realVFS->xSleep(realVFS, micros); }
static int plCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return realVFS->xCurrentTime(realVFS, out); }
static int plGetLastError(sqlite3_vfs *v, int n, char *out) {
    (void)v;
    return realVFS->xGetLastError ? realVFS->xGetLastError(realVFS, n, out) : 0;
}
static int plCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) {
    (void)v;
    return realVFS->xCurrentTimeInt64(realVFS, out);
}

int powerloss_register(void) {
    pthread_mutex_lock(&lock);
    if (registered) {
        pthread_mutex_unlock(&lock);
        return SQLITE_OK;
    }
    realVFS = sqlite3_vfs_find(NULL);
    if (!realVFS || realVFS->iVersion < 2) {
        pthread_mutex_unlock(&lock);
        return SQLITE_ERROR;
    }
    vfs = (sqlite3_vfs){
        2, (int)sizeof(PLFile) + realVFS->szOsFile, realVFS->mxPathname, NULL, POWERLOSS_VFS_NAME, NULL,
        plOpen, plDelete, plAccess, plFullPathname, plDlOpen, plDlError, plDlSym, plDlClose,
        plRandomness, plSleep, plCurrentTime, plGetLastError, plCurrentTimeInt64, NULL, NULL, NULL,
    };
    int rc = sqlite3_vfs_register(&vfs, 0);
    if (rc == SQLITE_OK) registered = 1;
    pthread_mutex_unlock(&lock);
    return rc;
}

void powerloss_cut(void) {
    pthread_mutex_lock(&lock);
    dead = 1;
    for (PLNode *n = nodes; n; n = n->next) discard(n);
    pthread_mutex_unlock(&lock);
}

void powerloss_restore(void) {
    pthread_mutex_lock(&lock);
    dead = 0;
    memset(&stats, 0, sizeof(stats));
    pthread_mutex_unlock(&lock);
}

powerloss_stats powerloss_get_stats(void) {
    pthread_mutex_lock(&lock);
    powerloss_stats s = stats;
    pthread_mutex_unlock(&lock);
    return s;
}
