// Shared scaffolding of the `classify`, `e2e` and `drill` subcommands: option parsing, phases with the
// other-load check, the quiet-machine line and the JSON document. See docs/performance.md.
import CZeroMQ
import Foundation
import TocsinCore
import GRDBSQLite

/// `--name value` options and `--flag` switches of one subcommand.
struct SuiteArgs {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    let usage: String

    init(_ args: [String], valued: Set<String>, switches: Set<String>, usage: String) throws {
        self.usage = usage
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "-h" || a == "--help" { throw BenchError(usage) }
            if switches.contains(a) {
                flags.insert(a)
            } else if valued.contains(a) {
                i += 1
                guard i < args.count else { throw BenchError("\(a) needs a value\n\n\(usage)") }
                values[a] = args[i]
            } else {
                throw BenchError("unknown argument \(a)\n\n\(usage)")
            }
            i += 1
        }
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    func string(_ name: String) -> String? { values[name] }

    func number(_ name: String, default value: Double) throws -> Double {
        guard let s = values[name] else { return value }
        guard let d = Double(s.replacingOccurrences(of: "_", with: "")), d > 0 else {
            throw BenchError("\(name): not a positive number: \(s)")
        }
        return d
    }

    func counts(_ name: String, default value: [Int]) throws -> [Int] {
        guard let s = values[name] else { return value }
        return try s.split(separator: ",").map {
            guard let n = Int($0.replacingOccurrences(of: "_", with: "")), n > 0 else {
                throw BenchError("\(name): not a count: \($0)")
            }
            return n
        }
    }
}

/// Runs named phases, each with the other-load check of `ingest` (`/proc/stat` around the phase).
final class Phases {
    /// Other processes' CPU during each phase, in cores.
    private(set) var foreign: [String: Double] = [:]
    let began = Date()
    /// The run's data folder, emptied and synced before each phase (nil: left alone).
    let folder: String?

    init(settling folder: String? = nil) { self.folder = folder }

    func run(_ name: String, _ body: () throws -> String) rethrows {
        settle()
        note(name + " ...")
        let cpu = CPUSample.now()
        let started = monoNanos()
        var line = try body()
        let seconds = Double(monoNanos() - started) / 1e9
        let other = CPUSample.foreignCores(since: cpu, seconds: seconds)
        foreign[name] = other
        line += "  (\(fixed(seconds, 1)) s in all)"
        if other > 0.1 { line += "  [other processes used \(fixed(other, 2)) cores meanwhile]" }
        note(line)
    }

    /// Every phase starts on a quiet disk: the files of the phases before it removed (a removed file's pages are
    /// never written back) and the rest written out (`sync`), untimed. Without it the kernel wrote back earlier
    /// phases' data during the next one: the `e2e` run after the raw SQLite loops measured 1.3 us of checkpoint
    /// CPU per event instead of 0.7 (2026-11-30), the raw `FULL` loop came after the `NORMAL` one's files.
    private func settle() {
        guard let folder, let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries { try? FileManager.default.removeItem(atPath: folder + "/" + entry) }
        sync()
    }

    /// The last line under the table: a quiet machine, or a warning naming the busiest phase.
    var quietLine: String {
        if let busiest = foreign.max(by: { $0.value < $1.value }), busiest.value > 0.1 {
            return "- WARNING: other processes used up to \(fixed(busiest.value, 2)) cores during a phase "
                + "(\(busiest.key)); these figures are not a quiet machine's"
        }
        return "- quiet machine: other processes used under 0.1 core during every phase"
    }

    /// Writes `doc` with the machine, the run's times, the other load by phase and the command to `path`.
    func writeJSON(_ doc: [String: Any], to path: String) throws {
        var doc = doc
        var machine = machineInfo(tmp: NSTemporaryDirectory())
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        machine["libzmq"] = "\(major).\(minor).\(patch)"
        machine["sqlite"] = String(cString: sqlite3_libversion())
        doc["machine"] = machine
        doc["started"] = ISO8601DateFormatter().string(from: began)
        doc["wall_seconds"] = Date().timeIntervalSince(began)
        doc["other_processes_cores_by_phase"] = foreign
        doc["command"] = CommandLine.arguments.joined(separator: " ")
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try data.write(to: URL(fileURLWithPath: path))
        note("wrote \(path)")
    }
}

/// A markdown table.
func markdownTable(_ rows: [[String]], align: String) -> String {
    var out = ""
    for (i, row) in rows.enumerated() {
        out += "| " + row.joined(separator: " | ") + " |\n"
        if i == 0 { out += align + "\n" }
    }
    return out
}

/// Resident memory of this process in bytes (`/proc/self/statm`, second field, in pages).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let f = text.split(separator: " ")
    guard f.count > 1, let pages = Int(f[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// glibc `malloc_stats()`: bytes in use per arena, on stderr; then what SQLite has allocated (page caches,
/// statements) across every connection of the process.
func printMallocStats() {
    typealias Stats = @convention(c) () -> Void
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_stats") else { return }
    unsafeBitCast(symbol, to: Stats.self)()
    FileHandle.standardError.write(Data("SQLite in use bytes = \(sqlite3_memory_used())\n".utf8))
}

/// Hands memory that malloc holds free back to the system (glibc `malloc_trim(0)`), so that an RSS delta taken
/// after it counts new allocations, not pages freed by an earlier phase and reused.
func trimMalloc() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

/// CPU time of the calling thread, in nanoseconds.
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A seeded generator (SplitMix64), so every run builds the same events.
typealias BenchRandom = SplitMix64

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Points on a grid over the Shenzhen bounding box (lat 22.45-22.85, lon 113.75-114.6), `spacingM` metres
/// apart in both directions (the longitude step is taken at the box's northern edge, where degrees are
/// shortest, so no two points are closer than `spacingM`), row by row.
struct ShenzhenGrid {
    static let south = 22.45, north = 22.85, west = 113.75, east = 114.6
    static let metresPerDegree = 6_371_008.8 * Double.pi / 180
    let dLat: Double
    let dLon: Double
    let rows: Int
    let columns: Int
    var count: Int { rows * columns }

    init(spacingM: Double) {
        dLat = spacingM / Self.metresPerDegree
        dLon = spacingM / (Self.metresPerDegree * cos(Self.north * .pi / 180))
        rows = Int(((Self.north - Self.south) / dLat).rounded(.down)) + 1
        columns = Int(((Self.east - Self.west) / dLon).rounded(.down)) + 1
    }

    func point(_ i: Int) -> (lat: Double, lon: Double) {
        (Self.south + Double(i / columns) * dLat, Self.west + Double(i % columns) * dLon)
    }
}

/// `12.3 MiB` style sizes.
func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576, 1) + " MiB" }
