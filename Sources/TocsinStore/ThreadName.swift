#if canImport(Glibc)
import Glibc
#endif

/// Sets the calling thread's name as the kernel shows it (`/proc/thread-self/comm`, at most 15 bytes): what top,
/// perf and `/proc/<pid>/task/*/stat` show, and what the benchmark's CPU by thread is keyed by. Foundation's
/// `Thread.name`, set from inside the thread, did not always get there: in one pipeline of several, the ingest
/// thread showed with the process's name. Best effort: on failure the name stays what it was.
public func setKernelThreadName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
