import Foundation
import Logging
import Synchronization
import TocsinStore
import ZeroMQ

/// A dedicated I/O thread for a worker: it owns the worker's sockets and blocks in `zmq_poll`, never on the
/// shared Swift concurrency pool. `stop()` wakes it through a `WakeUp` descriptor and waits for it to finish.
public final class WorkerThread: Sendable {
    public let name: String
    let wake: WakeUp
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    public init(name: String) throws {
        self.name = name
        self.wake = try WakeUp()
    }

    public var isStopping: Bool { stopping.load(ordering: .acquiring) }
    public var wakeDescriptor: Int32 { wake.fileDescriptor }

    /// Runs `body` on a new thread. `body` returns when `isStopping` is true.
    public func start(_ body: @escaping @Sendable () -> Void) {
        started.store(true, ordering: .releasing)
        let name = self.name
        let thread = Thread { [finished] in
            // Named from inside: on Linux a name set before start() never reaches the OS (top, perf).
            Thread.current.name = name
            setKernelThreadName(name)
            body()
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Asks the thread to stop and waits for it, at most `timeout` seconds. Returns false on time-out.
    @discardableResult
    public func stop(timeout: Double = 5) -> Bool {
        stopping.store(true, ordering: .releasing)
        wake.signal()
        guard started.load(ordering: .acquiring) else { return true }
        let ok = finished.wait(timeout: .now() + timeout) == .success
        if ok { wake.close() }
        return ok
    }

    /// Wakes the thread without stopping it (e.g. to send an outbound message).
    public func poke() { wake.signal() }
}

/// The wall clock as a `Timestamp`. Only the edges read it (ingest's future-time check, the live ticker);
/// decisions inside the pipeline take time from messages.
public enum WallClock {
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(micros: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }
}

import TocsinCore

/// Logs a repeated message at most `limit` times per `window` seconds, then a count of what it held back.
public struct RateLimitedLog {
    let limit: Int
    let window: Double
    let clock: () -> Double
    private var windowStart: Double = -.infinity
    private var emitted = 0
    private var suppressed = 0

    public init(limit: Int = 20, window: Double = 10, clock: @escaping () -> Double = { WallClock.now().seconds }) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    public mutating func log(_ logger: Logger, level: Logger.Level = .warning, _ message: @autoclosure () -> Logger.Message,
                             metadata: @autoclosure () -> Logger.Metadata? = nil) {
        let now = clock()
        if now - windowStart >= window {
            if suppressed > 0 {
                logger.log(level: level, "\(suppressed) similar messages suppressed in the last \(Int(window))s")
            }
            windowStart = now
            emitted = 0
            suppressed = 0
        }
        if emitted < limit {
            emitted += 1
            logger.log(level: level, message(), metadata: metadata())
        } else {
            suppressed += 1
        }
    }
}

/// Creates a worker's sockets one by one and closes all of them if a later step fails, so that a worker that
/// cannot start (a busy port, a bad endpoint) leaves nothing open.
struct SocketSet {
    let context: Context
    private(set) var sockets: [Socket] = []

    init(_ context: Context) { self.context = context }

    /// A socket of `type`, set up by `configure` (options, then bind or connect).
    mutating func make(_ type: SocketType, _ configure: (Socket) throws -> Void) throws -> Socket {
        let socket = try context.makeSocket(type)
        sockets.append(socket)
        try configure(socket)
        return socket
    }

    /// A SUB socket subscribed to everything and connected to `endpoint`.
    mutating func subscriber(_ endpoint: String) throws -> Socket {
        try make(.sub) {
            try $0.subscribe("")
            try $0.connect(endpoint)
        }
    }

    func closeAll() { for s in sockets { s.close() } }
}
