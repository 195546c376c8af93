import TocsinConfig
import TocsinCore
import TocsinDrill

/// A pure, in-process stand-in for the drill runner: it replays a scenario through TocsinCore's incident engine,
/// warning book and plan book on a virtual clock, executes the responder actions and fires contingencies, and
/// records a `DrillLog` exactly as the runner would. It checks that the shipped scenarios do what they claim
/// with the real rules, without ZeroMQ or storage.
struct ReferenceReplay {
    let scenario: Scenario
    let config: TocsinConfiguration

    private var engine: IncidentEngine
    private var book: WarningBook
    private var plans: PlanBook
    private let decoder: EventDecoder
    private(set) var log: DrillLog
    private var pending: [ScheduledEvent]
    private var scheduled: [(offset: Double, order: Int, actionID: String, request: JSONValue)] = []
    private var order = 0
    private var fired = Set<String>()
    private var contingencies = Set<String>()
    private var journalSeq: Int64 = 0

    init(_ scenario: Scenario, config: TocsinConfiguration) {
        self.scenario = scenario
        self.config = config
        engine = IncidentEngine(catalog: config.catalog)
        book = WarningBook(catalog: config.catalog, areas: config.areas)
        plans = PlanBook(plans: config.plans)
        decoder = EventDecoder(catalog: config.catalog, areas: config.areas, maxFutureSeconds: .infinity)
        log = DrillLog(scenario: scenario)
        pending = scenario.expandedInjects()
    }

    static func run(_ scenario: Scenario, config: TocsinConfiguration) -> DrillLog {
        var replay = ReferenceReplay(scenario, config: config)
        replay.run()
        return replay.log
    }

    mutating func run() {
        var t = 0.0
        while true {
            processDue(upTo: t)
            let now = scenario.time(at: t)
            for change in engine.advance(to: now) { publish(book.incidentChanged(change, at: now), at: t) }
            publish(book.advance(to: now, timeouts: config.acknowledgeTimeout), at: t)
            publishTasks(plans.advance(to: now), at: t)
            for id in scenario.missedExpectations(in: log, at: t) where !contingencies.contains(id) {
                contingencies.insert(id)
                log.append(.contingency(offset: t, expectationID: id))
                pending += scenario.contingencyInjects(for: id)
                pending = pending.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }
                    .map(\.element)
            }
            processDue(upTo: t)
            if t >= scenario.duration { break }
            t = min(scenario.duration, t + scenario.step)
        }
    }

    /// Sends the events and executes the actions due by `t`, in time order (events first on a tie).
    private mutating func processDue(upTo t: Double) {
        while true {
            let nextEvent = pending.first.flatMap { $0.offset <= t ? $0.offset : nil }
            let nextAction = scheduled.min { ($0.offset, $0.order) < ($1.offset, $1.order) }
                .flatMap { $0.offset <= t ? $0 : nil }
            if let e = nextEvent, nextAction.map({ e <= $0.offset }) ?? true {
                let event = pending.removeFirst()
                inject(event, at: max(event.offset, 0))
            } else if let a = nextAction {
                scheduled.removeAll { $0.order == a.order }
                execute(a.actionID, a.request, at: a.offset)
            } else {
                return
            }
        }
    }

    private mutating func inject(_ scheduledEvent: ScheduledEvent, at offset: Double) {
        let now = scenario.time(at: offset)
        switch decoder.decode(scheduledEvent.json, now: now) {
        case .failure(let rejection):
            log.append(.injected(offset: offset, scheduledEvent, reply: "rejected: \(rejection.message)"))
        case .success(let event):
            journalSeq += 1
            log.append(.injected(offset: offset, scheduledEvent, reply: "accepted"))
            for change in engine.apply(event, seq: journalSeq) {
                publish(book.incidentChanged(change, at: now), at: offset)
            }
        }
    }

    private mutating func publish(_ warnings: [Warning], at offset: Double) {
        for w in warnings {
            let body = try! JSONValue.parse(w.json)
            record(topic: w.topic, body: body, at: offset)
            publishTasks(plans.warningIssued(w, at: scenario.time(at: offset)), at: offset)
        }
    }

    private mutating func publishTasks(_ tasks: [PlanTask], at offset: Double) {
        for var task in tasks {
            task.seq = book.takeSeq()
            plans.recordSeq(task.seq, ofTask: task.id)
            record(topic: task.topic, body: try! JSONValue.parse(task.json), at: offset)
        }
    }

    private mutating func record(topic: String, body: JSONValue, at offset: Double) {
        log.append(.feed(offset: offset, topic: topic, body: body))
        for a in scenario.actionsTriggered(by: topic, body: body, at: offset, alreadyFired: &fired) {
            order += 1
            scheduled.append((a.offset, order, a.actionID, a.request))
        }
    }

    private mutating func execute(_ actionID: String, _ original: JSONValue, at offset: Double) {
        let request = log.resolved(original)
        let now = scenario.time(at: offset)
        let by = AreaPath(request["by"]?.stringValue ?? "") ?? AreaPath(unchecked: "sz")
        var reply: JSONValue = ["ok": true]
        var tasks: [PlanTask] = []
        var warnings: [Warning] = []
        switch request["op"]?.stringValue {
        case "ack":
            do {
                try book.acknowledge(request["warning"]?.stringValue ?? "", by: by, at: now)
            } catch {
                reply = ["ok": false, "error": .string(error.message)]
            }
        case "step":
            let state: TaskState = request["state"]?.stringValue == "done" ? .done : .acknowledged
            do {
                tasks = try plans.step(request["task"]?.stringValue ?? "", by: by, state: state, at: now)
            } catch {
                reply = ["ok": false, "error": .string(error.message)]
            }
        case "close":
            let id = request["incident"]?.stringValue ?? ""
            do {
                try book.authorizeClose(incident: id, by: by)
                if let change = engine.close(id, at: now) { warnings = book.incidentChanged(change, at: now) }
            } catch {
                reply = ["ok": false, "error": .string(error.message)]
            }
        default:
            reply = ["ok": false, "error": "unknown op"]
        }
        log.append(.action(offset: offset, description: scenario.describeAction(actionID, request: request),
                           request: request, reply: reply))
        publishTasks(tasks, at: offset)
        publish(warnings, at: offset)
    }
}
