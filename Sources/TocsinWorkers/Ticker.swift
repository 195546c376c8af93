import Logging
import TocsinCore
import ZeroMQ

/// Live mode's source of time: publishes the wall clock on the clock endpoint once per `interval`.
/// Workers decide only from the time these messages carry; a drill replaces the ticker with virtual time.
public final class Ticker: Sendable {
    private let thread: WorkerThread
    private let state: State

    final class State: @unchecked Sendable {
        let pub: Socket
        let interval: Double
        let now: @Sendable () -> Timestamp
        init(pub: Socket, interval: Double, now: @escaping @Sendable () -> Timestamp) {
            self.pub = pub
            self.interval = interval
            self.now = now
        }
    }

    public init(context: Context, endpoint: String, interval: Double = 1,
                now: @escaping @Sendable () -> Timestamp = WallClock.now) throws {
        let pub = try context.makeSocket(.pub)
        do { try pub.bind(endpoint) } catch {
            pub.close()
            throw error
        }
        thread = try WorkerThread(name: "ticker")
        state = State(pub: pub, interval: interval, now: now)
    }

    /// The clock message: `{"now": "<RFC 3339>"}`.
    public static func message(_ t: Timestamp) -> [[UInt8]] {
        var w = JSONWriter(capacity: 48)
        w.beginObject()
        w.field("now", t.rfc3339)
        w.endObject()
        return [Array("clock".utf8), w.bytes]
    }

    /// Reads a clock message's time.
    public static func time(of message: Message) -> Timestamp? {
        guard let body = message.frames.last, let v = try? JSONValue.parse(body),
              case .string(let s)? = v["now"] else { return nil }
        return Timestamp(rfc3339: s)
    }

    public func start() {
        let s = state, thread = self.thread
        thread.start {
            var poller = Poller()
            _ = poller.add(fileDescriptor: thread.wakeDescriptor)
            while !thread.isStopping {
                _ = try? s.pub.send(Self.message(s.now()), dontWait: true)
                _ = try? poller.poll(timeoutMilliseconds: Int(s.interval * 1000))
            }
            s.pub.close()
        }
    }

    @discardableResult
    public func stop(timeout: Double = 5) -> Bool { thread.stop(timeout: timeout) }
}

/// Virtual time for drills and tests: the caller decides when the pipeline's clock moves. Publishes on the
/// clock endpoint from the caller's thread (which owns the socket).
public final class VirtualClock {
    let pub: Socket

    init(context: Context, endpoint: String) throws {
        pub = try context.makeSocket(.pub)
        do { try pub.bind(endpoint) } catch {
            pub.close()
            throw error
        }
    }

    /// Tells the workers that the time is now `t`. Idempotent: workers ignore a time they have passed.
    public func publish(_ t: Timestamp) throws {
        try pub.send(Ticker.message(t))
    }

    public func close() { pub.close() }
}
