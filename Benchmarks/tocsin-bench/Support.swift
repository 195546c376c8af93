import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The monotonic clock in nanoseconds (`CLOCK_MONOTONIC`, a vDSO call: about 20 ns).
@inline(__always)
func monoNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

@inline(__always)
func nanos(_ seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }

/// Runs `body` on a new thread named `name`; `join()` on the result waits for it.
final class BenchThread: Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(name: String, _ body: @escaping @Sendable () -> Void) {
        let done = self.done
        let thread = Thread {
            // Set from inside: on Linux, a name set before start() never reaches the OS thread (perf, top).
            Thread.current.name = name
            body()
            done.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    func join() { done.wait() }
}

/// A value several threads write once and the main thread reads after joining them.
final class Collected<Value: Sendable>: Sendable {
    private let values = Mutex<[Value]>([])
    init() {}
    func add(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

/// A free TCP port on 127.0.0.1, from the kernel (bind to port 0, read it back, close). Another process could
/// take it before we bind it again; on this machine nothing else does.
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let rc = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Int32 in
            guard bind(fd, p, len) == 0 else { return -1 }
            return getsockname(fd, p, &len)
        }
    }
    guard rc == 0 else { throw BenchError("bind/getsockname: errno \(errno)") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Waits until `fd` is readable or `deadline` (monotonic ns) passes, with nanosecond timeouts (`ppoll`), so a
/// paced sender is not limited to `zmq_poll`'s whole milliseconds.
func waitReadable(_ fd: Int32, until deadline: UInt64) {
    let now = monoNanos()
    guard deadline > now else { return }
    let left = deadline - now
    var ts = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    _ = ppollFunction(&pfd, 1, &ts, nil)
}

/// Waits until one of `fds` is readable or `deadline` (monotonic ns) passes (`ppoll`, nanosecond timeouts).
func waitReadable(_ a: Int32, _ b: Int32, until deadline: UInt64) {
    let now = monoNanos()
    guard deadline > now else { return }
    let left = deadline - now
    var ts = timespec(tv_sec: Int(left / 1_000_000_000), tv_nsec: Int(left % 1_000_000_000))
    var pfds = [pollfd(fd: a, events: Int16(POLLIN), revents: 0), pollfd(fd: b, events: Int16(POLLIN), revents: 0)]
    _ = pfds.withUnsafeMutableBufferPointer { ppollFunction($0.baseAddress, 2, &ts, nil) }
}

private typealias PPoll = @convention(c) (UnsafeMutablePointer<pollfd>?, UInt, UnsafePointer<timespec>?,
                                          UnsafeRawPointer?) -> Int32
/// `ppoll(2)` from the C library: Swift's Glibc module leaves out what `<poll.h>` declares under `_GNU_SOURCE`.
private let ppollFunction: PPoll = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "ppoll") else { fatalError("no ppoll") }
    return unsafeBitCast(symbol, to: PPoll.self)
}()

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Thousands separators, e.g. `123,456`.
func grouped(_ x: Double) -> String {
    let n = Int(x.rounded())
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}

func fixed(_ x: Double, _ places: Int) -> String { String(format: "%.\(places)f", x) }

/// What the benchmark can learn about the machine by itself (the docs add `lscpu`, disk and Swift version).
func machineInfo(tmp: String) -> [String: Any] {
    var info: [String: Any] = [:]
    info["cores"] = ProcessInfo.processInfo.activeProcessorCount
    info["memory_bytes"] = ProcessInfo.processInfo.physicalMemory
    if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
       let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
       let colon = line.firstIndex(of: ":")
    {
        info["cpu"] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    var u = utsname()
    uname(&u)
    info["kernel"] = withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    if let type = filesystemType(of: tmp) { info["tmp_filesystem"] = type }
    return info
}

/// The type of the filesystem holding `path` (e.g. `ext4`, `tmpfs`), from the longest matching mount point in
/// `/proc/self/mounts`.
func filesystemType(of path: String) -> String? {
    guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
    let full = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    var best: (length: Int, type: String)?
    for line in mounts.split(separator: "\n") {
        let f = line.split(separator: " ")
        guard f.count >= 3 else { continue }
        let point = String(f[1])
        let matches = point == "/" || full == point || full.hasPrefix(point + "/")
        if matches && point.count > (best?.length ?? -1) { best = (point.count, String(f[2]) + " on " + String(f[0])) }
    }
    return best?.type
}

/// CPU seconds of each thread of a process so far, summed by thread name (`/proc/<pid>/task/*/schedstat`, or
/// user + system from `stat` where the kernel keeps no schedstat; `self`: this process). Threads that already
/// ended are not in it.
func threadCPUSeconds(pid: String = "self") -> [String: Double] {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var out: [String: Double] = [:]
    let folder = "/proc/\(pid)/task"
    for tid in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
        guard let stat = try? String(contentsOfFile: "\(folder)/\(tid)/stat", encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { continue }
        let name = String(stat[stat.index(after: open)..<close])
        // The scheduler's own count of the thread's time on a CPU (`schedstat`, first field, ns): exact, where
        // `stat`'s utime and stime are sampled at the timer tick and all but missed threads that wake on a
        // timer and sleep again within a tick (the checkpointers: a fifth of their time in `perf sched`).
        if let sched = try? String(contentsOfFile: "\(folder)/\(tid)/schedstat", encoding: .utf8),
           let first = sched.split(separator: " ").first, let ns = Double(first)
        {
            out[name, default: 0] += ns / 1e9
            continue
        }
        // After the name: state is field 3, utime 14, stime 15.
        let f = stat[stat.index(after: close)...].split(separator: " ")
        guard f.count > 12, let u = Double(f[11]), let s = Double(f[12]) else { continue }
        out[name, default: 0] += (u + s) / ticks
    }
    return out
}

/// What each thread name used between two `threadCPUSeconds` samples (names that used nothing left out).
func threadCPUDelta(_ before: [String: Double], _ after: [String: Double]) -> [String: Double] {
    var out: [String: Double] = [:]
    for (name, t) in after where t - (before[name] ?? 0) > 0 { out[name] = t - (before[name] ?? 0) }
    return out
}

/// CPU time used on the whole machine and by this process, to tell whether something else ran during a phase
/// (on 2 cores, another build halves what a benchmark can get).
struct CPUSample {
    /// Busy seconds of all cores (`/proc/stat`: everything but idle and iowait).
    var machine: Double
    /// User and system seconds of this process and of its children that ended (`/proc/self/stat`).
    var own: Double

    static func now() -> CPUSample {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var machine = 0.0, own = 0.0
        if let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
           let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") })
        {
            let f = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            // user nice system idle iowait irq softirq steal ...
            if f.count >= 8 { machine = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / ticks }
        }
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")")
        {
            // Fields after the command name: state is field 3, utime 14, stime 15, and the same of the children
            // waited for (cutime 16, cstime 17): the benchmark's own platform and subscriber processes.
            let f = stat[stat.index(after: close)...].split(separator: " ")
            if f.count > 15, let u = Double(f[11]), let s = Double(f[12]), let cu = Double(f[13]),
               let cs = Double(f[14])
            {
                own = (u + s + cu + cs) / ticks
            }
        }
        return CPUSample(machine: machine, own: own)
    }

    /// Cores' worth of CPU used by other processes between `start` and now, over `seconds` of wall time.
    static func foreignCores(since start: CPUSample, seconds: Double) -> Double {
        let end = now()
        return max(0, (end.machine - start.machine) - (end.own - start.own)) / max(seconds, 1e-9)
    }
}
