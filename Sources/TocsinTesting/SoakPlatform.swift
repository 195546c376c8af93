import Foundation
import TocsinCore
import ZeroMQ

/// A platform for the fault suite (`tocsin-soak platform`): sends its events in order with a bounded window,
/// and keeps that order through lost connections and lost replies.
///
/// Ingest journals each connection's events in the order they arrive, but a DEALER that simply resends on time-out
/// can still reorder a platform's events: libzmq reconnects by itself and delivers what was sent after the old
/// connection died (still queued) on the new one, while the events lost with the old connection come back only
/// with their resend, later. So this client never lets a socket reconnect (`ZMQ_RECONNECT_IVL` -1): what is sent
/// after its one connection ended goes nowhere. On a time-out it drops the socket (linger 0) and resends every
/// unanswered event, in order, on a fresh one before anything new. Every connection then carries the events in
/// send order from the oldest unanswered one, so each event's first copy to arrive comes after those of all
/// earlier events, and the journal keeps the platform's order (a later copy is answered `duplicate`).
public final class SoakPlatform {
    public struct Settings: Sendable {
        public var endpoint: String
        /// Events in flight at most (sent, not yet answered).
        public var window: Int
        /// Seconds without a reply to the oldest event in flight before everything unanswered is resent.
        public var timeout: Double
        /// The time-out doubles after every resend without progress, up to this.
        public var maxTimeout: Double
        /// New events per second at most (0: as fast as the window allows), so that load lasts through a schedule.
        public var rate: Double
        /// Seconds after which the platform gives up on what is still unanswered.
        public var deadline: Double
        /// Resend on the same, reconnecting socket instead of a fresh one: the naive client, which can lose the
        /// order when a connection ends.
        public var sameSocket: Bool

        public init(endpoint: String, window: Int = 100, timeout: Double = 1, maxTimeout: Double = 4, rate: Double = 0,
                    deadline: Double = 600, sameSocket: Bool = false) {
            self.endpoint = endpoint
            self.window = max(1, window)
            self.timeout = timeout
            self.maxTimeout = max(timeout, maxTimeout)
            self.rate = rate
            self.deadline = deadline
            self.sameSocket = sameSocket
        }
    }

    /// What happened to every event, by its position in the send order.
    public struct Outcome: Sendable {
        /// The first reply's status (`accepted`, `duplicate`, `rejected`), nil when none came before the deadline.
        public var statuses: [String?]
        /// How many times each event was sent.
        public var attempts: [Int]
        /// Events sent again, in total; sockets replaced after a time-out.
        public var resent = 0
        public var reconnects = 0
        /// Replies for events already answered (the second copy of a resent event).
        public var lateReplies = 0
        /// Replies that name no event of this platform.
        public var strayReplies = 0
        public var seconds = 0.0
    }

    let settings: Settings
    let context: Context

    public init(_ settings: Settings) throws {
        self.settings = settings
        context = try Context()
    }

    public func close() {
        context.shutdown()
        context.terminate()
    }

    private func makeSocket() throws -> Socket {
        let socket = try context.makeSocket(.dealer)
        do {
            try socket.setSendHighWaterMark(Int32(settings.window * 2 + 16))
            try socket.setReceiveHighWaterMark(Int32(max(1000, settings.window * 4)))
            if !settings.sameSocket { try socket.setReconnectInterval(milliseconds: -1) }
            try socket.connect(settings.endpoint)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Sends `events` (`ids[i]` is the id inside `events[i]`, unique) and returns once every one is answered or
    /// the deadline has passed.
    public func run(events: [[UInt8]], ids: [String]) throws -> Outcome {
        precondition(events.count == ids.count, "one id per event")
        var index: [String: Int] = [:]
        for (i, id) in ids.enumerated() { index[id] = i }
        var outcome = Outcome(statuses: Array(repeating: nil, count: events.count),
                              attempts: Array(repeating: 0, count: events.count))
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double {
            let d = clock.now - start
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        var socket = try makeSocket()
        defer { socket.close() }
        // Everything before `base` is answered; `base..<next` was sent on the current socket (some answered).
        var base = 0
        var next = 0
        var oldestSentAt = 0.0
        var timeout = settings.timeout
        var answered = 0
        // The socket's one connection failed or ended and libzmq took its queue away: sends fail until a fresh one.
        var socketDead = false
        var socketSince = 0.0

        /// False when the socket refuses (its connection is gone): the event then counts as not sent.
        func send(_ i: Int) throws -> Bool {
            guard try socket.send([events[i]], dontWait: true) else {
                socketDead = true
                return false
            }
            outcome.attempts[i] += 1
            return true
        }

        while answered < events.count {
            let now = elapsed()
            if now > settings.deadline { break }
            while !socketDead, next < events.count, next - base < settings.window,
                  settings.rate <= 0 || Double(next) <= now * settings.rate {
                if base == next { oldestSentAt = now }
                guard try send(next) else { break }
                next += 1
            }
            var poller = Poller()
            poller.add(socket)
            let wait = settings.rate > 0 && next < events.count && next - base < settings.window ? 10 : 50
            if try !poller.poll(timeoutMilliseconds: wait).isEmpty {
                while let reply = try socket.receive(dontWait: true, maxFrames: 4) {
                    guard let frame = reply.frames.last, let v = try? JSONValue.parse(frame),
                          case .string(let status)? = v["status"], case .string(let id)? = v["id"],
                          let i = index[id] else {
                        outcome.strayReplies += 1
                        continue
                    }
                    if outcome.statuses[i] != nil {
                        outcome.lateReplies += 1
                        continue
                    }
                    outcome.statuses[i] = status
                    answered += 1
                }
                let before = base
                while base < next, outcome.statuses[base] != nil { base += 1 }
                if base != before {
                    oldestSentAt = elapsed()
                    timeout = settings.timeout
                }
            }
            // The oldest unanswered event waited too long, or the socket is dead: resend everything unanswered,
            // in order, on a fresh socket.
            let waited = base < next ? elapsed() - oldestSentAt : (socketDead ? elapsed() - socketSince : 0)
            if waited > timeout {
                if !settings.sameSocket || socketDead {
                    socket.close()
                    socket = try makeSocket()
                    socketDead = false
                    socketSince = elapsed()
                    outcome.reconnects += 1
                }
                if outcome.reconnects <= 200 {
                    soakLog(String(format: "%.2f s: no reply for %.2f s; resending %d unanswered from %@ on a fresh socket",
                               elapsed(), waited, (base..<next).count { outcome.statuses[$0] == nil }, ids[min(base, ids.count - 1)]))
                }
                for i in base..<next where outcome.statuses[i] == nil {
                    guard try send(i) else { break }
                    outcome.resent += 1
                }
                oldestSentAt = elapsed()
                timeout = min(timeout * 2, settings.maxTimeout)
            }
        }
        outcome.seconds = elapsed()
        return outcome
    }
}

/// A line on stderr (the suite keeps every child's output in its log).
func soakLog(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A failure of the fault suite's own machinery (not of Tocsin).
public struct SoakError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
