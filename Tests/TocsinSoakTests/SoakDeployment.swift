import Foundation
import TocsinCore
import TocsinTesting

/// How the workers run: all in one `tocsin run`, or one `tocsin worker NAME` process each.
enum SoakMode: String, Sendable, CaseIterable, CustomStringConvertible {
    case single, workers
    var description: String { rawValue }
    var processNames: [String] { self == .single ? ["run"] : ["ingest", "classify", "dispatch", "plan"] }
}

/// A Tocsin deployment of child processes on free loopback ports, sharing one data folder, that the fault suite
/// kills, pauses, stops and restarts. Every process's output goes to `logs/<name>-<life>.log`.
final class SoakDeployment {
    let dir: String
    let configPath: String
    let ingest: String
    let feed: String
    let command: String
    private(set) var mode: SoakMode
    private(set) var processes: [String: ChildProcess] = [:]
    private var lives: [String: Int] = [:]
    private var startedAt: [String: ContinuousClock.Instant] = [:]
    /// Processes started, killed (SIGKILL) and stopped (SIGTERM) over the deployment's life.
    private(set) var starts = 0, kills = 0, stops = 0

    init(dir: String, mode: SoakMode) throws {
        self.dir = dir
        self.mode = mode
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        let endpoints = TestTCPEndpoints()
        configPath = dir + "/tocsin.yaml"
        ingest = endpoints.ingest
        feed = endpoints.feed
        command = endpoints.command
        // `tocsin run` serves HTTP too, on a port of its own. Escalation is pushed out of reach: the suite compares
        // warnings with a fault-free run of another length, and an escalation at a wall-clock moment would differ
        // between the two for reasons of time, not faults.
        let text = endpoints.yaml + """

            data: \(dir)/data
            durability: full
            escalation:
              street: 24h
              district: 24h
              city: 24h
            http:
              listen: 127.0.0.1:\(freeTCPPort())
            areas: \(Fixtures.repositoryRoot)/Config/areas.yaml
            catalog: \(Fixtures.repositoryRoot)/Config/catalog.yaml
            plans: \(Fixtures.repositoryRoot)/Config/plans
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    var journalPath: String { dir + "/data/journal.sqlite" }

    /// Starts every process of the mode (the data folder may hold an earlier life in either mode).
    func startAll(_ mode: SoakMode? = nil) throws {
        if let mode { self.mode = mode }
        for name in self.mode.processNames { try start(name) }
    }

    func start(_ name: String) throws {
        let life = (lives[name] ?? 0) + 1
        lives[name] = life
        let arguments = (name == "run" ? ["run"] : ["worker", name]) + ["--config", configPath, "--log-level", "warning"]
        processes[name] = try ChildProcess(executable: soakBinary("tocsin"), arguments: arguments,
                                           logPath: dir + "/logs/\(name)-\(life).log")
        startedAt[name] = ContinuousClock.now
        starts += 1
    }

    /// SIGKILL, wait for the end (at most 5 s), start again.
    func killAndRestart(_ name: String) throws {
        guard let p = processes[name] else { throw SoakError("no process \(name)") }
        p.kill(SIGKILL)
        kills += 1
        guard p.wait(timeout: 5) != nil else { throw SoakError("\(name) did not die of SIGKILL within 5 s") }
        try start(name)
    }

    func signal(_ name: String, _ sig: Int32) {
        processes[name]?.kill(sig)
    }

    /// SIGTERM to every process at once; each one's exit status and seconds to exit (nil: still running after
    /// `timeout`, then killed).
    func stopAll(timeout: Double = 5) -> [(name: String, status: Int32?, seconds: Double)] {
        let clock = ContinuousClock()
        // A process signalled before its `main` has run dies of the signal's default action, as any program does
        // (the commands catch SIGTERM from their first line on): one restarted a moment ago gets that moment.
        if let youngest = startedAt.values.max(), clock.now - youngest < .milliseconds(300) {
            Thread.sleep(forTimeInterval: 0.3)
        }
        let sent = clock.now
        let running = processes.sorted { $0.key < $1.key }
        for (_, p) in running { p.kill(SIGTERM) }
        stops += running.count
        // Watch them all at once, so that each one's time is its own.
        var ended: [String: Double] = [:]
        while ended.count < running.count, seconds(clock.now - sent) < timeout {
            for (name, p) in running where ended[name] == nil && !p.process.isRunning {
                ended[name] = seconds(clock.now - sent)
            }
            usleep(5_000)
        }
        var out: [(String, Int32?, Double)] = []
        for (name, p) in running {
            if let t = ended[name] {
                out.append((name, p.process.terminationStatus, t))
            } else {
                p.kill(SIGCONT)
                p.kill(SIGKILL)
                _ = p.wait(timeout: 5)
                out.append((name, nil, seconds(clock.now - sent)))
            }
        }
        processes = [:]
        return out
    }

    /// Kills whatever still runs (after a failed test).
    func killAll() {
        for (_, p) in processes {
            p.kill(SIGCONT)
            p.kill(SIGKILL)
            _ = p.wait(timeout: 5)
        }
        processes = [:]
    }

    /// The processes that ended although nobody stopped or killed them (with their exit status).
    func deadProcesses() -> [String] {
        processes.filter { !$0.value.process.isRunning }.map { "\($0.key) (exit \($0.value.process.terminationStatus))" }.sorted()
    }

    /// Throws when a process died that nobody stopped or killed.
    func checkAlive() throws {
        let dead = deadProcesses()
        if !dead.isEmpty { throw SoakError("Tocsin processes died: \(dead)\n\(logTail())") }
    }

    /// Waits until the command endpoint answers `stats`.
    func waitReady(timeout: Double = 30) throws {
        let client = try WireClient(endpoint: command)
        defer { client.close() }
        let end = Date().addingTimeInterval(timeout)
        try client.send(#"{"op":"stats"}"#)
        while Date() < end {
            if let r = try client.reply(timeoutMilliseconds: 200), r["ok"] == .bool(true) { return }
        }
        throw SoakError("no stats from \(command) within \(timeout) s\n\(logTail())")
    }

    /// One request to the command endpoint, on a fresh socket (dispatch may have been restarted).
    func request(_ text: String, timeout: Double = 5) throws -> JSONValue? {
        let client = try WireClient(endpoint: command)
        defer { client.close() }
        return try client.request(text, timeoutMilliseconds: Int32(timeout * 1000))
    }

    /// Waits until every journaled event has reached the feed: the pipeline is idle with `events` journaled, or
    /// idle for 2 s with fewer (the platforms are done by then, so the journal will not grow; the caller's checks
    /// say what is missing). Returns the feed's last seq.
    func settle(events: Int, timeout: Double) throws -> Int {
        let end = Date().addingTimeInterval(timeout)
        var last: JSONValue?
        var idleSince: Date?
        while Date() < end {
            if let p = try request(#"{"op":"progress"}"#, timeout: 2) {
                last = p
                if p["idle"] == .bool(true), let seq = p["seq"]?.numberValue {
                    if p["journal"]?.numberValue == Double(events) { return Int(seq) }
                    if let since = idleSince, Date().timeIntervalSince(since) > 2 { return Int(seq) }
                    idleSince = idleSince ?? Date()
                } else {
                    idleSince = nil
                }
            }
            usleep(100_000)
        }
        throw SoakError("the pipeline did not settle at \(events) events within \(timeout) s: \(last?.serializedString() ?? "no progress")\n\(logTail())")
    }

    /// The whole feed (`since 0`, page by page), or the messages of `prefix`.
    func feed(prefix: String = "") throws -> [(topic: String, body: JSONValue)] {
        var out: [(String, JSONValue)] = []
        var after = 0
        for _ in 0..<1000 {
            var w = JSONWriter()
            w.beginObject()
            w.field("op", "since")
            w.field("seq", after)
            w.field("prefix", prefix)
            w.endObject()
            guard let reply = try request(w.string, timeout: 60), case .array(let messages)? = reply["messages"] else {
                throw SoakError("since \(after) got no reply")
            }
            if messages.isEmpty { return out }
            for m in messages {
                guard case .string(let topic)? = m["topic"], let body = m["body"], let seq = body["seq"]?.numberValue else {
                    throw SoakError("since: a message without topic, body or seq")
                }
                out.append((topic, body))
                after = Int(seq)
            }
        }
        throw SoakError("since did not end")
    }

    /// The last lines of every log, for failure messages.
    func logTail(lines: Int = 5) -> String {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/logs"))?.sorted() ?? []
        return files.map { f -> String in
            let text = (try? String(contentsOfFile: dir + "/logs/" + f, encoding: .utf8)) ?? ""
            let tail = text.split(separator: "\n").suffix(lines).joined(separator: "\n  ")
            return tail.isEmpty ? "" : "\(f):\n  \(tail)"
        }.filter { !$0.isEmpty }.joined(separator: "\n")
    }
}

/// The executables the suite runs: from `TOCSIN_SOAK_BIN` when set (a copy that a rebuild cannot replace in the
/// middle of a long run, or another build), else the ones built beside the tests.
func soakBinary(_ name: String) -> String {
    if let dir = ProcessInfo.processInfo.environment["TOCSIN_SOAK_BIN"] { return dir + "/" + name }
    return ChildProcess.binary(name)
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
