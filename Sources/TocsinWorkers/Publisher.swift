import Foundation
import TocsinCore
import ZeroMQ

/// A platform-side client of the ingest endpoint: pipelines events with a bounded window, matches replies by
/// id, resends what got no reply within the time-out, and counts every outcome.
public final class Publisher {
    public struct Progress: Sendable {
        public var sent: Int, accepted: Int, duplicate: Int, rejected: Int, inFlight: Int, total: Int
        public var eventsPerSecond: Double
        public var line: String {
            "sent \(sent)/\(total)  accepted \(accepted)  duplicate \(duplicate)  rejected \(rejected)  "
                + "in flight \(inFlight)  \(Int(eventsPerSecond)) ev/s   "
        }
    }

    public struct Summary: Sendable {
        public var total = 0, accepted = 0, duplicate = 0, rejected = 0, unanswered = 0, resent = 0
        public var seconds = 0.0
        /// Rejection reasons with how often each was given.
        public var reasons: [String: Int] = [:]
        /// Every reply status by the event's line index (nil where none came).
        public var statuses: [String?] = []

        public var report: String {
            var lines = [
                "\(total) events in \(String(format: "%.2f", seconds)) s: \(accepted) accepted, \(duplicate) duplicate, "
                    + "\(rejected) rejected, \(unanswered) unanswered"
                    + " (\(Int(Double(accepted + duplicate + rejected) / max(seconds, 1e-9))) replies/s"
                    + (resent > 0 ? ", \(resent) resent)" : ")"),
            ]
            if !reasons.isEmpty {
                lines.append("rejections by reason:")
                for (reason, n) in reasons.sorted(by: { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }).prefix(20) {
                    lines.append(String(format: "%8d  ", n) + reason)
                }
            }
            return lines.joined(separator: "\n")
        }
    }

    let context: Context
    let socket: Socket
    let window: Int
    let timeout: Double
    let retries: Int

    public init(endpoint: String, window: Int = 1000, timeout: Double = 3, retries: Int = 5,
                serverKey: String? = nil, secretKey: String? = nil) throws {
        context = try Context()
        socket = try context.makeSocket(.dealer)
        self.window = max(1, window)
        self.timeout = timeout
        self.retries = retries
        try socket.setSendHighWaterMark(Int32(max(1000, window * 2)))
        try socket.setReceiveHighWaterMark(Int32(max(1000, window * 2)))
        if let serverKey, let secretKey {
            try socket.setCurveServerKey(serverKey)
            try socket.setCurveSecretKey(secretKey)
            try socket.setCurvePublicKey(CurveKeyPair.publicKey(forSecret: secretKey))
        }
        try socket.connect(endpoint)
    }

    public func close() {
        socket.close()
        context.shutdown()
        context.terminate()
    }

    private struct InFlight {
        var index: Int
        var sentAt: Double
        var attempts: Int
    }

    /// Sends every line and waits for every reply (or gives up after the retries).
    public func publish(_ lines: [[UInt8]], progress: ((Progress) -> Void)? = nil) throws -> Summary {
        var summary = Summary()
        summary.total = lines.count
        summary.statuses = Array(repeating: nil, count: lines.count)
        // The id each line carries, when it has a usable one: replies are matched by it.
        let ids: [String?] = lines.map { line in
            guard let v = try? JSONValue.parse(line), case .string(let s)? = v["id"] else { return nil }
            return s
        }
        var byID: [String: [Int]] = [:]
        var idless: [Int] = []
        var inFlight: [Int: InFlight] = [:]
        var next = 0
        var done = 0
        let start = Date().timeIntervalSince1970
        var lastProgress = 0.0

        func send(_ i: Int, attempts: Int) throws {
            try socket.send([lines[i]])
            inFlight[i] = InFlight(index: i, sentAt: Date().timeIntervalSince1970, attempts: attempts)
            if attempts == 1 {
                if let id = ids[i] { byID[id, default: []].append(i) } else { idless.append(i) }
            }
        }

        func finish(_ i: Int, status: String, error: String?) {
            guard inFlight.removeValue(forKey: i) != nil else { return }
            done += 1
            summary.statuses[i] = status
            switch status {
            case "accepted": summary.accepted += 1
            case "duplicate": summary.duplicate += 1
            default:
                summary.rejected += 1
                summary.reasons[Self.reasonClass(error ?? "no error given"), default: 0] += 1
            }
        }

        var poller = Poller()
        _ = poller.add(socket)
        while done + (summary.unanswered) < lines.count {
            while next < lines.count && inFlight.count < window {
                try send(next, attempts: 1)
                next += 1
            }
            let ready = try poller.poll(timeoutMilliseconds: 100)
            if !ready.isEmpty {
                while let reply = try socket.receive(dontWait: true) {
                    guard let frame = reply.frames.last, let v = try? JSONValue.parse(frame),
                          case .string(let status)? = v["status"] else { continue }
                    let error = v["error"]?.stringValue
                    if case .string(let id)? = v["id"] {
                        // The oldest in-flight line with this id.
                        if let list = byID[id], let i = list.first(where: { inFlight[$0] != nil }) {
                            finish(i, status: status, error: error)
                        }
                    } else if let i = idless.first(where: { inFlight[$0] != nil }) {
                        finish(i, status: status, error: error)
                    } else if let i = inFlight.keys.min() {
                        // A line whose id looked usable to us but not to the gateway.
                        finish(i, status: status, error: error)
                    }
                }
            }
            let now = Date().timeIntervalSince1970
            for (i, f) in inFlight where now - f.sentAt > timeout {
                if f.attempts > retries {
                    inFlight.removeValue(forKey: i)
                    summary.unanswered += 1
                } else {
                    summary.resent += 1
                    try send(i, attempts: f.attempts + 1)
                }
            }
            if let progress, now - lastProgress >= 0.5 {
                lastProgress = now
                progress(Progress(sent: next, accepted: summary.accepted, duplicate: summary.duplicate,
                                  rejected: summary.rejected, inFlight: inFlight.count, total: lines.count,
                                  eventsPerSecond: Double(done) / max(now - start, 1e-9)))
            }
        }
        summary.seconds = Date().timeIntervalSince1970 - start
        return summary
    }

    /// Groups rejection messages by their field path and message shape, without the offending values.
    static func reasonClass(_ error: String) -> String {
        var out = ""
        var inQuote = false
        for ch in error {
            if ch == "\"" {
                inQuote.toggle()
                if inQuote { out += "\"…\"" }
                continue
            }
            if !inQuote { out.append(ch) }
        }
        return out
    }
}
