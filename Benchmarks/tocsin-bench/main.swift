// tocsin-bench: release-build benchmarks of Tocsin, with the raw libzmq and SQLite limits measured in the same
// run. `tocsin-bench` (or `all`) runs everything and prints one table (All.swift); `ingest` (below), `classify`,
// `e2e` and `drill` are the single suites. See docs/performance.md.
import CZeroMQ
import Foundation
import GRDBSQLite
import Logging
import TocsinConfig
import TocsinStore

let usage = """
    usage: tocsin-bench [all] ...        everything in one run, one table (see tocsin-bench all --help)
           tocsin-bench classify|e2e|drill ... (see tocsin-bench <name> --help)
           tocsin-bench ingest [--json PATH] [--quick] [--seconds S] [--warmup S] [--tmp DIR]
                               [--config PATH] [--clients 1,4] [--window N] [--rate N]
                               [--phases zmq,sqlite,ingest,latency] [--modes normal,full]

    Measures, in one run: libzmq alone (DEALER->ROUTER echo, 300 B, --window in flight, TCP loopback),
    SQLite alone (1,000-row transactions, WAL, synchronous NORMAL and FULL), Tocsin ingest end to end
    (an in-process Pipeline with the shipped config, durability normal and full, --clients platforms
    pipelining --window events each) and ack latency at a steady --rate events/s. Prints one table;
    --json also writes every figure to PATH.

      --quick       short phases (about 30 s in all instead of about 100 s)
      --seconds S   measured seconds of every phase (default 6, quick 1.5)
      --warmup S    unmeasured seconds before each measured window (default 1, quick 0.5)
      --tmp DIR     where the databases go (default .build-bench/tmp; keep it on the disk under test)
      --phases, --modes   run only these phases / durability modes (e.g. to profile one of them)
    """

struct Options {
    var json: String?
    var seconds = 6.0
    var warmup = 1.0
    var tmp = ".build-bench/tmp"
    var config = ConfigLoader.defaultPath
    var clients = [1, 4]
    var window = 1000
    var rate = 10_000.0
    var phases: Set<String> = ["zmq", "sqlite", "ingest", "latency"]
    var modes: [Durability] = [.normal, .full]

    static func parse(_ args: [String]) throws -> Options {
        var o = Options()
        guard args.first == "ingest" else { throw BenchError(usage) }
        var explicitSeconds: Double?, explicitWarmup: Double?
        var quick = false
        var i = 1
        func value() throws -> String {
            i += 1
            guard i < args.count else { throw BenchError("\(args[i - 1]) needs a value\n\n\(usage)") }
            return args[i]
        }
        func number(_ s: String) throws -> Double {
            guard let d = Double(s), d > 0 else { throw BenchError("not a positive number: \(s)") }
            return d
        }
        while i < args.count {
            switch args[i] {
            case "--json": o.json = try value()
            case "--quick": quick = true
            case "--seconds": explicitSeconds = try number(value())
            case "--warmup": explicitWarmup = try number(value())
            case "--tmp": o.tmp = try value()
            case "--config": o.config = try value()
            case "--window": o.window = Int(try number(value()))
            case "--rate": o.rate = try number(value())
            case "--clients":
                o.clients = try value().split(separator: ",").map {
                    guard let n = Int($0), n > 0 else { throw BenchError("--clients: not a count: \($0)") }
                    return n
                }
            case "--phases":
                o.phases = Set(try value().split(separator: ",").map(String.init))
                let unknown = o.phases.subtracting(["zmq", "sqlite", "ingest", "latency"])
                guard unknown.isEmpty else { throw BenchError("--phases: unknown \(unknown.sorted())") }
            case "--modes":
                o.modes = try value().split(separator: ",").map {
                    guard let m = Durability(rawValue: String($0)) else { throw BenchError("--modes: unknown \($0)") }
                    return m
                }
            case "-h", "--help": throw BenchError(usage)
            default: throw BenchError("unknown argument \(args[i])\n\n\(usage)")
            }
            i += 1
        }
        o.seconds = explicitSeconds ?? (quick ? 1.5 : 6)
        o.warmup = explicitWarmup ?? (quick ? 0.5 : 1)
        return o
    }
}

func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func main() throws {
    let o = try Options.parse(Array(CommandLine.arguments.dropFirst()))
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = .warning
        return h
    }
    let logger = Logger(label: "tocsin-bench")
    try FileManager.default.createDirectory(atPath: o.tmp, withIntermediateDirectories: true)
    let folder = o.tmp + "/run-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let run = String(UUID().uuidString.prefix(4)).lowercased()
    let modes = o.modes
    let began = Date()

    var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    var machine = machineInfo(tmp: folder)
    machine["libzmq"] = "\(major).\(minor).\(patch)"
    machine["sqlite"] = String(cString: sqlite3_libversion())
    if (machine["tmp_filesystem"] as? String)?.hasPrefix("tmpfs") == true {
        note("warning: \(o.tmp) is on tmpfs: fsync costs nothing there, so FULL figures mean little")
    }

    var echo: EchoResult?
    var inserts: [Durability: InsertResult] = [:]
    var ingest: [Durability: [Int: IngestResult]] = [:]
    var latency: [Durability: LatencyResult] = [:]
    // Other processes' CPU during each phase, in cores: on 2 cores anything above ~0.1 skews the figures.
    var foreign: [String: Double] = [:]
    func phase(_ name: String, _ body: () throws -> String) throws {
        note(name + " ...")
        let cpu = CPUSample.now()
        let started = monoNanos()
        var line = try body()
        let other = CPUSample.foreignCores(since: cpu, seconds: Double(monoNanos() - started) / 1e9)
        foreign[name] = other
        line += "  (\(fixed(Double(monoNanos() - started) / 1e9, 1)) s in all)"
        if other > 0.1 { line += "  [other processes used \(fixed(other, 2)) cores meanwhile]" }
        note(line)
    }

    if o.phases.contains("zmq") {
        try phase("libzmq echo, \(o.window) in flight, \(o.seconds) s") {
            let r = try measureZMQEcho(warmup: o.warmup, seconds: o.seconds, window: o.window)
            echo = r
            return "  \(grouped(r.perSecond)) msg/s"
        }
    }
    if o.phases.contains("sqlite") {
        for mode in modes {
            try phase("SQLite inserts, synchronous=\(mode.rawValue.uppercased()), \(o.seconds) s") {
                let r = try measureSQLiteInserts(folder: folder, sync: mode == .full ? .full : .normal,
                                                 warmup: o.warmup, seconds: o.seconds)
                inserts[mode] = r
                return "  \(grouped(r.perSecond)) rows/s (\(r.transactions) transactions)"
            }
        }
    }
    if o.phases.contains("ingest") {
        for mode in modes {
            for clients in o.clients {
                try phase("ingest, durability \(mode.rawValue), \(clients) platform(s), \(o.seconds) s") {
                    let r = try measureIngest(configPath: o.config, durability: mode, clients: clients,
                                              window: o.window, warmup: o.warmup, seconds: o.seconds, folder: folder,
                                              run: run, logger: logger)
                    ingest[mode, default: [:]][clients] = r
                    var line = "  \(grouped(r.perSecond)) accepted/s; \(r.total.replies)/\(r.total.sent) answered; "
                        + "stop took \(fixed(r.stopSeconds, 1)) s"
                    if r.total.bad > 0 { line += "; \(r.total.bad) NOT accepted, e.g. \(r.total.firstBad ?? "?")" }
                    return line
                }
            }
        }
    }
    if o.phases.contains("latency") {
        for mode in modes {
            try phase("ack latency, durability \(mode.rawValue), \(grouped(o.rate)) events/s, \(o.seconds) s") {
                let r = try measureLatency(configPath: o.config, durability: mode, rate: o.rate, warmup: o.warmup,
                                           seconds: o.seconds, folder: folder, run: run, logger: logger)
                latency[mode] = r
                var line = "  p50 \(ms(r.histogram, 50)) ms, p99 \(ms(r.histogram, 99)) ms, p99.9 \(ms(r.histogram, 99.9)) ms"
                if r.bad > 0 { line += "; \(r.bad) NOT accepted, e.g. \(r.firstBad ?? "?")" }
                return line
            }
        }
    }

    let report = Report(options: o, echo: echo, inserts: inserts, ingest: ingest, latency: latency)
    print(report.table())
    print()
    print(report.targets().map { "- " + $0 }.joined(separator: "\n"))
    let busiest = foreign.max { $0.value < $1.value }
    if let busiest, busiest.value > 0.1 {
        print("- WARNING: other processes used up to \(fixed(busiest.value, 2)) cores during a phase (\(busiest.key)); "
              + "these figures are not a quiet machine's")
    } else {
        print("- quiet machine: other processes used under 0.1 core during every phase")
    }

    if let path = o.json {
        var doc = report.json()
        doc["machine"] = machine
        doc["started"] = ISO8601DateFormatter().string(from: began)
        doc["wall_seconds"] = Date().timeIntervalSince(began)
        doc["tmp"] = o.tmp
        doc["other_processes_cores_by_phase"] = foreign
        doc["command"] = CommandLine.arguments.joined(separator: " ")
        let data = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys])
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try data.write(to: URL(fileURLWithPath: path))
        note("wrote \(path)")
    }
}

do {
    let arguments = Array(CommandLine.arguments.dropFirst())
    switch arguments.first {
    case nil, "all": try runAllCommand(Array(arguments.dropFirst()))
    case let flag? where flag.hasPrefix("--"): try runAllCommand(arguments)
    case "classify": try runClassifyCommand(Array(arguments.dropFirst()))
    case "e2e": try runEndToEndCommand(Array(arguments.dropFirst()))
    case "drill": try runDrillCommand(Array(arguments.dropFirst()))
    case "micro": try runMicroCommand(Array(arguments.dropFirst()))
    // Children of `all` (Children.swift): a platform, and a process of feed subscribers.
    case "platform": try runPlatformCommand(Array(arguments.dropFirst()))
    case "subscribers": try runSubscribersCommand(Array(arguments.dropFirst()))
    case "point": try runPointCommand(Array(arguments.dropFirst()))
    default: try main()
    }
} catch {
    note("\(error)")
    exit(2)
}
