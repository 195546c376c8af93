import Foundation
import TocsinCore
import TocsinTesting

/// The events of the fault suite's platforms. Each platform publishes from its own street, in eight districts, and
/// places its incidents on its own patch of the map, far from every other platform's, so that no incident mixes
/// two platforms: the warnings then depend only on each platform's own order, which the journal keeps, and not on
/// how the platforms interleave. That is what makes them comparable with a fault-free run.
///
/// Two kinds of event, in one ordered stream per platform:
/// - gauges: `water_level` readings rising 2.6, 3.1, 3.6, 4.1 m at a fresh location each (1.1 km apart, more than
///   the flood radius): an alert at tier IV, then updates at III, II and I, and the flood plan's tasks;
/// - load: `rainfall` readings of 5 mm/h at one place per platform, below every tier: journaled and classified
///   (one incident without a tier), never a warning.
struct SoakWorkload {
    struct Platform {
        var source: String
        var lines: [[UInt8]]
        var ids: [String]
    }

    static let sources = ["sz.futian.shatou", "sz.luohu.dongmen", "sz.nanshan.yuehai", "sz.yantian.shatoujiao",
                          "sz.baoan.xinan", "sz.longgang.buji", "sz.longhua.minzhi", "sz.pingshan.pingshan"]
    static let levels = [2.6, 3.1, 3.6, 4.1]
    /// Feed messages of one gauge with the shipped flood plan: 4 warnings and 11 tasks (measured). Only used to
    /// size a burst; the suite records the real count.
    static let messagesPerGauge = 15

    var platforms: [Platform]
    var total: Int { platforms.reduce(0) { $0 + $1.lines.count } }

    /// `perPlatform` events for each of `platformCount` platforms; one in `gaugeEvery` is a gauge reading (1: all).
    /// Times start 20 minutes ago, 1 ms apart: valid for the whole run, and never near the quiet period.
    init(platformCount: Int = 8, perPlatform: Int, gaugeEvery: Int, tag: String) {
        let t0 = Timestamp(micros: (Int64(Date().timeIntervalSince1970 * 1000) - 20 * 60 * 1000) * 1000)
        platforms = (0..<platformCount).map { p in
            let source = Self.sources[p % Self.sources.count]
            var lines: [[UInt8]] = []
            var ids: [String] = []
            lines.reserveCapacity(perPlatform)
            var gaugeSteps = 0
            for i in 0..<perPlatform {
                let time = t0.adding(seconds: Double(i) / 1000).rfc3339
                let id: String
                let json: String
                if i % gaugeEvery == 0 {
                    // Gauges rise in groups of ten, so that one gauge's readings are spread over the stream.
                    let n = gaugeSteps
                    gaugeSteps += 1
                    let gauge = (n / 40) * 10 + n % 10
                    let step = (n / 10) % 4
                    id = "\(tag)p\(p)-g\(gauge)-\(step)"
                    let lat = 20 + Double(gauge / 30) * 0.01
                    let lon = 110 + Double(p) * 0.5 + Double(gauge % 30) * 0.01
                    json = Self.event(id: id, source: source, type: "water_level", time: time, lat: lat, lon: lon,
                                      value: "\"level_m\":\(Self.levels[step])")
                } else {
                    id = "\(tag)p\(p)-r\(i)"
                    json = Self.event(id: id, source: source, type: "rainfall", time: time, lat: 19.5,
                                      lon: 110 + Double(p) * 0.5, value: "\"mm_per_h\":5")
                }
                lines.append(Array(json.utf8))
                ids.append(id)
            }
            return Platform(source: source, lines: lines, ids: ids)
        }
    }

    static func event(id: String, source: String, type: String, time: String, lat: Double, lon: Double,
                      value: String) -> String {
        #"{"id":"\#(id)","source":"\#(source)","kind":"sensor","type":"\#(type)","time":"\#(time)","location":{"lat":\#(lat),"lon":\#(lon)},"values":{\#(value)}}"#
    }

    /// Writes each platform's events to `dir/platform-<n>.jsonl`.
    func write(to dir: String) throws {
        for (n, p) in platforms.enumerated() {
            var data = Data()
            for line in p.lines {
                data.append(contentsOf: line)
                data.append(UInt8(ascii: "\n"))
            }
            try data.write(to: URL(fileURLWithPath: dir + "/platform-\(n).jsonl"))
        }
    }
}

/// The platform processes (`tocsin-soak platform`) of a run, one per platform of the workload.
final class SoakPlatforms {
    struct Result {
        /// Per event, in send order: the first reply's status (nil: none came), and how often it was sent.
        var statuses: [String?]
        var attempts: [Int]
        /// The summary line the platform printed.
        var summary: JSONValue
    }

    let dir: String
    let processes: [ChildProcess]

    /// Starts one platform process per platform of `workload` (whose files `write(to: dir)` made).
    init(_ workload: SoakWorkload, dir: String, endpoint: String, window: Int = 100, timeout: Double = 1,
         maxTimeout: Double = 4, rate: Double = 0, deadline: Double, sameSocket: Bool = false) throws {
        self.dir = dir
        var processes: [ChildProcess] = []
        for n in workload.platforms.indices {
            var arguments = ["platform", "--endpoint", endpoint, "--events", dir + "/platform-\(n).jsonl",
                             "--results", dir + "/platform-\(n).results", "--window", "\(window)",
                             "--timeout", "\(timeout)", "--max-timeout", "\(maxTimeout)", "--rate", "\(rate)",
                             "--deadline", "\(deadline)"]
            if sameSocket { arguments.append("--same-socket") }
            processes.append(try ChildProcess(executable: soakBinary("tocsin-soak"), arguments: arguments,
                                              logPath: dir + "/platform-\(n).log"))
        }
        self.processes = processes
    }

    var running: Bool { processes.contains { $0.process.isRunning } }

    func killAll() {
        for p in processes where p.process.isRunning {
            p.kill(SIGKILL)
            _ = p.wait(timeout: 5)
        }
    }

    /// Waits for every platform (at most `timeout` seconds, plus a little for a platform that reached its own
    /// deadline to write its results) and reads what each recorded.
    /// Fails early when `deployment` lost a process it did not kill itself.
    func finish(timeout: Double, watching deployment: SoakDeployment? = nil) throws -> [Result] {
        let end = Date().addingTimeInterval(timeout + 10)
        while running, Date() < end {
            if let dead = deployment?.deadProcesses(), !dead.isEmpty {
                killAll()
                throw SoakError("Tocsin processes died: \(dead)\n\(deployment?.logTail() ?? "")")
            }
            usleep(20_000)
        }
        if let p = processes.first(where: { $0.process.isRunning }) {
            killAll()
            throw SoakError("a platform did not finish within \(timeout) s: \(p.log.suffix(500))")
        }
        return try processes.indices.map { n in
            guard let text = try? String(contentsOfFile: dir + "/platform-\(n).results", encoding: .utf8) else {
                throw SoakError("platform \(n) wrote no results (exit \(processes[n].process.terminationStatus)): \(processes[n].log.suffix(500))")
            }
            var statuses: [String?] = []
            var attempts: [Int] = []
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "\t")
                guard parts.count == 3, let a = Int(parts[2]) else { throw SoakError("platform \(n): bad result line \(line)") }
                statuses.append(parts[1] == "-" ? nil : String(parts[1]))
                attempts.append(a)
            }
            let summaryLine = processes[n].log.split(separator: "\n").last { $0.hasPrefix("{") } ?? "{}"
            return Result(statuses: statuses, attempts: attempts, summary: (try? JSONValue.parse(String(summaryLine))) ?? .null)
        }
    }
}
