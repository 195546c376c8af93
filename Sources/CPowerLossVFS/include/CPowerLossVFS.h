#ifndef CPOWERLOSSVFS_H
#define CPOWERLOSSVFS_H

#include <stdint.h>

/// A SQLite VFS shim for power-loss tests: a file system that drops every write not yet synced.
///
/// Registered as "powerloss" (never as the default), on top of the default VFS. Writes to the database,
/// its WAL and its journal stay in memory until SQLite syncs the file (xSync): reads see them, the file on
/// disk does not. `powerloss_cut()` is the power failure: unsynced writes are discarded and every later I/O
/// through the shim fails (SQLITE_IOERR), so the "dead" process writes nothing more. Reopen the files with
/// the normal VFS to see what a machine would find after rebooting. Unsynced writes belong to the file, not
/// to the handle (like an OS's page cache): every connection sees them, and a sync through any handle makes
/// them durable. Closing a file's last handle while the power is on writes them out without syncing.
///
/// Test support only: one global mutex serialises the shim's bookkeeping.

/// Registers the VFS under `POWERLOSS_VFS_NAME` (idempotent). Returns SQLITE_OK or an SQLite error code.
int powerloss_register(void);

/// The power failure: discards every open file's unsynced writes and fails all later I/O through the shim.
void powerloss_cut(void);

/// Power on again (for the next test): new opens through the shim work; the counters restart at 0.
void powerloss_restore(void);

/// What the shim saw since the last restore.
typedef struct {
    int64_t files_opened;
    int64_t syncs;
    int64_t writes;
    /// Unsynced writes thrown away by `powerloss_cut()`, and their bytes.
    int64_t discarded_writes;
    int64_t discarded_bytes;
    /// I/O calls refused after the cut.
    int64_t refused;
} powerloss_stats;

powerloss_stats powerloss_get_stats(void);

#define POWERLOSS_VFS_NAME "powerloss"

#endif
