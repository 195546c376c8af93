import TocsinCore

/// The console's conversation with the command endpoint, without sockets: which request to send next, what a
/// reply or a time-out does to the board and the status line, and what a key asks for. Times are monotonic
/// seconds passed in, so tests drive it without waiting.
///
/// - Start: `stats` (the feed position), then for every prefix `since` from there (what was published while
///   subscribing) and `active` (the board's rows).
/// - Every `refreshSeconds`: `since` and `active` again for every prefix. `since` catches what the live feed lost
///   quietly; `active` carries acknowledgements (the feed does not) and drops rows that left the scope.
/// - A live gap: `since` for that prefix, at most once per `repairSeconds`.
/// - Keys: `ack` and `step` go ahead of the queue; their outcome, or the endpoint's error, goes to the status line.
public struct WatchSession: Sendable {
    public var board: WatchBoard
    /// The area that acknowledges warnings and moves steps.
    public let by: AreaPath
    public var refreshSeconds: Double = 5
    public var repairSeconds: Double = 1
    public var timeoutSeconds: Double = 5

    private(set) var queue: [WatchRequest] = []
    private(set) var inFlight: SentRequest?
    private var started = false
    private var lastRefresh = -Double.infinity
    private var lastRepair: [String: Double] = [:]
    private var lastReply: Double?
    private var failing = false
    private var firstAttempt: Double?
    public private(set) var message: String?
    public private(set) var messageIsError = false
    /// Lines for the log: problems with outside input and lost requests, taken by the console.
    public private(set) var logLines: [String] = []

    public init(scope: WatchScope, by: AreaPath) {
        board = WatchBoard(scope: scope)
        self.by = by
    }

    /// The connection as the status line shows it.
    public func status(now: Double) -> WatchStatus {
        let connection: WatchStatus.Connection
        if failing {
            connection = .noReply(seconds: Int(now - (lastReply ?? firstAttempt ?? now)))
        } else {
            connection = lastReply == nil ? .connecting : .connected
        }
        return WatchStatus(connection: connection, message: message, messageIsError: messageIsError)
    }

    /// True once `stats` has answered: gap tracking has started.
    public var isStarted: Bool { started }

    /// Hands the log lines over.
    public mutating func takeLogLines() -> [String] {
        defer { logLines = [] }
        return logLines
    }

    // MARK: - What to send

    /// Queues what is due at `now`: the first `stats`, the periodic refresh, gap repairs.
    public mutating func tick(now: Double) {
        if firstAttempt == nil { firstAttempt = now }
        if !started {
            if !queue.contains(.stats) && inFlight?.request != .stats { queue.append(.stats) }
            return
        }
        if now - lastRefresh >= refreshSeconds && !queue.contains(where: { !$0.isAction }) {
            lastRefresh = now
            board.requestFullRepair()
            for p in board.scope.prefixes { enqueue(.since(prefix: p)) }
            for p in board.scope.prefixes { enqueue(.active(prefix: p)) }
        }
        for (p, _) in board.repairsDue where now - (lastRepair[p] ?? -.infinity) >= repairSeconds {
            lastRepair[p] = now
            enqueue(.since(prefix: p))
        }
    }

    /// The next request to send at `now`, with its JSON, once nothing is in flight.
    public mutating func nextRequest(now: Double) -> (request: WatchRequestDescription, body: [UInt8])? {
        guard inFlight == nil, !queue.isEmpty else { return nil }
        let request = queue.removeFirst()
        var position: Int64?
        switch request {
        case .since(let p), .active(let p): position = board.covered[p]
        default: break
        }
        inFlight = SentRequest(request: request, position: position, sentAt: now)
        return (WatchRequestDescription(request), CommandChannel.body(request, position: position, by: by))
    }

    /// The request in flight could not be queued on the socket: it goes back to the front.
    public mutating func unsent() {
        guard let sent = inFlight else { return }
        inFlight = nil
        queue.insert(sent.request, at: 0)
    }

    /// True when the request in flight has waited longer than the time-out at `now`: it is dropped (the
    /// console then reconnects), an action's loss is shown, and the board's requests come again with the
    /// next tick.
    public mutating func checkTimeout(now: Double) -> Bool {
        guard let sent = inFlight, now - sent.sentAt >= timeoutSeconds else { return false }
        inFlight = nil
        failing = true
        let what = WatchRequestDescription(sent.request).text
        logLines.append("no reply to \(what) from the command endpoint within \(Int(timeoutSeconds)) s")
        if sent.request.isAction {
            show("no reply to \(what) within \(Int(timeoutSeconds)) s; try again", error: true)
        }
        // Sync requests queued behind it would time out one by one: the next tick asks again.
        queue.removeAll { !$0.isAction }
        lastRefresh = -.infinity
        return true
    }

    // MARK: - Replies

    /// Applies the reply to the request in flight.
    public mutating func handleReply(_ result: Result<JSONValue, WatchError>, now: Double) {
        guard let sent = inFlight else {
            board.recordProblem("a reply came with no request waiting")
            logLines.append("command endpoint: a reply came with no request waiting")
            return
        }
        inFlight = nil
        lastReply = now
        failing = false
        let reply: JSONValue
        switch result {
        case .success(let value): reply = value
        case .failure(let error):
            board.recordProblem(error.message)
            logLines.append("command endpoint: \(error.message)")
            if sent.request.isAction { show(error.message, error: true) }
            return
        }
        do throws(WatchError) {
            switch sent.request {
            case .stats:
                try board.start(stats: reply)
                started = true
                lastRefresh = now
                for p in board.scope.prefixes { enqueue(.since(prefix: p)) }
                for p in board.scope.prefixes { enqueue(.active(prefix: p)) }
            case .since(let prefix):
                try board.applySince(prefix: prefix, after: sent.position ?? 0, reply: reply)
            case .active(let prefix):
                try board.applyActive(prefix: prefix, position: sent.position, reply: reply)
            case .ack(let id):
                guard reply["ok"]?.boolValue == true else {
                    show("acknowledging \(id) refused: \(reply["error"]?.stringValue ?? "no reason given")", error: true)
                    return
                }
                let warning = try board.applyAcknowledgement(reply: reply)
                show("\(warning.id) (\(warning.event), \(warning.area)) acknowledged by \(warning.acknowledgedBy?.rawValue ?? by.rawValue)",
                     error: false)
            case .step(let id, let state):
                guard reply["ok"]?.boolValue == true else {
                    show("step \(id) refused: \(reply["error"]?.stringValue ?? "no reason given")", error: true)
                    return
                }
                show("step \(id) \(state == .done ? "marked done" : "acknowledged") by \(by); the feed confirms it",
                     error: false)
            }
        } catch {
            // The board has counted it.
            if sent.request.isAction { show(error.message, error: true) }
            logLines.append("command endpoint: \(error.message)")
        }
    }

    /// Applies one live feed message; a problem is counted and logged, never fatal.
    public mutating func handleFeed(frames: [[UInt8]]) {
        do {
            _ = try board.receive(frames: frames)
        } catch {
            logLines.append("feed: \(error.message)")
        }
    }

    // MARK: - Keys

    /// What a key does; false for `quit`.
    public mutating func handleKey(_ key: WatchKey) -> Bool {
        switch key {
        case .quit:
            return false
        case .up:
            board.moveSelection(by: -1)
        case .down:
            board.moveSelection(by: 1)
        case .acknowledgeWarning:
            guard let w = board.selectedWarning else {
                show("select a warning to acknowledge (a); s and d act on steps", error: true)
                return true
            }
            action(.ack(warning: w.id), "acknowledging \(w.id) as \(by)")
        case .acknowledgeStep, .stepDone:
            guard let t = board.selectedTask else {
                show("select a step to \(key == .stepDone ? "mark done (d)" : "acknowledge (s)"); a acknowledges warnings",
                     error: true)
                return true
            }
            action(.step(task: t.id, state: key == .stepDone ? .done : .acknowledged),
                   "\(key == .stepDone ? "marking done" : "acknowledging") step \(t.step) (\(t.id)) as \(by)")
        }
        return true
    }

    mutating func action(_ request: WatchRequest, _ note: String) {
        let firstSync = queue.firstIndex { !$0.isAction } ?? queue.endIndex
        queue.insert(request, at: firstSync)
        show(note + " ...", error: false)
    }

    mutating func enqueue(_ request: WatchRequest) {
        if queue.contains(request) || (inFlight?.request == request && !request.isAction) { return }
        queue.append(request)
    }

    mutating func show(_ text: String, error: Bool) {
        message = text
        messageIsError = error
    }
}

/// A request as tests and logs see it.
public struct WatchRequestDescription: Sendable, Hashable, CustomStringConvertible {
    let request: WatchRequest
    init(_ request: WatchRequest) { self.request = request }

    /// `stats`, `since exercise/warning/district/sz.futian.`, `ack w-3`, `step t-inc-1-verify_site done`.
    public var text: String {
        switch request {
        case .stats: "stats"
        case .since(let p): "since \(p)"
        case .active(let p): "active \(p)"
        case .ack(let w): "ack \(w)"
        case .step(let t, let s): "step \(t) \(s.rawValue)"
        }
    }

    public var description: String { text }
}
