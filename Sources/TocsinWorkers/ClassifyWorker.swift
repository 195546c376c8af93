import Foundation
import Logging
import TocsinCore
import TocsinStore
import ZeroMQ

/// The classify worker: reads the journal in order from its stored offset and keeps incidents
/// (`IncidentEngine`): correlation, aggregation, tiers, quiet closes, all-clears. With ingest in the same process,
/// the events ingest has just journaled come as records through a `JournalTap` instead of being read back from the
/// journal and decoded again; the journal is read whenever the tap does not hold the events after the offset.
///
/// Its output is an outbox (in its own `WorkerStore`) of incident changes and clock marks, committed in the
/// same transaction as its offset and the incidents that changed; the dispatch worker reads that outbox in
/// order. Time comes only from clock messages (live: the ticker; drills: virtual time). After `kill -9` it
/// resumes from the last committed batch: nothing lost, nothing repeated.
public final class ClassifyWorker: Sendable {
    public struct Endpoints: Sendable {
        /// SUB: journal grew (ingest's PUB).
        public var journal: String
        /// SUB: clock ticks.
        public var clock: String
        /// PUB (bound here): incident outbox grew.
        public var incidents: String
        /// PULL (bound here): all-clear requests.
        public var control: String
        public init(journal: String, clock: String, incidents: String, control: String) {
            self.journal = journal
            self.clock = clock
            self.incidents = incidents
            self.control = control
        }
    }

    static let batchSize = 4096
    private let thread: WorkerThread
    let state: State

    final class State: @unchecked Sendable {
        let journalSub: Socket
        let clockSub: Socket
        let notify: Socket
        let control: Socket
        let reader: JournalReader
        let store: WorkerStore
        var engine: IncidentEngine
        let decoder: EventDecoder
        let logger: Logger
        var offset: Int64
        var now: Timestamp?
        /// True once the worker is asked to stop: long catch-ups end at the next batch.
        var stopping: @Sendable () -> Bool = { false }
        /// The events ingest of this process journaled, as records (nil: ingest runs elsewhere).
        var tap: JournalTap?

        init(journalSub: Socket, clockSub: Socket, notify: Socket, control: Socket, reader: JournalReader,
             store: WorkerStore, engine: IncidentEngine, decoder: EventDecoder, logger: Logger, offset: Int64,
             now: Timestamp?) {
            self.journalSub = journalSub
            self.clockSub = clockSub
            self.notify = notify
            self.control = control
            self.reader = reader
            self.store = store
            self.engine = engine
            self.decoder = decoder
            self.logger = logger
            self.offset = offset
            self.now = now
        }
    }

    /// Opens the stores, restores the incidents and binds/connects the sockets.
    public init(context: Context, endpoints: Endpoints, journalPath: String, storePath: String, sync: SyncMode,
                catalog: Catalog, areas: AreaTree, logger: Logger, tap: JournalTap? = nil) throws {
        let store = try WorkerStore(path: storePath, sync: sync, owner: true)
        let rows = try store.loadState()
        var incidents: [Incident] = []
        for (key, value) in rows where key.hasPrefix("inc:") {
            // (the "token" row records the last control request applied)
            incidents.append(try Incident(stateJSON: value))
        }
        let offset = try store.offset("journal")
        let clock = try store.offset("clock")
        let engine = IncidentEngine(
            catalog: catalog,
            state: IncidentEngineState(lastSeq: offset, incidents: incidents.sorted { $0.openingSeq < $1.openingSeq }))
        let reader = try JournalReader(path: journalPath)
        var sockets = SocketSet(context)
        do {
            let journalSub = try sockets.subscriber(endpoints.journal)
            let clockSub = try sockets.subscriber(endpoints.clock)
            let notify = try sockets.make(.pub) { try $0.bind(endpoints.incidents) }
            let control = try sockets.make(.pull) { try $0.bind(endpoints.control) }
            state = State(journalSub: journalSub, clockSub: clockSub, notify: notify, control: control, reader: reader,
                          store: store, engine: engine,
                          decoder: EventDecoder(catalog: catalog, areas: areas, maxFutureSeconds: .infinity),
                          logger: logger, offset: offset, now: clock > 0 ? Timestamp(micros: clock) : nil)
            state.tap = tap
        } catch {
            sockets.closeAll()
            throw error
        }
        thread = try WorkerThread(name: "classify")
    }

    public func start() {
        let s = state, thread = self.thread
        s.stopping = { thread.isStopping }
        thread.start { Self.run(s, thread) }
    }

    @discardableResult
    public func stop(timeout: Double = 5) -> Bool { thread.stop(timeout: timeout) }

    private static func run(_ s: State, _ thread: WorkerThread) {
        var poller = Poller()
        let journalIndex = poller.add(s.journalSub)
        let clockIndex = poller.add(s.clockSub)
        let controlIndex = poller.add(s.control)
        _ = poller.add(fileDescriptor: thread.wakeDescriptor)
        if let tap = s.tap { _ = poller.add(fileDescriptor: tap.wake.fileDescriptor) }
        do { try catchUp(s) } catch { s.logger.error("classify catch-up failed: \(error)") }
        while !thread.isStopping {
            do {
                // Poll with a time-out too: a notification lost to a slow joiner is repaired within a second.
                let ready = try poller.poll(timeoutMilliseconds: 1000)
                let indices = Set(ready.map(\.index))
                while (try s.journalSub.receive(dontWait: true)) != nil {}
                s.tap?.wake.drain()
                try catchUp(s)
                if indices.contains(clockIndex) {
                    var latest: Timestamp?
                    while let m = try s.clockSub.receive(dontWait: true) { latest = Ticker.time(of: m) ?? latest }
                    if let t = latest { try advance(s, to: t) }
                }
                if indices.contains(controlIndex) {
                    while let m = try s.control.receive(dontWait: true) { try handleControl(s, m) }
                }
                _ = journalIndex
            } catch let error as ZMQError where error.isTerminated {
                break
            } catch {
                s.logger.error("classify loop error: \(error)")
            }
        }
        for socket in [s.journalSub, s.clockSub, s.notify, s.control] { socket.close() }
        try? s.reader.close()
        try? s.store.close()
    }

    /// Applies every journaled event after the offset, a batch per transaction. Waits for the first clock
    /// message: every change then carries the pipeline's time, so that a warning is never dated before it.
    static func catchUp(_ s: State) throws {
        guard s.now != nil else { return }
        let decoder = s.decoder  // once, not per event (see `IngestWorker.receive`)
        while !s.stopping() {
            var changes = ChangeBatch()
            var limit = batchSize
            if let tap = s.tap {
                switch tap.next(after: s.offset) {
                case .chunk(let chunk, let from):
                    // The events as ingest decoded them; the journal for any record this decoder cannot read.
                    var last = s.offset
                    for k in from..<chunk.count {
                        guard let event = chunk.withRecord(k, { decoder.event(fromRecord: $0) }) else { break }
                        let seq = chunk.first + Int64(k)
                        if let c = s.engine.correlate(event, seq: seq) { changes.add(c) }
                        last = seq
                    }
                    if last < chunk.last {
                        s.logger.error("classify: journal tap record \(last + 1) unreadable; reading the journal")
                        _ = try s.reader.forEachPayload(after: last, limit: Int(chunk.last - last)) { seq, payload in
                            apply(s, decoder, seq, payload, &changes)
                        }
                    }
                    try commit(s, changes: changes, offset: chunk.last, clock: nil)
                    continue
                case .journal(let through):
                    limit = Int(min(Int64(batchSize), through - s.offset))
                case .nothing:
                    // At the journal's end as far as ingest reported: the next commit comes with its records.
                    return
                }
            }
            // Each payload decoded where SQLite holds it (no array per event).
            let last = try s.reader.forEachPayload(after: s.offset, limit: limit) { seq, payload in
                apply(s, decoder, seq, payload, &changes)
            }
            guard let last else { return }
            try commit(s, changes: changes, offset: last, clock: nil)
        }
    }

    /// Decodes one journaled payload and correlates its event.
    private static func apply(_ s: State, _ decoder: EventDecoder, _ seq: Int64, _ payload: UnsafeRawBufferPointer,
                              _ changes: inout ChangeBatch) {
        switch decoder.decodeWithoutDetails(payload, now: Timestamp(micros: .max)) {
        case .success(let event):
            if let c = s.engine.correlate(event, seq: seq) { changes.add(c) }
        case .failure(let rejection):
            // Cannot happen for what ingest journaled with the same catalog; after a catalog change
            // it can: skip the event, loudly.
            s.logger.error("journal event \(seq) no longer valid: \(rejection.message)")
        }
    }

    static func advance(_ s: State, to t: Timestamp) throws {
        if let now = s.now, t <= now { return }
        s.now = t
        try commit(s, changes: ChangeBatch(s.engine.advance(to: t)), offset: s.offset, clock: t)
    }

    /// `{"op": "close", "incident": ID, "by": AREA}` forwarded by dispatch (which checked `by`).
    static func handleControl(_ s: State, _ message: Message) throws {
        guard let body = message.frames.last, let v = try? JSONValue.parse(body),
              case .string(let op)? = v["op"], op == "close", case .string(let id)? = v["incident"] else {
            s.logger.warning("classify: malformed control message")
            return
        }
        try catchUp(s)
        let requested = v["at"]?.stringValue.flatMap { Timestamp(rfc3339: $0) }
        let at = requested ?? s.now ?? s.engine.incident(id)?.lastTime ?? Timestamp(micros: 0)
        let change = s.engine.close(id, at: at)
        try commit(s, changes: ChangeBatch(change.map { [$0] } ?? []), offset: s.offset, clock: nil,
                   token: v["token"]?.stringValue)
    }

    /// Stores the batch's changes (coalescing runs that change nothing a warning shows), the incidents they
    /// touched, the offset and the clock in one transaction, then announces the outbox's new end.
    static func commit(_ s: State, changes: ChangeBatch, offset: Int64, clock: Timestamp?, token: String? = nil)
        throws
    {
        var outbox: [(topic: String, body: [UInt8])] = []
        var stateRows: [String: [UInt8]?] = [:]
        if let token { stateRows["token"] = Array(token.utf8) }
        for change in coalesce(changes.forwarded) {
            outbox.append(("change", ChangeRecord(now: s.now, change: change).json))
        }
        // Each touched incident once, as it is now (closed ones leave the state).
        for (number, id) in changes.touched {
            let incident = s.engine.incident(number: number)
            let key = incident?.id ?? id ?? "inc-\(number)"
            stateRows["inc:\(key)"] = incident.map(\.stateJSON)
        }
        if let clock { outbox.append(("clock", Ticker.message(clock)[1])) }
        if outbox.isEmpty && offset == s.offset && token == nil { return }
        var offsets = ["journal": offset]
        if let clock { offsets["clock"] = clock.micros }
        let stored = try s.store.commit(offsets: offsets, state: stateRows, outbox: outbox)
        s.offset = offset
        if let last = stored.last {
            var w = JSONWriter(capacity: 32)
            w.beginObject()
            w.field("incidents", Int(last.seq))
            w.endObject()
            _ = try? s.notify.send([Array("incidents".utf8), w.bytes], dontWait: true)
        }
    }

    /// Within a batch, a run of updates of one incident that keep its tier, area and open state is cut down to
    /// its first change (the one a warning describes) and its last (the latest facts). What dispatch sees thus
    /// does not depend on how events fell into batches: every tier step stays visible with the facts of its
    /// moment, and the incident's final state still arrives.
    static func coalesce(_ changes: [IncidentChange]) -> [IncidentChange] {
        var out: [IncidentChange] = []
        // Per incident: the index of its current run's first change, and of its last when there is one.
        var runs: [String: (first: Int, last: Int?)] = [:]
        for c in changes {
            let id = c.incident.id
            if case .updated = c.kind, let run = runs[id] {
                let head = out[run.first].incident
                if head.tier == c.incident.tier && head.area == c.incident.area && head.isOpen == c.incident.isOpen {
                    if let last = run.last {
                        out[last] = c
                    } else {
                        runs[id] = (run.first, out.count)
                        out.append(c)
                    }
                    continue
                }
            }
            runs[id] = (out.count, nil)
            out.append(c)
        }
        return out
    }
}

/// The changes of a batch that dispatch is to see, and every incident the batch touched (whose state row is
/// written again).
struct ChangeBatch {
    private(set) var forwarded: [IncidentChange] = []
    /// The touched incidents by number, each once, in the order first touched; with the id when a change of it
    /// was seen (a closed incident is no longer in the engine to ask; an open one's is `inc-<number>`).
    private(set) var touched: [(number: Int64, id: String?)] = []
    private var seen = Set<Int64>()

    init(_ changes: [IncidentChange] = []) {
        for change in changes { add(change) }
    }

    /// Takes one change. A change of an incident that has never had a tier is not kept: no warning can ever have
    /// been issued for it, so dispatch has nothing to do with it (the cost of a city's sensors reporting normal
    /// levels all day stays here). (Coalescing what is kept gives what coalescing everything and then dropping
    /// these gave: a dropped change only ever follows a change without a tier, so it only ever ends a run that
    /// is dropped too.)
    mutating func add(_ change: IncidentChange) {
        if seen.insert(change.incident.openingSeq).inserted { touched.append((change.incident.openingSeq, change.incident.id)) }
        if change.incident.tier != nil || change.previousTier != nil { forwarded.append(change) }
    }

    /// Takes what the engine did with one event: it made the change only for an incident with a tier, now or
    /// before (`IncidentEngine.correlate`), the ones `add(_:)` keeps.
    mutating func add(_ correlation: IncidentEngine.Correlation) {
        if let change = correlation.change {
            add(change)
        } else if seen.insert(correlation.number).inserted {
            touched.append((correlation.number, nil))
        }
    }
}

/// One entry of classify's outbox: an incident change and the pipeline's time when classify made it.
struct ChangeRecord: Codable {
    var now: Timestamp?
    var change: IncidentChange

    init(now: Timestamp?, change: IncidentChange) {
        self.now = now
        self.change = change
    }

    /// Reads `json` (the `Codable` form) without `JSONDecoder`, which was a quarter of the dispatch thread.
    init(json bytes: [UInt8]) throws {
        let (now, change) = try IncidentChange.record(json: bytes)
        self.init(now: now, change: change)
    }

    /// The record in its `Codable` form (`init(json:)` reads it, and so would `JSONDecoder`), written by hand:
    /// `JSONEncoder` took about 275,000 instructions per record, more than a third of the classify thread at
    /// 10,000 events/s with one event in 20 making a warning.
    var json: [UInt8] { IncidentChange.recordJSON(now: now, change: change) }
}
