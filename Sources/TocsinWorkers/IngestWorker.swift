import CoreMetrics
import Foundation
import Logging
import Synchronization
import TocsinConfig
import TocsinCore
import TocsinStore
import ZeroMQ

/// The ingest gateway (PROTOCOL.md "Ingest"): a ROUTER that platforms pipeline events into as DEALERs.
///
/// Every message gets exactly one reply. `accepted` goes out only after the event is durably journaled. Two
/// threads: the ingest thread receives, checks and decodes while the journal writer commits the previous batch;
/// everything that arrived during a commit goes into the next one (group commit), so throughput grows with load
/// while each ack still waits for its own commit.
/// After every commit it publishes the journal's last sequence number on the `journal` endpoint, so that
/// readers know there is more to read.
public final class IngestWorker: Sendable {
    public struct Settings: Sendable {
        public var endpoint: String
        /// Where journal-tail notifications are published (PUB; internal).
        public var notifyEndpoint: String
        public var maxBatch: Int
        public var security: ServerSecurity?
        /// Per-platform token buckets; over the limit an event is `rejected` with `rate limited: ...`.
        public var rateLimits: IngestRateLimits
        /// Store the count of refused connections with the journal's counters (when no dispatch worker in
        /// this process reads them from ``IngestWorker/refusedConnections``).
        public var storesRefusedConnections = false
        public init(endpoint: String, notifyEndpoint: String, maxBatch: Int = 4096, security: ServerSecurity? = nil,
                    rateLimits: IngestRateLimits = .shipped) {
            self.endpoint = endpoint
            self.notifyEndpoint = notifyEndpoint
            self.maxBatch = maxBatch
            self.security = security
            self.rateLimits = rateLimits
        }
    }

    /// Frames above this size make libzmq drop the connection (`ZMQ_MAXMSGSIZE`).
    public static let maxMessageSize: Int64 = 1 << 20

    private let thread: WorkerThread
    private let state: State
    private let monitor: ConnectionMonitor

    /// Connections to the ingest endpoint that ended before completing their handshake (no CURVE, an unknown
    /// key, bytes that are not ZMTP, a greeting cut short), since start.
    public var refusedConnections: Int { monitor.refused }

    /// State owned by the worker thread alone.
    final class State: @unchecked Sendable {
        /// From taking an event off the socket to sending its reply (after the journal commit).
        let ackLatency = Timer(label: "tocsin_ack_latency_seconds")
        let router: Socket
        let notify: Socket
        let journal: Journal
        let decoder: EventDecoder
        let logger: Logger
        let settings: Settings
        let now: @Sendable () -> Timestamp
        var rejectionLog = RateLimitedLog()
        var limiter: PlatformRateLimiter
        /// New limits from a reload, taken by the ingest thread before its next batch.
        let newLimits = Mutex<IngestRateLimits?>(nil)
        /// Counts decided before the journal write, stored with the next batch.
        var pendingCounts: [String: Int] = [:]
        /// ZAP refusals (of this process's handler) already stored.
        var zapStored = 0
        /// Refused connections already stored (with `storesRefusedConnections`).
        var refusedStored = 0
        var refused: @Sendable () -> Int = { 0 }
        var zapDenied: @Sendable () -> Int = { 0 }
        /// Where the journaled events go as records, for the classify worker of this process (nil: none here).
        var tap: JournalTap?

        init(router: Socket, notify: Socket, journal: Journal, decoder: EventDecoder,
             logger: Logger, settings: Settings, now: @escaping @Sendable () -> Timestamp) {
            self.router = router
            self.notify = notify
            self.journal = journal
            self.decoder = decoder
            self.logger = logger
            self.settings = settings
            self.now = now
            self.limiter = PlatformRateLimiter(limits: settings.rateLimits)
        }
    }

    /// Binds the endpoints now (so that a busy port fails start-up); `start()` runs the loop.
    public init(context: Context, settings: Settings, journal: Journal, decoder: EventDecoder, logger: Logger,
                zapDenied: @escaping @Sendable () -> Int = { 0 },
                now: @escaping @Sendable () -> Timestamp = WallClock.now, tap: JournalTap? = nil) throws {
        let router = try context.makeSocket(.router)
        let notify: Socket
        do {
            try router.setMaxMessageSize(Self.maxMessageSize)
            try router.setReceiveHighWaterMark(100_000)
            try router.setSendHighWaterMark(100_000)
            if let security = settings.security { try security.apply(to: router) }
            try router.bind(settings.endpoint)
            notify = try context.makeSocket(.pub)
            do {
                try notify.setSendHighWaterMark(1000)
                try notify.bind(settings.notifyEndpoint)
                monitor = try ConnectionMonitor(context: context, socket: router, name: "ingest", logger: logger)
            } catch {
                notify.close()
                throw error
            }
        } catch {
            router.close()
            throw error
        }
        self.thread = try WorkerThread(name: "ingest")
        self.state = State(router: router, notify: notify, journal: journal, decoder: decoder,
                           logger: logger, settings: settings, now: now)
        self.state.zapDenied = zapDenied
        self.state.tap = tap
        let monitor = self.monitor
        if settings.storesRefusedConnections { self.state.refused = { monitor.refused } }
    }

    public func start() {
        let state = self.state
        let thread = self.thread
        thread.start { Self.run(state, thread) }
    }

    /// Replaces the per-platform rate limits (a configuration reload); they apply from the next batch.
    public func updateRateLimits(_ limits: IngestRateLimits) {
        state.newLimits.withLock { $0 = limits }
        thread.poke()
    }

    /// Stops after finishing the batch in flight, then closes the sockets.
    @discardableResult
    public func stop(timeout: Double = 5) -> Bool {
        let stopped = thread.stop(timeout: timeout)
        // The router is closed now (libzmq ends its monitor); a thread that did not stop keeps it open.
        if stopped { monitor.stop() }
        return stopped
    }

    private static func run(_ s: State, _ thread: WorkerThread) {
        let writer: JournalWriter
        do {
            writer = try JournalWriter(journal: s.journal, tap: s.tap)
        } catch {
            s.logger.critical("ingest cannot start its journal writer: \(error)")
            return
        }
        // Two poll sets: with the router while the next batch has room, without it while a full batch waits for
        // the writer (back-pressure: the platforms' messages then wait in ZeroMQ's queues).
        var receiving = Poller()
        let routerIndex = receiving.add(s.router)
        receiving.add(fileDescriptor: thread.wakeDescriptor)
        receiving.add(fileDescriptor: writer.committed.fileDescriptor)
        var waiting = Poller()
        waiting.add(fileDescriptor: thread.wakeDescriptor)
        waiting.add(fileDescriptor: writer.committed.fileDescriptor)
        var next = Batch()
        s.logger.info("ingest ready", metadata: ["endpoint": "\(s.settings.endpoint)"])
        while !thread.isStopping {
            do {
                let full = next.replies.count >= s.settings.maxBatch
                let ready = full ? try waiting.poll(timeoutMilliseconds: 1000) : try receiving.poll(timeoutMilliseconds: 1000)
                writer.committed.drain()
                if let done = writer.takeCommitted() {
                    // The writer gets the next batch before the replies go out, so that it commits while this
                    // thread answers (answering a large batch takes a few milliseconds).
                    if !next.replies.isEmpty { submit(&next, to: writer, s, idleFlush: false) }
                    answer(done, s)
                }
                if !full, ready.contains(where: { $0.index == routerIndex }) { try receive(into: &next, s) }
                if !writer.isBusy { submit(&next, to: writer, s, idleFlush: ready.isEmpty) }
            } catch let error as ZMQError where error.isTerminated {
                break
            } catch {
                s.logger.error("ingest loop error: \(error)")
            }
        }
        // Finish the batch in flight and what already arrived, then close.
        if let done = writer.waitCommitted() { answer(done, s) }
        while next.replies.count < s.settings.maxBatch {
            let before = next.replies.count
            try? receive(into: &next, s)
            if next.replies.count == before { break }
        }
        submit(&next, to: writer, s, idleFlush: true)
        if let done = writer.waitCommitted() { answer(done, s) }
        writer.stop()
        s.router.close()
        s.notify.close()
        s.logger.info("ingest stopped")
    }

    /// How many messages one call of `receive(into:_:)` takes at most.
    static let receiveChunk = 256

    /// What is queued now (up to `receiveChunk` and the batch limit), checked and decoded into `batch`.
    static func receive(into batch: inout Batch, _ s: State) throws {
        let now = s.now()
        if let limits = s.newLimits.withLock({ l -> IngestRateLimits? in defer { l = nil }; return l }) {
            s.limiter.update(limits)
        }
        // A snapshot of the allow-list per batch: a revoked key's connection is refused from the next batch on.
        let allowed = s.settings.security?.handler?.allowed
        // At most `receiveChunk` at a time: the loop then looks at the writer again, which may be waiting for work.
        let limit = min(s.settings.maxBatch, batch.replies.count + receiveChunk)
        // Read out of the state once: reading a struct out of a class copies it, a reference count on each of its
        // tables, which the classify thread's decoder shares (the catalog's and the area tree's).
        let decoder = s.decoder
        while batch.replies.count < limit, let message = try s.router.receive(dontWait: true, maxFrames: 8) {
            batch.received.append(DispatchTime.now().uptimeNanoseconds)
            batch.replies.append(classify(message, s, decoder: decoder, now: now, allowed: allowed,
                                          entries: &batch.entries, records: &batch.records))
        }
    }

    /// Hands the accumulated batch, with the counts decided so far, to the journal writer. With nothing to
    /// journal, counts alone are stored only when the endpoint is idle.
    static func submit(_ batch: inout Batch, to writer: JournalWriter, _ s: State, idleFlush: Bool) {
        let denied = s.zapDenied()
        if denied > s.zapStored {
            s.pendingCounts["unauthorised", default: 0] += denied - s.zapStored
            s.zapStored = denied
        }
        let refused = s.refused()
        if refused > s.refusedStored {
            s.pendingCounts["refused_connections", default: 0] += refused - s.refusedStored
            s.refusedStored = refused
        }
        if batch.replies.isEmpty && (s.pendingCounts.isEmpty || !idleFlush) { return }
        batch.counts = s.pendingCounts
        s.pendingCounts = [:]
        writer.submit(batch)
        batch = Batch()
    }

    /// Sends the replies of a committed batch, in order, and announces the journal's new end.
    static func answer(_ done: JournalWriter.Committed, _ s: State) {
        var next = 0
        var lastSeq: Int64 = 0
        let answered = DispatchTime.now().uptimeNanoseconds
        for t in done.batch.received where answered >= t { s.ackLatency.recordNanoseconds(Int64(answered - t)) }
        if let error = done.error {
            s.logger.error("journal write failed: \(error)")
            // Nothing of the batch was stored: its counts go with the next one.
            for (k, v) in done.batch.counts { s.pendingCounts[k, default: 0] += v }
        }
        var reply: [UInt8] = []  // the replies' one buffer
        for pending in done.batch.replies {
            switch pending.verdict {
            case .journal(let id):
                if done.error != nil {
                    s.pendingCounts["rejected", default: 0] += 1
                    reply = Reply.rejected(id: id, error: "journal unavailable; resend later")
                } else {
                    switch done.outcomes[next] {
                    case .accepted(let seq):
                        lastSeq = seq
                        Reply.status(id: id, "accepted", into: &reply)
                    case .duplicate:
                        Reply.status(id: id, "duplicate", into: &reply)
                    }
                }
                next += 1
                _ = try? s.router.send(envelope: pending.envelope, body: reply, dontWait: true)
            case .reply(let bytes):
                _ = try? s.router.send(envelope: pending.envelope, body: bytes, dontWait: true)
            }
        }
        if lastSeq > 0 {
            var w = JSONWriter(capacity: 32)
            w.beginObject()
            w.field("journal", Int(lastSeq))
            w.endObject()
            _ = try? s.notify.send([Array("journal".utf8), w.bytes], dontWait: true)
        }
    }

    /// A decoded batch on its way to the journal.
    struct Batch: @unchecked Sendable {
        var replies: [Pending] = []
        var entries: [JournalEntry] = []
        /// Each entry's event as a record, for the tap (nil without one).
        var records: TapRecords?
        var counts: [String: Int] = [:]
        /// When each message was taken from the socket (monotonic ns), for the ack latency histogram.
        var received: [UInt64] = []
    }

    struct Pending {
        /// The message's first frames (a slice of its list: no list of their own per event).
        var envelope: ArraySlice<[UInt8]>
        var verdict: Verdict
    }

    enum Verdict {
        /// To be journaled; the reply depends on the outcome.
        case journal(id: String)
        /// Answered without journaling (rejected).
        case reply([UInt8])
    }

    /// Checks one message and either queues its event for the journal or decides its rejection.
    static func classify(_ message: Message, _ s: State, decoder: EventDecoder, now: Timestamp,
                         allowed: [String: String]? = nil,
                         entries: inout [JournalEntry], records: inout TapRecords?) -> Pending {
        // The envelope (the peer's routing id, and the empty delimiter a REQ client puts before its frame: answered
        // with the same envelope) and the frames after it, without copying the message's list of frames.
        let all = message.frames
        let envelopeCount = all.count >= 3 && all[1].isEmpty ? 2 : 1
        let envelope = all[..<envelopeCount]
        let frames = all[envelopeCount...]
        func reject(_ id: String?, _ error: String, oversized: Bool = false, unauthorised: Bool = false,
                    rateLimited: Bool = false) -> Pending {
            s.pendingCounts["rejected", default: 0] += 1
            if oversized { s.pendingCounts["oversized", default: 0] += 1 }
            if unauthorised { s.pendingCounts["unauthorised", default: 0] += 1 }
            if rateLimited { s.pendingCounts["rate_limited", default: 0] += 1 }
            s.rejectionLog.log(s.logger, "event rejected: \(error)",
                               metadata: ["id": "\(id ?? "null")", "platform": "\(message.userID ?? "-")"])
            return Pending(envelope: envelope, verdict: .reply(Reply.rejected(id: id, error: error)))
        }
        if message.truncated || frames.count != 1 {
            let n = message.truncated ? "too many" : "\(frames.count)"
            return reject(nil, "expected one frame holding a JSON object, got \(n) frames")
        }
        let frame = frames[frames.startIndex]
        if frame.count > EventDecoder.maxEventBytes {
            return reject(nil, "event larger than 64 KiB", oversized: true)
        }
        // (Ingest journals the frame as sent: of the event it reads the id, source and status.)
        let decoded = frame.withUnsafeBytes { decoder.decodeWithoutDetails($0, now: now) }
        if let allowed, !ZAPHandler.isAllowed(message, allowed: allowed) {
            let id: String? = switch decoded {
            case .success(let event): event.id
            case .failure(let rejection): rejection.id
            }
            return reject(id, ServerSecurity.revoked(message), unauthorised: true)
        }
        // (`consume`: the event is moved out of the result, not copied and the result released after: about 600
        // instructions per event, 4% of the ingest thread.)
        switch consume decoded {
        case .failure(let rejection):
            return reject(rejection.id, rejection.message)
        case .success(let event):
            if let platform = message.userID {
                if let area = AreaPath(platform), event.source.isWithin(area) {
                    // allowed
                } else {
                    return reject(event.id, "source \(event.source) is not allowed for platform \(platform)",
                                  unauthorised: true)
                }
            }
            if s.limiter.isActive {
                let platform = message.userID ?? event.source.rawValue
                if let limit = s.limiter.take(platform, now: PlatformRateLimiter.monotonicSeconds()) {
                    return reject(event.id, "rate limited: platform \(platform) is over \(limit); resend later",
                                  rateLimited: true)
                }
            }
            // The frame as sent: it decoded and validated, and re-encoding it would cost a seventh of the thread.
            entries.append(JournalEntry(source: event.source.rawValue, eventID: event.id, status: event.status,
                                        payload: frame))
            if s.tap != nil {
                if records == nil { records = TapRecords() }
                records!.append(event)
            }
            return Pending(envelope: envelope, verdict: .journal(id: event.id))
        }
    }
}

/// Reply frames of the ingest endpoint.
enum Reply {
    /// `{"id":<id>,"status":<status>}`, as `JSONWriter` writes it (one reply per event: written directly, in one
    /// allocation of the right size).
    static func status(id: String, _ status: String) -> [UInt8] {
        var out: [UInt8] = []
        self.status(id: id, status, into: &out)
        return out
    }

    /// `status(id:_:)` written over `out` (its capacity kept: one buffer for every reply of a batch, not an
    /// allocation per event).
    static func status(id: String, _ status: String, into out: inout [UInt8]) {
        let tail: [UInt8] = switch status {
        case "accepted": acceptedTail
        case "duplicate": duplicateTail
        default: Array(#","status":"#.utf8) + Array(JSONWriter.quoted(status).utf8) + [UInt8(ascii: "}")]
        }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(id.utf8.count + tail.count + 10)
        out.append(contentsOf: head)
        JSONWriter.appendQuoted(id, to: &out)
        out.append(contentsOf: tail)
    }

    private static let head = Array(#"{"id":"#.utf8)
    private static let acceptedTail = Array(#","status":"accepted"}"#.utf8)
    private static let duplicateTail = Array(#","status":"duplicate"}"#.utf8)

    static func rejected(id: String?, error: String) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.key("id")
        if let id { w.value(id) } else { w.null() }
        w.field("status", "rejected")
        w.field("error", error)
        w.endObject()
        return w.bytes
    }
}

/// The journal's writer thread: commits one batch at a time while the ingest thread receives and decodes the
/// next one, so decoding and the commit's I/O overlap (group commit: everything that arrived during a commit
/// goes into the next). Signals `committed` when a batch is durable.
final class JournalWriter: @unchecked Sendable {
    struct Committed {
        var batch: IngestWorker.Batch
        var outcomes: [AppendOutcome]
        var error: (any Error)?
    }

    let committed: WakeUp
    private let journal: Journal
    /// The classify worker of this process, told of each commit as soon as it is durable (nil: none here).
    private let tap: JournalTap?
    private let lock = NSLock()
    private let work = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let doneSignal = DispatchSemaphore(value: 0)
    private var inbox: IngestWorker.Batch?
    private var result: Committed?
    private var busy = false
    private var stopping = false

    init(journal: Journal, tap: JournalTap? = nil) throws {
        self.journal = journal
        self.tap = tap
        committed = try WakeUp()
        let thread = Thread { [self] in
            Thread.current.name = "journal"
            setKernelThreadName("journal")
            loop()
        }
        thread.start()
    }

    var isBusy: Bool { lock.withLock { busy } }

    func submit(_ batch: IngestWorker.Batch) {
        lock.withLock {
            precondition(!busy, "one batch at a time")
            inbox = batch
            busy = true
        }
        work.signal()
    }

    /// The committed batch, if the writer finished one since the last call.
    func takeCommitted() -> Committed? {
        lock.withLock {
            guard let r = result else { return nil }
            result = nil
            busy = false
            return r
        }
    }

    /// Waits for the batch in flight, if any.
    func waitCommitted() -> Committed? {
        if !isBusy { return nil }
        while true {
            if let r = takeCommitted() { return r }
            _ = doneSignal.wait(timeout: .now() + .milliseconds(100))
        }
    }

    func stop() {
        lock.withLock { stopping = true }
        work.signal()
        finished.wait()
        committed.close()
    }

    /// Tells the tap where the journal ends now and hands it the batch's records (none when it has no record per
    /// entry), so that classify takes them before the platforms even hear back.
    static func report(_ batch: IngestWorker.Batch, _ outcomes: [AppendOutcome], to tap: JournalTap) {
        let last = outcomes.reversed().lazy.compactMap { o -> Int64? in
            if case .accepted(let seq) = o { return seq }
            return nil
        }.first
        guard let last else { return }
        let chunks = batch.records.flatMap { $0.count == outcomes.count ? $0.chunks(outcomes: outcomes) : nil }
        tap.journaled(through: last, chunks: chunks ?? [])
    }

    private func loop() {
        while true {
            work.wait()
            let (batch, stop) = lock.withLock { (inbox, stopping) }
            if let batch {
                var outcomes: [AppendOutcome] = []
                var error: (any Error)?
                do {
                    outcomes = try journal.append(batch.entries, counts: batch.counts)
                } catch let e {
                    error = e
                }
                if let tap, error == nil { Self.report(batch, outcomes, to: tap) }
                lock.withLock {
                    inbox = nil
                    result = Committed(batch: batch, outcomes: outcomes, error: error)
                }
                committed.signal()
                doneSignal.signal()
                // Upkeep after the batch is answered, while ingest gathers the next one.
                if error == nil { journal.betweenCommits() }
            } else if stop {
                break
            }
        }
        finished.signal()
    }
}
