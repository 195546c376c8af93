import CoreMetrics
import Foundation
import Logging
import Synchronization
import TocsinConfig
import TocsinCore
import TocsinStore
import ZeroMQ

/// The dispatch worker: turns incident changes into warnings (`WarningBook`), escalates what nobody
/// acknowledges, publishes the feed and answers the command endpoint (PROTOCOL.md "Feed", "Command").
///
/// It reads classify's outbox in order from its stored offset. Every warning gets its feed `seq` in the same
/// transaction that stores it (its own outbox *is* the feed), so `since` can always replay the feed and `seq` is
/// never reused, also across restarts. The feed PUB has `ZMQ_XPUB_NODROP`: a full subscriber makes a send
/// fail with EAGAIN instead of silently dropping, and the message waits here (never blocking ingest, which
/// is another worker) while subscribers can always repair gaps through `since`.
public final class DispatchWorker: Sendable {
    public struct Endpoints: Sendable {
        public var feed: String
        public var command: String
        /// SUB: classify's outbox grew.
        public var incidents: String
        /// PUSH: all-clear requests to classify.
        public var control: String
        /// PUB (bound here): the feed grew, for the plan worker.
        public var warnings: String
        /// SUB: the plan worker's task outbox grew.
        public var plan: String
        /// PUSH: step requests to the plan worker.
        public var tasks: String
        /// Extra in-process binds of the feed and the command endpoint, for the HTTP server in the same process.
        public var localFeed: String?
        public var localCommand: String?
        public init(feed: String, command: String, incidents: String, control: String, warnings: String,
                    plan: String, tasks: String, localFeed: String? = nil, localCommand: String? = nil) {
            self.localFeed = localFeed
            self.localCommand = localCommand
            self.feed = feed
            self.command = command
            self.incidents = incidents
            self.control = control
            self.warnings = warnings
            self.plan = plan
            self.tasks = tasks
        }
    }

    /// The most messages one `since` reply carries; a client asks again from the last one it got.
    public static let sinceLimit = 100_000
    private let thread: WorkerThread
    let state: State

    final class State: @unchecked Sendable {
        let feed: Socket
        let command: Socket
        let incidentsSub: Socket
        let control: Socket
        let notify: Socket
        let planSub: Socket
        let taskRequests: Socket
        let classify: WorkerStore
        let plan: WorkerStore
        let store: WorkerStore
        let journal: JournalReader
        let audit: AuditLog
        var book: WarningBook
        let config: TocsinConfiguration
        let logger: Logger
        let zapDenied: @Sendable () -> Int
        var offset: Int64
        var planOffset: Int64
        var now: Timestamp?
        var counters: [String: Int64]
        /// Where the latest published state of every task is on the feed (rebuilt from the feed at start).
        var tasks = PublishedTasks()
        /// Incidents whose warning thread changed since the last commit, and those stored as rows.
        var touched = Set<String>()
        var persistedThreads = Set<String>()
        var clockMoved = false
        /// Threads the book let go since the last commit: their rows are deleted with it.
        var expired = Set<String>()
        /// The token of the last request handed to classify (close) and to plan (step): `progress` is idle only
        /// once those workers have stored it, i.e. applied the request.
        var lastControlToken: String?
        var lastStepToken: String?
        let tokenPrefix = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))-"
        var tokenCount = 0
        func nextToken() -> String {
            tokenCount += 1
            return tokenPrefix + String(tokenCount)
        }
        /// With CURVE: the handler whose current allow-list every command request is checked against.
        var security: ServerSecurity?
        /// Command requests refused because their key was revoked after the handshake (in `unauthorised`).
        var revokedRequests = 0
        var revokedLog = RateLimitedLog()
        /// Refused connections of the ingest worker in this process (`countRefusedConnections`).
        var refusedConnections: @Sendable () -> Int = { 0 }
        /// Set by a reload that revoked a key: the feed drops its connections so that subscribers handshake again.
        let feedReset = Atomic<Bool>(false)
        /// Feed messages not yet taken by the PUB (a subscriber at its high-water mark).
        var unsent: [[[UInt8]]] = []
        /// True once the worker is asked to stop: long catch-ups end at the next batch.
        var stopping: @Sendable () -> Bool = { false }
        /// From an event's observed time to its warning on the feed (live `actual` traffic only).
        let eventToWarning = Timer(label: "tocsin_event_to_warning_seconds")

        init(feed: Socket, command: Socket, incidentsSub: Socket, control: Socket, notify: Socket, planSub: Socket,
             taskRequests: Socket, classify: WorkerStore, plan: WorkerStore, store: WorkerStore, journal: JournalReader,
             audit: AuditLog, book: WarningBook, config: TocsinConfiguration, logger: Logger, zapDenied: @escaping @Sendable () -> Int,
             offset: Int64, planOffset: Int64, now: Timestamp?, counters: [String: Int64]) {
            self.planSub = planSub
            self.taskRequests = taskRequests
            self.plan = plan
            self.planOffset = planOffset
            self.feed = feed
            self.command = command
            self.incidentsSub = incidentsSub
            self.control = control
            self.notify = notify
            self.classify = classify
            self.store = store
            self.journal = journal
            self.audit = audit
            self.book = book
            self.config = config
            self.logger = logger
            self.zapDenied = zapDenied
            self.offset = offset
            self.now = now
            self.counters = counters
        }
    }

    public init(context: Context, endpoints: Endpoints, dataPath: String, config: TocsinConfiguration,
                security: ServerSecurity?, logger: Logger, zapDenied: @escaping @Sendable () -> Int = { 0 }) throws {
        let sync: SyncMode = config.durability == .full ? .full : .normal
        let store = try WorkerStore(path: dataPath + "/dispatch.sqlite", sync: sync, owner: true)
        let classify = try WorkerStore(path: dataPath + "/classify.sqlite", sync: sync)
        let plan = try WorkerStore(path: dataPath + "/plan.sqlite", sync: sync)
        let journal = try JournalReader(path: dataPath + "/journal.sqlite")
        let audit = try AuditLog(path: dataPath + "/audit.sqlite", sync: sync)
        let rows = try store.loadState()
        var book: WarningBook
        let areas = config.areas
        let threadRows = rows.filter { $0.key.hasPrefix("thread:") }
        if let header = rows["book.header"] {
            book = try WarningBook(catalog: config.catalog, areaName: { areas[$0]?.name }, header: header,
                                   threads: Array(threadRows.values))
        } else {
            book = WarningBook(catalog: config.catalog, areas: config.areas)
        }
        let persistedThreads = Set(threadRows.keys.map { String($0.dropFirst("thread:".count)) })
        // The book's counter and the feed's outbox are committed together; they agree unless the file was edited.
        if book.nextSeq != store.lastOutboxSeq + 1 {
            logger.warning("dispatch: feed seq \(store.lastOutboxSeq) and warning book \(book.nextSeq - 1) disagree; using the feed's")
            book.nextSeq = store.lastOutboxSeq + 1
        }
        var counters: [String: Int64] = [:]
        for name in ["warnings", "escalations", "tasks"] { counters[name] = try store.offset("count.\(name)") }
        let clock = try store.offset("clock")
        var sockets = SocketSet(context)
        do {
            let feed = try sockets.make(.pub) {
                try $0.setSendHighWaterMark(100_000)
                try $0.setXPubNoDrop(true)
                if let security { try security.apply(to: $0) }
                try $0.bind(endpoints.feed)
                if let local = endpoints.localFeed { try $0.bind(local) }
            }
            let command = try sockets.make(.router) {
                try $0.setMaxMessageSize(1 << 20)
                if let security { try security.apply(to: $0) }
                try $0.bind(endpoints.command)
                if let local = endpoints.localCommand { try $0.bind(local) }
            }
            let incidentsSub = try sockets.subscriber(endpoints.incidents)
            let control = try sockets.make(.push) {
                try $0.setSendHighWaterMark(10_000)
                try $0.connect(endpoints.control)
            }
            let notify = try sockets.make(.pub) { try $0.bind(endpoints.warnings) }
            let planSub = try sockets.subscriber(endpoints.plan)
            let taskRequests = try sockets.make(.push) {
                try $0.setSendHighWaterMark(10_000)
                try $0.connect(endpoints.tasks)
            }
            state = State(feed: feed, command: command, incidentsSub: incidentsSub, control: control, notify: notify,
                          planSub: planSub, taskRequests: taskRequests, classify: classify, plan: plan, store: store,
                          journal: journal, audit: audit, book: book, config: config, logger: logger, zapDenied: zapDenied,
                          offset: try store.offset("classify"), planOffset: try store.offset("plan"),
                          now: clock > 0 ? Timestamp(micros: clock) : nil, counters: counters)
            state.persistedThreads = persistedThreads
            state.security = security
            var after: Int64 = 0
            while true {
                let batch = try store.outbox(after: after, limit: 10_000)
                guard let last = batch.last else { break }
                for m in batch where FeedKind(topic: m.topic) == .task {
                    if let t = try? PlanTask(json: m.body) { state.tasks.record(t) }
                }
                after = last.seq
            }
            // Tasks of incidents the book has let go (after their retention) are not kept.
            state.tasks.retain { !book.warnings(ofIncident: $0).isEmpty }
        } catch {
            sockets.closeAll()
            throw error
        }
        thread = try WorkerThread(name: "dispatch")
    }

    public func start() {
        let s = state, thread = self.thread
        s.stopping = { thread.isStopping }
        thread.start { Self.run(s, thread) }
    }

    @discardableResult
    public func stop(timeout: Double = 5) -> Bool { thread.stop(timeout: timeout) }

    /// Reports `count` (the ingest worker's refused connections, when it runs in this process) in `stats`.
    /// Call before `start()`.
    public func countRefusedConnections(_ count: @escaping @Sendable () -> Int) {
        state.refusedConnections = count
    }

    /// Drops every connection to the public feed endpoint (unbind and bind again; libzmq closes the sessions
    /// a listener accepted). A PUB cannot refuse one subscriber, so after a key is revoked this is how its open
    /// feed connection ends: subscribers reconnect by themselves, the revoked key fails its new handshake, and
    /// the others repair the gap with `since`.
    public func dropFeedConnections() {
        state.feedReset.store(true, ordering: .releasing)
        thread.poke()
    }

    static func resetFeed(_ s: State) {
        let endpoint = s.config.endpoints.feed
        do {
            try s.feed.unbind(endpoint)
            try s.feed.bind(endpoint)
            s.logger.notice("dispatch: feed connections dropped after a key was revoked", metadata: ["feed": "\(endpoint)"])
        } catch {
            s.logger.error("dispatch: cannot drop the feed's connections after a key was revoked: \(error)")
        }
    }

    private static func run(_ s: State, _ thread: WorkerThread) {
        var poller = Poller()
        _ = poller.add(s.incidentsSub)
        _ = poller.add(s.planSub)
        let commandIndex = poller.add(s.command)
        _ = poller.add(fileDescriptor: thread.wakeDescriptor)
        do { try catchUp(s) } catch { s.logger.error("dispatch catch-up failed: \(error)") }
        s.logger.info("dispatch ready", metadata: ["feed": "\(s.config.endpoints.feed)"])
        while !thread.isStopping {
            do {
                let ready = try poller.poll(timeoutMilliseconds: s.unsent.isEmpty ? 1000 : 10)
                if s.feedReset.exchange(false, ordering: .acquiringAndReleasing) { resetFeed(s) }
                while (try s.incidentsSub.receive(dontWait: true)) != nil {}
                while (try s.planSub.receive(dontWait: true)) != nil {}
                try catchUp(s)
                if ready.contains(where: { $0.index == commandIndex }) {
                    while let message = try s.command.receive(dontWait: true, maxFrames: 8) {
                        let request = CommandCodec.parse(message)
                        let reply: [UInt8]
                        if let handler = s.security?.handler, !handler.isAllowed(message) {
                            s.revokedRequests += 1
                            s.revokedLog.log(s.logger, level: .notice, "dispatch: request refused: key revoked",
                                             metadata: ["client": "\(message.userID ?? "-")"])
                            reply = CommandCodec.error(CommandError(ServerSecurity.revoked(message), code: .forbidden))
                            _ = try? s.command.send(request.envelope + [reply], dontWait: true)
                            continue
                        }
                        switch request.body {
                        case .failure(let e): reply = CommandCodec.error(e)
                        case .success(let object):
                            do throws(CommandError) {
                                reply = try handle(s, object)
                            } catch {
                                reply = CommandCodec.error(error)
                            }
                        }
                        _ = try? s.command.send(request.envelope + [reply], dontWait: true)
                    }
                }
                flush(s)
            } catch let error as ZMQError where error.isTerminated {
                break
            } catch {
                s.logger.error("dispatch loop error: \(error)")
            }
        }
        for socket in [s.feed, s.command, s.incidentsSub, s.control, s.notify, s.planSub, s.taskRequests] {
            socket.close()
        }
        try? s.store.close()
        try? s.classify.close()
        try? s.plan.close()
        try? s.journal.close()
        try? s.audit.close()
    }

    /// Applies classify's outbox after the offset (incident changes become warnings, clock marks escalate), then
    /// the plan worker's (tasks get their feed `seq`).
    static func catchUp(_ s: State) throws {
        try catchUpIncidents(s)
        while !s.stopping() {
            let batch = try s.plan.outbox(after: s.planOffset, limit: 4096)
            guard let last = batch.last else { return }
            var messages: [(topic: String, body: [UInt8], seq: Int64)] = []
            for m in batch {
                // The plan worker's bytes with the feed seq spliced in (the same bytes `task.json` writes), under
                // the topic it stored them with (the task's): only whose step it is and its state are read.
                if FeedKind(topic: m.topic) == .task, let relayed = PlanTask.Relayed(json: m.body),
                   let body = PlanTask.json(m.body, withSeq: s.book.nextFeedSeq) {
                    let seq = s.book.takeSeq()
                    s.tasks.record(incident: relayed.incident, step: relayed.step, seq: seq, isFinal: relayed.state.isFinal)
                    messages.append((m.topic, body, seq))
                    continue
                }
                do {
                    var task = try PlanTask(json: m.body)
                    task.seq = s.book.takeSeq()
                    s.tasks.record(task)
                    messages.append((task.topic, task.json, task.seq))
                } catch {
                    s.logger.error("dispatch: plan outbox message \(m.seq) is not a task: \(error)")
                }
            }
            s.counters["tasks", default: 0] += Int64(messages.count)
            try commit(s, messages: messages, offsets: [
                "plan": last.seq, "count.tasks": s.counters["tasks"] ?? 0,
            ])
            s.planOffset = last.seq
        }
    }

    static func catchUpIncidents(_ s: State) throws {
        while !s.stopping() {
            let batch = try s.classify.outbox(after: s.offset, limit: 4096)
            guard let last = batch.last else { return }
            var warnings: [Warning] = []
            var escalations = 0
            for m in batch {
                switch m.topic {
                case "change":
                    let record = try ChangeRecord(json: m.body)
                    let change = record.change
                    if let t = record.now, s.now.map({ t > $0 }) ?? true { s.now = t }
                    let at = max(s.now ?? change.incident.lastTime, change.incident.lastTime)
                    let issued = s.book.incidentChanged(change, at: at)
                    observeLatency(s, issued, observed: change.incident.lastTime)
                    warnings += issued
                    s.touched.insert(change.incident.id)
                case "clock":
                    guard let v = try? JSONValue.parse(m.body), case .string(let text)? = v["now"],
                          let t = Timestamp(rfc3339: text) else { continue }
                    s.now = t
                    s.clockMoved = true
                    let escalated = s.book.advance(to: t, timeouts: s.config.acknowledgeTimeout)
                    s.expired.formUnion(s.book.lastExpired)
                    for id in s.book.lastExpired { s.tasks.forget(incident: id) }
                    for w in escalated { s.touched.insert(w.incident) }
                    escalations += escalated.count
                    warnings += escalated
                default:
                    continue
                }
            }
            var offsets: [String: Int64] = ["classify": last.seq]
            if !warnings.isEmpty {
                s.counters["warnings", default: 0] += Int64(warnings.count)
                s.counters["escalations", default: 0] += Int64(escalations)
                offsets["count.warnings"] = s.counters["warnings"]
                offsets["count.escalations"] = s.counters["escalations"]
            }
            try commit(s, messages: warnings.map { ($0.topic, $0.json, $0.seq) }, offsets: offsets)
            s.offset = last.seq
        }
    }

    /// Records event-to-warning latency for live traffic: `actual` warnings whose event was observed within the
    /// last hour by the wall clock (drills run on virtual time and would say nothing about the pipeline).
    static func observeLatency(_ s: State, _ warnings: [Warning], observed: Timestamp) {
        guard warnings.contains(where: { $0.status == .actual }) else { return }
        let delta = WallClock.now().micros - observed.micros
        guard delta >= 0, delta < 3_600_000_000 else { return }
        s.eventToWarning.recordNanoseconds(delta * 1000)
    }

    /// Stores feed messages (with the `seq` the book gave them) together with the book, the offsets and the
    /// clock in one transaction, then publishes them.
    static func commit(_ s: State, messages: [(topic: String, body: [UInt8], seq: Int64)], offsets extra: [String: Int64])
        throws
    {
        var offsets = extra
        if let now = s.now { offsets["clock"] = now.micros }
        let stored = try s.store.commit(offsets: offsets, state: try bookRows(s),
                                        outbox: messages.map { ($0.topic, $0.body) })
        for (m, expected) in zip(stored, messages) where m.seq != expected.seq {
            s.logger.error("dispatch: feed message stored as seq \(m.seq) but numbered \(expected.seq)")
        }
        var w = JSONWriter(capacity: 32)
        w.beginObject()
        w.field("feed", Int(s.store.lastOutboxSeq))
        w.endObject()
        // Also after a clock-only commit: the plan worker takes its time from here.
        _ = try? s.notify.send([Array("feed".utf8), w.bytes], dontWait: true)
        guard !stored.isEmpty else { return }
        s.unsent += stored.map { [Array($0.topic.utf8), $0.body] }
        flush(s)
    }

    /// The book's header and the threads touched since the last commit (deleted when the book let them go).
    static func bookRows(_ s: State) throws -> [String: [UInt8]?] {
        var rows: [String: [UInt8]?] = ["book.header": try s.book.headerSnapshot()]
        for id in s.touched {
            let snapshot = try s.book.threadSnapshot(id)
            if snapshot == nil && !s.persistedThreads.contains(id) { continue }
            rows["thread:\(id)"] = snapshot
            if snapshot == nil { s.persistedThreads.remove(id) } else { s.persistedThreads.insert(id) }
        }
        if s.clockMoved {
            // Closed incidents the book has forgotten (after its retention), without a pass over every thread.
            for id in s.expired where s.persistedThreads.contains(id) {
                rows["thread:\(id)"] = .some(nil)
                s.persistedThreads.remove(id)
            }
            s.clockMoved = false
            s.expired.removeAll()
        }
        s.touched.removeAll()
        return rows
    }

    /// Publishes what waits, in order, until a subscriber's high-water mark pushes back.
    static func flush(_ s: State) {
        var sent = 0
        for frames in s.unsent {
            guard (try? s.feed.send(frames, dontWait: true)) == true else { break }
            sent += 1
        }
        if sent > 0 { s.unsent.removeFirst(sent) }
        if s.unsent.count > 1_000_000 {
            s.logger.error("dispatch: \(s.unsent.count) feed messages held back by a stuck subscriber; dropping them from the live feed (since still serves them)")
            s.unsent.removeAll()
        }
    }

    // MARK: - Command endpoint

    static func handle(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let op = try request.string("op")
        switch op {
        case "stats": return try stats(s)
        case "since": return try since(s, request)
        case "active": return try active(s, request)
        case "ack": return try ack(s, request)
        case "close": return try close(s, request)
        case "cap": return try cap(s, request)
        case "progress": return try progress(s)
        case "step": return try step(s, request)
        case "audit": return try auditEntries(s, request)
        case "incidents": return incidents(s)
        default: throw .unknownOp(op)
        }
    }

    static func area(_ request: JSONObject, _ key: String) throws(CommandError) -> AreaPath {
        let text = try request.string(key)
        guard let path = AreaPath(text) else { throw CommandError("\(key): \"\(text)\" is not an area path") }
        return path
    }

    static func stats(_ s: State) throws(CommandError) -> [UInt8] {
        var c = Counts()
        let stored = (try? s.journal.counters()) ?? [:]
        c.accepted = stored["accepted"] ?? 0
        c.duplicate = stored["duplicate"] ?? 0
        c.rejected = stored["rejected"] ?? 0
        c.oversized = stored["oversized"] ?? 0
        c.unauthorised = (stored["unauthorised"] ?? 0) + s.zapDenied() + s.revokedRequests
        c.rateLimited = stored["rate_limited"] ?? 0
        c.refusedConnections = (stored["refused_connections"] ?? 0) + s.refusedConnections()
        c.warnings = Int(s.counters["warnings"] ?? 0)
        c.escalations = Int(s.counters["escalations"] ?? 0)
        c.tasks = Int(s.counters["tasks"] ?? 0)
        c.seq = Int(s.store.lastOutboxSeq)
        return CommandCodec.stats(c)
    }

    static func since(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let seq = try request.integer("seq")
        guard seq >= 0 else { throw CommandError("seq: must be 0 or more") }
        let prefix = try request.optionalString("prefix") ?? ""
        let messages: [OutboxMessage]
        do {
            messages = try s.store.outbox(after: Int64(seq), prefix: prefix, limit: sinceLimit)
        } catch {
            throw CommandError("feed unavailable: \(error)")
        }
        return CommandCodec.ok { w in
            w.key("messages")
            w.beginArray()
            for m in messages {
                w.beginObject()
                w.field("topic", m.topic)
                w.key("body")
                w.raw(m.body)
                w.endObject()
            }
            w.endArray()
            w.field("last", Int(s.store.lastOutboxSeq))
        }
    }

    static func active(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let prefix = try request.optionalString("prefix") ?? ""
        return CommandCodec.ok { w in
            w.key("warnings")
            w.beginArray()
            for warning in s.book.latestWarnings where warning.topic.hasPrefix(prefix) { w.raw(warning.json) }
            w.endArray()
            w.key("tasks")
            w.beginArray()
            for seq in s.tasks.openSeqs {
                guard let m = try? s.store.outboxMessage(seq), m.topic.hasPrefix(prefix) else { continue }
                w.raw(m.body)
            }
            w.endArray()
        }
    }

    static func ack(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let id = try request.string("warning")
        let by = try area(request, "by")
        let op = try operatorName(request)
        let at = s.now ?? WallClock.now()
        let warning: Warning
        do {
            warning = try s.book.acknowledge(id, by: by, at: at)
        } catch {
            let e = CommandError(error)
            record(s, "ack", target: id, incident: s.book.warning(id)?.incident ?? "", by: by, operator: op,
                   outcome: e.message)
            throw e
        }
        s.touched.insert(warning.incident)
        do {
            try s.store.commit(offsets: [:], state: try bookRows(s), outbox: [])
        } catch {
            throw CommandError("acknowledgement not stored: \(error)", code: .unavailable)
        }
        record(s, "ack", target: id, incident: warning.incident, by: by, operator: op, outcome: "ok")
        return CommandCodec.ok { w in
            w.key("warning")
            w.raw(warning.json)
        }
    }

    static func close(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let id = try request.string("incident")
        let by = try area(request, "by")
        let op = try operatorName(request)
        do {
            try s.book.authorizeClose(incident: id, by: by)
        } catch {
            let e = CommandError(error)
            record(s, "close", target: id, incident: id, by: by, operator: op, outcome: e.message)
            throw e
        }
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("op", "close")
        w.field("incident", id)
        w.field("by", by.rawValue)
        let token = s.nextToken()
        w.field("token", token)
        if let now = s.now { w.field("at", now.rfc3339) }
        w.endObject()
        guard (try? s.control.send([w.bytes], dontWait: true)) == true else {
            throw CommandError("classify worker unavailable; try again", code: .unavailable)
        }
        s.lastControlToken = token
        record(s, "close", target: id, incident: id, by: by, operator: op, outcome: "ok")
        return CommandCodec.ok { w in w.field("incident", id) }
    }

    /// Extension: how far the pipeline has got: the journal's end, what classify and dispatch have applied,
    /// and dispatch's time. A drill driver waits on this to know that the pipeline is idle.
    static func progress(_ s: State) throws(CommandError) -> [UInt8] {
        do {
            // Consumers' positions are read before their producers' (this thread's own positions cannot move
            // meanwhile): work that lands between two reads then shows as "not idle", never the other way.
            var classifyIdle = true
            if let token = s.lastControlToken, try s.classify.stateValue("token") != Array(token.utf8) { classifyIdle = false }
            var planIdle = true
            if let token = s.lastStepToken, try s.plan.stateValue("token") != Array(token.utf8) { planIdle = false }
            // The plan worker has applied dispatch's time too (overdue steps).
            if !s.config.plans.isEmpty, let now = s.now, try s.plan.offset("clock") < now.micros { planIdle = false }
            let planned = try s.plan.offset("feed")
            let classified = try s.classify.offset("journal")
            let journal = try s.journal.lastSeq()
            let changes = try s.classify.lastSeqOnDisk()
            let tasks = try s.plan.lastSeqOnDisk()
            let seq = s.store.lastOutboxSeq
            if !s.config.plans.isEmpty && !(planned == seq && tasks == s.planOffset) { planIdle = false }
            return CommandCodec.ok { w in
                w.field("journal", Int(journal))
                w.field("classified", Int(classified))
                w.field("changes", Int(changes))
                w.field("dispatched", Int(s.offset))
                w.field("seq", Int(s.store.lastOutboxSeq))
                w.key("now")
                if let now = s.now { w.value(now.rfc3339) } else { w.null() }
                w.field("planned", Int(planned))
                w.field("tasks", Int(tasks))
                w.field("published", Int(s.planOffset))
                w.field("idle", journal == classified && changes == s.offset && planIdle && classifyIdle)
            }
        } catch {
            throw CommandError("progress unavailable: \(error)")
        }
    }

    /// Checks a step request against the task as last published, then hands it to the plan worker; the task's
    /// new state follows on the feed.
    static func step(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let id = try request.string("task")
        let by = try area(request, "by")
        let op = try operatorName(request)
        let stateText = try request.string("state")
        guard let state = TaskState(rawValue: stateText), state == .acknowledged || state == .done else {
            throw CommandError("state: expected acknowledged or done, got \"\(stateText)\"")
        }
        guard let entry = s.tasks.entry(id) else { throw CommandError("unknown task \"\(id)\"", code: .notFound) }
        let task: PlanTask
        do {
            guard let m = try s.store.outboxMessage(entry.seq) else { throw CommandError("feed message \(entry.seq) is gone") }
            task = try PlanTask(json: m.body)
        } catch {
            throw CommandError("task \(id) unavailable: \(error)", code: .unavailable)
        }
        func refuse(_ e: CommandError) -> CommandError {
            record(s, "step", target: id, incident: task.incident, by: by, operator: op, detail: stateText,
                   outcome: e.message)
            return e
        }
        if task.state.isFinal { throw refuse(CommandError("task \(id) is \(task.state.rawValue)", code: .conflict)) }
        guard task.owner.isWithin(by) else {
            throw refuse(CommandError("\(by) does not own task \(id) (owner \(task.owner))", code: .forbidden))
        }
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.field("op", "step")
        w.field("task", id)
        w.field("by", by.rawValue)
        w.field("state", state.rawValue)
        let token = s.nextToken()
        w.field("token", token)
        if let now = s.now { w.field("at", now.rfc3339) }
        w.endObject()
        guard (try? s.taskRequests.send([w.bytes], dontWait: true)) == true else {
            throw CommandError("plan worker unavailable; try again", code: .unavailable)
        }
        s.lastStepToken = token
        record(s, "step", target: id, incident: task.incident, by: by, operator: op, detail: stateText, outcome: "ok")
        return CommandCodec.ok { w in w.field("task", id) }
    }

    static func cap(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let id = try request.string("warning")
        guard let warning = s.book.warning(id) else { throw CommandError("unknown warning \"\(id)\"", code: .notFound) }
        let name = s.config.areas[warning.area]?.name ?? warning.area.rawValue
        let xml = CAPRenderer.render(warning, references: s.book.references(of: warning), areaName: name)
        return CommandCodec.ok { w in w.field("xml", xml) }
    }

    /// Extension: `{"op": "incidents"}` -> the open incidents' current facts: `{"ok": true, "incidents": [{"id",
    /// "event", "status", "tier", "area", "warning", "events": {"events", "first", "last", "sample", "counts",
    /// "values"}}]}` (`counts`: events per type; `values`: per type, the sums and maxima of the values).
    static func incidents(_ s: State) -> [UInt8] {
        let latest = Dictionary(s.book.latestWarnings.map { ($0.incident, $0.id) }, uniquingKeysWith: { _, b in b })
        return CommandCodec.ok { w in
            w.key("incidents")
            w.beginArray()
            for kept in s.book.openIncidents {
                // The events summary from classify's stored state (counts and values are kept there only), else
                // from the book's copy.
                let i = (try? s.classify.stateValue("inc:\(kept.id)")).flatMap { $0 }
                    .flatMap { try? Incident(stateJSON: $0) } ?? kept
                w.beginObject()
                w.field("id", i.id)
                w.field("event", i.type)
                w.field("status", i.status.rawValue)
                w.key("tier")
                if let t = kept.tier { w.value(t.rawValue) } else { w.null() }
                w.field("area", kept.area.rawValue)
                w.key("warning")
                if let id = latest[i.id] { w.value(id) } else { w.null() }
                w.key("events")
                w.beginObject()
                w.field("events", i.eventCount)
                w.field("first", i.firstTime.rfc3339)
                w.field("last", i.lastTime.rfc3339)
                w.key("sample")
                w.beginArray()
                for id in i.sampleIDs { w.value(id) }
                w.endArray()
                w.key("counts")
                w.beginObject()
                for (type, n) in i.counts.sorted(by: { $0.key < $1.key }) { w.field(type, n) }
                w.endObject()
                w.key("values")
                w.beginObject()
                for (type, values) in i.aggregates.sorted(by: { $0.key < $1.key }) {
                    w.key(type)
                    w.beginObject()
                    for (name, v) in values.sorted(by: { $0.key < $1.key }) { w.field(name, v) }
                    w.endObject()
                }
                w.endObject()
                w.endObject()
                w.endObject()
            }
            w.endArray()
        }
    }

    // MARK: - Audit

    /// The optional `operator` field (extension): the name of the person acting, recorded in the audit table.
    static func operatorName(_ request: JSONObject) throws(CommandError) -> String? {
        guard let name = try request.optionalString("operator") else { return nil }
        guard !name.isEmpty, name.utf8.count <= 128, !name.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw CommandError("operator: expected 1-128 bytes without control characters")
        }
        return name
    }

    /// Appends an audit row; a failure to store it is logged (the action itself already happened or was refused).
    static func record(_ s: State, _ action: String, target: String, incident: String, by: AreaPath, operator op: String?,
                       detail: String? = nil, outcome: String) {
        let entry = AuditEntry(at: WallClock.now().rfc3339, pipelineTime: s.now?.rfc3339, action: action, target: target,
                               incident: incident, by: by.rawValue, operator: op, detail: detail, outcome: outcome)
        do {
            try s.audit.append(entry)
        } catch {
            s.logger.error("dispatch: audit row not stored: \(error)", metadata: ["action": "\(action)", "target": "\(target)"])
        }
    }

    /// Extension: `{"op": "audit", "incident": id?}` -> `{"ok": true, "entries": [...]}`, oldest first.
    static func auditEntries(_ s: State, _ request: JSONObject) throws(CommandError) -> [UInt8] {
        let incident = try request.optionalString("incident")
        let entries: [AuditEntry]
        do {
            entries = try s.audit.entries(incident: incident)
        } catch {
            throw CommandError("audit unavailable: \(error)", code: .unavailable)
        }
        return CommandCodec.ok { w in
            w.key("entries")
            w.beginArray()
            for e in entries {
                w.beginObject()
                w.field("id", Int(e.id))
                w.field("at", e.at)
                w.key("pipelineTime")
                if let t = e.pipelineTime { w.value(t) } else { w.null() }
                w.field("action", e.action)
                w.field("target", e.target)
                w.field("incident", e.incident)
                w.field("by", e.by)
                w.key("operator")
                if let o = e.operator { w.value(o) } else { w.null() }
                w.key("detail")
                if let d = e.detail { w.value(d) } else { w.null() }
                w.field("outcome", e.outcome)
                w.endObject()
            }
            w.endArray()
        }
    }
}
