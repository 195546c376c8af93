import Foundation
import Logging
import TocsinConfig
import TocsinCore
import TocsinStore
import ZeroMQ

/// The plan worker: runs the response plans (`PlanBook`). It reads the feed (dispatch's outbox) in order from
/// its stored offset: a warning activates, upgrades or ends its incident's plan. Its time is dispatch's stored
/// clock, read before the feed so that every warning up to that time has been applied first; a step not done
/// by its deadline becomes overdue and is escalated. `step` requests arrive from dispatch (which checked them
/// against what it published). Its tasks go to its own outbox, committed with its offset and the book; dispatch
/// gives them feed sequence numbers and publishes them.
public final class PlanWorker: Sendable {
    public struct Endpoints: Sendable {
        /// SUB: the feed grew (dispatch's PUB).
        public var warnings: String
        /// PULL (bound here): step requests from dispatch.
        public var tasks: String
        /// PUB (bound here): task outbox grew.
        public var plan: String
        public init(warnings: String, tasks: String, plan: String) {
            self.warnings = warnings
            self.tasks = tasks
            self.plan = plan
        }
    }

    private let thread: WorkerThread
    let state: State

    final class State: @unchecked Sendable {
        let warningsSub: Socket
        let requests: Socket
        let notify: Socket
        let feed: WorkerStore
        let store: WorkerStore
        var book: PlanBook
        let logger: Logger
        var offset: Int64
        var now: Timestamp?
        /// Incidents whose plan run changed since the last commit, and those stored as rows.
        var touched = Set<String>()
        var persistedRuns = Set<String>()
        /// True once the worker is asked to stop: long catch-ups end at the next batch.
        var stopping: @Sendable () -> Bool = { false }

        init(warningsSub: Socket, requests: Socket, notify: Socket, feed: WorkerStore, store: WorkerStore,
             book: PlanBook, logger: Logger, offset: Int64, now: Timestamp?) {
            self.warningsSub = warningsSub
            self.requests = requests
            self.notify = notify
            self.feed = feed
            self.store = store
            self.book = book
            self.logger = logger
            self.offset = offset
            self.now = now
        }
    }

    public init(context: Context, endpoints: Endpoints, dataPath: String, plans: [String: ResponsePlan],
                sync: SyncMode, logger: Logger) throws {
        let store = try WorkerStore(path: dataPath + "/plan.sqlite", sync: sync, owner: true)
        let feed = try WorkerStore(path: dataPath + "/dispatch.sqlite", sync: sync)
        let rows = try store.loadState()
        let runRows = rows.filter { $0.key.hasPrefix("run:") }
        let book = try rows["plan.header"].map { try PlanBook(plans: plans, header: $0, runs: Array(runRows.values)) }
            ?? PlanBook(plans: plans)
        let clock = try store.offset("clock")
        var sockets = SocketSet(context)
        do {
            let sub = try sockets.subscriber(endpoints.warnings)
            let requests = try sockets.make(.pull) { try $0.bind(endpoints.tasks) }
            let notify = try sockets.make(.pub) { try $0.bind(endpoints.plan) }
            state = State(warningsSub: sub, requests: requests, notify: notify, feed: feed, store: store, book: book,
                          logger: logger, offset: try store.offset("feed"), now: clock > 0 ? Timestamp(micros: clock) : nil)
            state.persistedRuns = Set(runRows.keys.map { String($0.dropFirst("run:".count)) })
        } catch {
            sockets.closeAll()
            throw error
        }
        thread = try WorkerThread(name: "plan")
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
        _ = poller.add(s.warningsSub)
        let requestIndex = poller.add(s.requests)
        _ = poller.add(fileDescriptor: thread.wakeDescriptor)
        do { try catchUp(s) } catch { s.logger.error("plan catch-up failed: \(error)") }
        while !thread.isStopping {
            do {
                let ready = try poller.poll(timeoutMilliseconds: 1000)
                while (try s.warningsSub.receive(dontWait: true)) != nil {}
                try catchUp(s)
                if ready.contains(where: { $0.index == requestIndex }) {
                    while let m = try s.requests.receive(dontWait: true) { try handleStep(s, m) }
                }
            } catch let error as ZMQError where error.isTerminated {
                break
            } catch {
                s.logger.error("plan loop error: \(error)")
            }
        }
        for socket in [s.warningsSub, s.requests, s.notify] { socket.close() }
        try? s.store.close()
        try? s.feed.close()
    }

    /// Applies the feed's warnings after the offset, then dispatch's time.
    static func catchUp(_ s: State) throws {
        let clock = try s.feed.offset("clock")
        while !s.stopping() {
            let batch = try s.feed.outbox(after: s.offset, limit: 4096)
            guard let last = batch.last else { break }
            var tasks: [PlanTask] = []
            for m in batch where FeedKind(topic: m.topic) == .warning {
                do {
                    // What the book needs of the warning; the full decoder for anything else (and its error).
                    let w = try Warning.Activation(json: m.body) ?? Warning.Activation(Warning(json: m.body))
                    tasks += s.book.warningIssued(w, at: w.sent)
                    s.touched.insert(w.incident)
                } catch {
                    s.logger.error("plan: feed message \(m.seq) is not a warning: \(error)")
                }
            }
            try commit(s, tasks: tasks, offset: last.seq)
        }
        if clock > 0, s.now.map({ clock > $0.micros }) ?? true {
            let t = Timestamp(micros: clock)
            s.now = t
            try commit(s, tasks: s.book.advance(to: t), offset: s.offset, clock: t)
        }
    }

    /// `{"op":"step","task":ID,"by":AREA,"state":"acknowledged"|"done"}` forwarded by dispatch.
    static func handleStep(_ s: State, _ message: Message) throws {
        guard let body = message.frames.last, let v = try? JSONValue.parse(body),
              case .string(let id)? = v["task"], case .string(let byText)? = v["by"], let by = AreaPath(byText),
              case .string(let stateText)? = v["state"], let state = TaskState(rawValue: stateText) else {
            s.logger.warning("plan: malformed step request")
            return
        }
        try catchUp(s)
        let at = v["at"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? s.now ?? Timestamp(micros: 0)
        var tasks: [PlanTask] = []
        do {
            tasks = try s.book.step(id, by: by, state: state, at: at)
        } catch {
            s.logger.warning("plan: step refused: \(error)")
        }
        try commit(s, tasks: tasks, offset: s.offset, token: v["token"]?.stringValue)
    }

    static func commit(_ s: State, tasks: [PlanTask], offset: Int64, clock: Timestamp? = nil, token: String? = nil)
        throws
    {
        if tasks.isEmpty && offset == s.offset && clock == nil && token == nil { return }
        var offsets = ["feed": offset]
        if let clock { offsets["clock"] = clock.micros }
        var rows: [String: [UInt8]?] = ["plan.header": try s.book.headerSnapshot()]
        if let token { rows["token"] = Array(token.utf8) }
        for t in tasks { s.touched.insert(t.incident) }
        for id in s.touched {
            let snapshot = try s.book.runSnapshot(id)
            if snapshot == nil && !s.persistedRuns.contains(id) { continue }
            rows["run:\(id)"] = snapshot
            if snapshot == nil { s.persistedRuns.remove(id) } else { s.persistedRuns.insert(id) }
        }
        if clock != nil {
            // Ended plans the book has just forgotten (after its retention), without a pass over every run.
            for id in s.book.lastExpired where s.persistedRuns.contains(id) {
                rows["run:\(id)"] = .some(nil)
                s.persistedRuns.remove(id)
            }
        }
        s.touched.removeAll()
        let stored = try s.store.commit(offsets: offsets, state: rows,
                                        outbox: tasks.map { ($0.topic, $0.json) })
        s.offset = offset
        if let last = stored.last {
            var w = JSONWriter(capacity: 32)
            w.beginObject()
            w.field("tasks", Int(last.seq))
            w.endObject()
            _ = try? s.notify.send([Array("plan".utf8), w.bytes], dontWait: true)
        }
    }
}
