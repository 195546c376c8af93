import Foundation
import Synchronization

/// Why an acknowledgement (or a close) was refused. `description` is the message for the command reply.
public struct WarningError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable {
        /// `unknown warning "w-x"`
        case unknownWarning
        /// `unknown incident "inc-x"` / `no warning was issued for incident inc-x`
        case unknownIncident
        /// `warning w-3 is superseded by w-5`
        case superseded
        /// `incident inc-4 is closed`
        case closed
        /// `sz.nanshan does not own warning w-7 (owner sz.futian)`
        case notOwner
    }

    public var code: Code
    public var message: String
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// The warnings of one incident: the latest incident state seen, and every warning issued, oldest first.
///
/// A value with its fields in one shared object, copied on write: the book's table of threads then holds a word
/// per thread instead of the whole 240-byte thread in every bucket (Swift's dictionaries keep their buckets at
/// most three quarters full, so 100,000 threads took 262,144 buckets: 67 MB of table where the threads themselves
/// are 26 MB).
///
/// The warnings are kept as what each adds to its incident (`IssuedWarning`, 144 bytes; a `Warning` is 231, most
/// of it the incident's id, type, status, categories and owner again) and rebuilt when asked for. A warning that
/// does not fit that form (read from a stored row of another form) puts the thread in the full form instead.
public struct WarningThread: Sendable, Hashable, Codable {
    private final class Storage: @unchecked Sendable {
        var incident: Incident
        var escalatedLevel: Level?
        var closedAt: Timestamp?
        /// The warnings, compactly (empty when `full` is set).
        var issued: [IssuedWarning]
        /// The warnings in full, when one of them does not fit the compact form.
        var full: [Warning]?

        init(incident: Incident, escalatedLevel: Level?, closedAt: Timestamp?, issued: [IssuedWarning],
             full: [Warning]?) {
            self.incident = incident
            self.escalatedLevel = escalatedLevel
            self.closedAt = closedAt
            self.issued = issued
            self.full = full
        }
    }

    private var storage: Storage

    init(incident: Incident, warnings: [Warning], escalatedLevel: Level?, closedAt: Timestamp?) {
        storage = Storage(incident: incident, escalatedLevel: escalatedLevel, closedAt: closedAt, issued: [],
                          full: nil)
        for w in warnings { append(w) }
    }

    /// Makes `storage` this value's own before a change.
    private mutating func own() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = Storage(incident: storage.incident, escalatedLevel: storage.escalatedLevel,
                              closedAt: storage.closedAt, issued: storage.issued, full: storage.full)
        }
    }

    public internal(set) var incident: Incident {
        get { storage.incident }
        set {
            own()
            // The compact warnings take the incident's fixed facts from it: should those ever differ (they do not
            // change in the engine), the warnings keep the old ones in full.
            if storage.full == nil && !storage.issued.isEmpty && !IssuedWarning.sameFixedFacts(storage.incident, newValue) {
                storage.full = warnings
                storage.issued = []
            }
            storage.incident = newValue
        }
    }

    /// Every warning issued, oldest first.
    public var warnings: [Warning] {
        if let full = storage.full { return full }
        var out: [Warning] = []
        out.reserveCapacity(storage.issued.count)
        for i in storage.issued { out.append(i.warning(about: storage.incident, references: out.map(\.id))) }
        return out
    }

    var warningCount: Int { storage.full?.count ?? storage.issued.count }

    /// The ids of its warnings, oldest first.
    var warningIDs: [String] { storage.full?.map(\.id) ?? storage.issued.map(\.id) }

    /// What the book decides on about the latest warning, without rebuilding it.
    struct Latest {
        var id: String { number.map { "w-\($0)" } ?? fullID }
        fileprivate var number: Int64?
        fileprivate var fullID = ""
        var tier: Tier
        var level: Level
        var area: AreaPath
        var events: Int
        var sent: Timestamp
        var escalated: Bool
        var isAcknowledged: Bool
        var owner: AreaPath { ownerOverride ?? area.ancestor(at: level) }
        fileprivate var ownerOverride: AreaPath?
    }

    var latest: Latest? {
        if let full = storage.full {
            guard let w = full.last else { return nil }
            return Latest(number: nil, fullID: w.id, tier: w.tier, level: w.level, area: w.area, events: w.evidence.events,
                          sent: w.sent, escalated: w.escalated, isAcknowledged: w.isAcknowledged, ownerOverride: w.owner)
        }
        guard let i = storage.issued.last else { return nil }
        return Latest(number: i.number, tier: i.tier, level: i.level, area: i.area, events: i.events, sent: i.sent,
                      escalated: i.escalated, isAcknowledged: i.acknowledgedAtMicros != .min)
    }

    /// The position of warning `id`, if it is one of the thread's.
    func position(of id: String) -> Int? {
        if let full = storage.full { return full.firstIndex { $0.id == id } }
        guard let n = IssuedWarning.number(id) else { return nil }
        return storage.issued.firstIndex { $0.number == n }
    }

    /// Adds a warning (the book's own: it fits the compact form unless the thread is in the full one).
    mutating func append(_ w: Warning) {
        own()
        if storage.full == nil {
            if let i = IssuedWarning(w, incident: storage.incident, earlier: storage.issued) {
                storage.issued.append(i)
                return
            }
            storage.full = warnings
            storage.issued = []
        }
        storage.full!.append(w)
    }

    /// Records the acknowledgement of the latest warning and returns it.
    mutating func acknowledgeLatest(by: AreaPath, at time: Timestamp) -> Warning {
        own()
        if storage.full != nil {
            let last = storage.full!.count - 1
            storage.full![last].acknowledgedBy = by
            storage.full![last].acknowledgedAt = time
            return storage.full![last]
        }
        let last = storage.issued.count - 1
        storage.issued[last].acknowledgedBy = by
        storage.issued[last].acknowledgedAtMicros = time.micros
        return warnings[last]
    }

    /// The highest level an escalation reached: later updates are owned at least at this level.
    public internal(set) var escalatedLevel: Level? {
        get { storage.escalatedLevel }
        set {
            own()
            storage.escalatedLevel = newValue
        }
    }

    /// When the `cancel` was issued; the thread is then kept for `WarningBook.retentionS` for look-ups.
    public internal(set) var closedAt: Timestamp? {
        get { storage.closedAt }
        set {
            own()
            storage.closedAt = newValue
        }
    }

    /// Whether the warnings are kept compactly (for tests).
    var isCompact: Bool { storage.full == nil }

    public static func == (a: WarningThread, b: WarningThread) -> Bool {
        a.storage === b.storage
            || (a.incident == b.incident && a.warnings == b.warnings && a.escalatedLevel == b.escalatedLevel
                && a.closedAt == b.closedAt)
    }

    public func hash(into h: inout Hasher) {
        h.combine(incident)
        h.combine(warnings)
        h.combine(escalatedLevel)
        h.combine(closedAt)
    }

    // The form the synthesized conformance had (optionals left out when nil), which stored rows keep.
    private enum CodingKeys: String, CodingKey { case incident, warnings, escalatedLevel, closedAt }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            incident: try c.decode(Incident.self, forKey: .incident),
            warnings: try c.decode([Warning].self, forKey: .warnings),
            escalatedLevel: try c.decodeIfPresent(Level.self, forKey: .escalatedLevel),
            closedAt: try c.decodeIfPresent(Timestamp.self, forKey: .closedAt))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(incident, forKey: .incident)
        try c.encode(warnings, forKey: .warnings)
        try c.encodeIfPresent(escalatedLevel, forKey: .escalatedLevel)
        try c.encodeIfPresent(closedAt, forKey: .closedAt)
    }
}

/// The serialisable state of a `WarningBook`.
public struct WarningBookState: Sendable, Hashable, Codable {
    /// The next feed sequence number (PROTOCOL.md: starts at 1, never reused).
    public var nextSeq: Int64
    /// The number of the next warning id `w-<n>`.
    public var nextWarningNumber: Int64
    /// Incidents with at least one warning, by `openingSeq`.
    public var threads: [WarningThread]

    public init(nextSeq: Int64 = 1, nextWarningNumber: Int64 = 1, threads: [WarningThread] = []) {
        self.nextSeq = nextSeq
        self.nextWarningNumber = nextWarningNumber
        self.threads = threads
    }
}

/// Turns incident changes into warnings, and runs acknowledgement and escalation (PROTOCOL.md "Tiers and
/// owners", "Warning"). Pure: the time arrives as an argument.
///
/// - The first warning of an incident with a tier is an `alert`. Incidents without a tier produce nothing.
/// - Later changes produce an `update` when the tier, the owning level or owner, or the area changed (with
///   `updateOnEvidence`, also when the number of events changed); otherwise nothing.
/// - A closed incident produces a `cancel`, only when an alert was sent, owned like the latest warning.
/// - A latest warning not acknowledged within its level's timeout is escalated one level up (`advance`).
///   Escalation sticks: later updates of the incident are owned at least at the escalated level.
/// - `seq` comes from `nextSeq`, which the book increments and keeps in its state; `takeSeq()` hands out
///   numbers for other feed messages (tasks), so one counter numbers the whole feed.
public struct WarningBook: Sendable {
    /// Shipped acknowledgement timeouts (PROTOCOL.md): street 5 min, district 10 min, city 15 min.
    public static let defaultAckTimeouts: [Level: Double] = [.street: 300, .district: 600, .city: 900]

    public let catalog: Catalog
    /// The display name of an area for `{area_name}`; `nil` falls back to the path.
    public let areaName: @Sendable (AreaPath) -> String?
    /// Also issue an `update` when only the evidence (the number of events) changed. Off by default: the
    /// contract lists tier, owner, area and escalation as the reasons for an update.
    public var updateOnEvidence: Bool
    /// How long the warnings of a closed incident stay available to `warning(_:)` and for clear `ack` errors.
    public var retentionS: Double

    /// The next feed sequence number.
    public var nextSeq: Int64
    private var nextWarningNumber: Int64
    private var threads = ByIncident<WarningThread>() {
        // Any change may bring a deadline forward: the next `advance` looks at every thread again.
        didSet { nextCheck = nil }
    }
    /// No escalation or expiry falls due before this (set by `advance`); until then `advance` does nothing, so
    /// holding many open incidents costs nothing per clock tick.
    private var nextCheck: Timestamp?
    private var checkedTimeouts: [Level: Double] = [:]
    /// The incidents the last `advance` let go after their retention (their stored rows can go too).
    public private(set) var lastExpired: [String] = []
    /// Warning id -> incident id, for every warning of a kept thread.
    private var index = WarningIndex()
    /// See `shared(_:)`.
    private var texts = Set<String>()
    /// One stored copy of each list of CAP categories (one per incident type in the catalog).
    private var categoryLists = Set<[CAPCategory]>()

    public init(
        catalog: Catalog, areaName: @escaping @Sendable (AreaPath) -> String? = { _ in nil },
        updateOnEvidence: Bool = false, retentionS: Double = 86_400, state: WarningBookState = WarningBookState()
    ) {
        self.catalog = catalog
        self.areaName = areaName
        self.updateOnEvidence = updateOnEvidence
        self.retentionS = retentionS
        self.nextSeq = state.nextSeq
        self.nextWarningNumber = state.nextWarningNumber
        // The index takes warnings in number order (threads come by incident).
        var pairs: [(warning: String, incident: String)] = []
        for thread in state.threads {
            threads[thread.incident.id] = thread
            for id in thread.warningIDs { pairs.append((id, thread.incident.id)) }
        }
        for p in pairs.sorted(by: { WarningIndex.order($0.warning, $1.warning) }) { index[p.warning] = p.incident }
    }

    /// A book naming areas by their `name` in `areas` (pinyin, e.g. "Shatou").
    public init(
        catalog: Catalog, areas: AreaTree, updateOnEvidence: Bool = false, retentionS: Double = 86_400,
        state: WarningBookState = WarningBookState()
    ) {
        self.init(
            catalog: catalog, areaName: { areas[$0]?.name }, updateOnEvidence: updateOnEvidence,
            retentionS: retentionS, state: state)
    }

    /// The state to snapshot.
    public var state: WarningBookState {
        WarningBookState(
            nextSeq: nextSeq, nextWarningNumber: nextWarningNumber,
            threads: threads.values.sorted { $0.incident.openingSeq < $1.incident.openingSeq })
    }

    /// The state as JSON bytes (keys sorted: equal states give equal bytes).
    public func snapshot() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(state))
    }

    /// A book continuing from a `snapshot()`.
    public init(
        catalog: Catalog, areaName: @escaping @Sendable (AreaPath) -> String? = { _ in nil },
        updateOnEvidence: Bool = false, retentionS: Double = 86_400, snapshot: [UInt8]
    ) throws {
        let state = try JSONDecoder().decode(WarningBookState.self, from: Data(snapshot))
        self.init(
            catalog: catalog, areaName: areaName, updateOnEvidence: updateOnEvidence, retentionS: retentionS,
            state: state)
    }

    /// A book naming areas by `areas`, continuing from a `snapshot()`.
    public init(
        catalog: Catalog, areas: AreaTree, updateOnEvidence: Bool = false, retentionS: Double = 86_400,
        snapshot: [UInt8]
    ) throws {
        try self.init(
            catalog: catalog, areaName: { areas[$0]?.name }, updateOnEvidence: updateOnEvidence,
            retentionS: retentionS, snapshot: snapshot)
    }

    // MARK: - Incremental persistence

    /// The book's counters, without its threads: with `threadSnapshot(_:)` a store keeps one row per incident
    /// and rewrites only what a change touched, so the cost of a commit does not grow with open incidents.
    /// Both are written by hand in exactly the form `Codable` gives them (the init below reads them with
    /// `JSONDecoder`): dispatch writes them at every commit, and `JSONEncoder` cost about 250,000 instructions per
    /// thread, 8% of all CPU at 10,000 events/s.
    public func headerSnapshot() throws -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.field("nextSeq", Int(nextSeq))
        w.field("nextWarningNumber", Int(nextWarningNumber))
        w.key("threads")
        w.beginArray()
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// One incident's thread (nil when the book no longer keeps it).
    public func threadSnapshot(_ incident: String) throws -> [UInt8]? {
        guard let thread = threads[incident] else { return nil }
        var w = JSONWriter(capacity: 2048)
        thread.writeCodableJSON(into: &w)
        return w.bytes
    }

    /// The incidents the book keeps threads for.
    public var threadIDs: Set<String> { Set(threads.values.lazy.map(\.incident.id)) }

    /// A book continuing from `headerSnapshot()` and every `threadSnapshot(_:)`.
    public init(
        catalog: Catalog, areaName: @escaping @Sendable (AreaPath) -> String? = { _ in nil },
        updateOnEvidence: Bool = false, retentionS: Double = 86_400, header: [UInt8], threads: [[UInt8]]
    ) throws {
        var state = try JSONDecoder().decode(WarningBookState.self, from: Data(header))
        state.threads = try threads.map { try JSONDecoder().decode(WarningThread.self, from: Data($0)) }
            .sorted { $0.incident.openingSeq < $1.incident.openingSeq }
        self.init(catalog: catalog, areaName: areaName, updateOnEvidence: updateOnEvidence, retentionS: retentionS,
                  state: state)
    }

    /// The number `takeSeq` hands out next.
    public var nextFeedSeq: Int64 { nextSeq }

    /// Hands out the next feed sequence number (for feed messages other than warnings, e.g. tasks).
    public mutating func takeSeq() -> Int64 {
        defer { nextSeq += 1 }
        return nextSeq
    }

    // MARK: - Queries

    /// The latest warning of each open incident, by `seq` (the `active` op).
    public var latestWarnings: [Warning] {
        threads.values.compactMap { $0.closedAt == nil ? $0.warnings.last : nil }.sorted { $0.seq < $1.seq }
    }

    /// The latest state of every open incident that has a warning, oldest first (its facts move on with every
    /// event, while its latest warning keeps the evidence of when it was issued), without its per-type counts and
    /// value aggregates (see `kept(_:)`).
    public var openIncidents: [Incident] {
        threads.values.compactMap { $0.closedAt == nil ? $0.incident : nil }.sorted { $0.openingSeq < $1.openingSeq }
    }

    /// A warning of an open incident, or of one closed less than `retentionS` ago.
    public func warning(_ id: String) -> Warning? {
        guard let incident = index[id] else { return nil }
        return threads[incident]?.warnings.first { $0.id == id }
    }

    /// Every warning of an incident, oldest first (for CAP `references`).
    public func warnings(ofIncident id: String) -> [Warning] { threads[id]?.warnings ?? [] }

    /// The warnings that `warning` references, oldest first.
    public func references(of warning: Warning) -> [Warning] {
        let all = warnings(ofIncident: warning.incident)
        let ids = Set(warning.references)
        return all.filter { ids.contains($0.id) }
    }

    // MARK: - Incident changes

    /// The warnings (zero or one) that an incident change calls for, issued at `now`.
    public mutating func incidentChanged(_ change: IncidentChange, at now: Timestamp) -> [Warning] {
        let incident = change.incident
        if case .closed = change.kind {
            guard var thread = threads[incident.id], thread.closedAt == nil, let latest = thread.latest else {
                return []
            }
            thread.incident = keep(incident)
            let w = issue(
                .cancel, thread: thread, tier: incident.tier ?? latest.tier, level: latest.level,
                escalated: latest.escalated, now: now)
            thread.append(w)
            thread.closedAt = now
            threads[incident.id] = thread
            index[w.id] = incident.id
            return [w]
        }

        guard incident.isOpen else { return [] }
        guard var thread = threads[incident.id] else {
            guard let tier = incident.tier else { return [] }
            var thread = WarningThread(incident: keep(incident), warnings: [], escalatedLevel: nil, closedAt: nil)
            let w = issue(.alert, thread: thread, tier: tier, level: tier.owningLevel, escalated: false, now: now)
            thread.append(w)
            threads[incident.id] = thread
            index[w.id] = incident.id
            return [w]
        }
        // A change older than what we have seen (a re-delivery) or after the cancel changes nothing.
        guard thread.closedAt == nil, incident.version >= thread.incident.version else { return [] }
        thread.incident = keep(incident)
        defer { threads[incident.id] = thread }
        guard let tier = incident.tier, let latest = thread.latest else { return [] }
        let level = max(tier.owningLevel, thread.escalatedLevel ?? tier.owningLevel)
        let owner = incident.area.ancestor(at: level)
        var changed = tier != latest.tier || level != latest.level || owner != latest.owner || incident.area != latest.area
        if updateOnEvidence && incident.eventCount != latest.events { changed = true }
        guard changed else { return [] }
        let w = issue(.update, thread: thread, tier: tier, level: level, escalated: level > tier.owningLevel, now: now)
        thread.append(w)
        index[w.id] = incident.id
        return [w]
    }

    // MARK: - Acknowledgement and escalation

    /// Acknowledges the latest warning of an open incident on behalf of `by`, which must be the warning's owner
    /// or one of its ancestors. Stops the warning's escalation. Acknowledging again changes nothing.
    @discardableResult
    public mutating func acknowledge(_ warningID: String, by: AreaPath, at time: Timestamp) throws(WarningError)
        -> Warning
    {
        guard let incidentID = index[warningID], var thread = threads[incidentID],
            let position = thread.position(of: warningID), let latest = thread.latest
        else {
            throw WarningError(code: .unknownWarning, message: "unknown warning \(JSONWriter.quoted(warningID))")
        }
        guard thread.closedAt == nil else {
            throw WarningError(code: .closed, message: "incident \(incidentID) is closed")
        }
        guard position == thread.warningCount - 1 else {
            throw WarningError(code: .superseded, message: "warning \(warningID) is superseded by \(latest.id)")
        }
        guard latest.owner.isWithin(by) else {
            throw WarningError(
                code: .notOwner, message: "\(by) does not own warning \(warningID) (owner \(latest.owner))")
        }
        if latest.isAcknowledged { return thread.warnings[position] }
        let acknowledged = thread.acknowledgeLatest(by: by, at: time)
        threads[incidentID] = thread
        return acknowledged
    }

    /// Checks that `by` may close (all-clear) incident `id`: it must own the incident's latest warning or be an
    /// ancestor of its owner. Incidents that never had a warning are not known here.
    public func authorizeClose(incident id: String, by: AreaPath) throws(WarningError) {
        guard let thread = threads[id], let latest = thread.latest else {
            throw WarningError(code: .unknownIncident, message: "no warning was issued for incident \(id)")
        }
        guard thread.closedAt == nil else { throw WarningError(code: .closed, message: "incident \(id) is closed") }
        guard latest.owner.isWithin(by) else {
            throw WarningError(code: .notOwner, message: "\(by) does not own incident \(id) (owner \(latest.owner))")
        }
    }

    /// Escalates every latest warning left unacknowledged for its level's timeout (`timeouts`, per level, in
    /// seconds; a missing level uses the shipped default) by one level, and forgets closed incidents older than
    /// `retentionS`. Warnings come out oldest deadline first. An escalated warning is sent at `now`, so its
    /// own timeout starts then. City warnings cannot escalate.
    public mutating func advance(to now: Timestamp, timeouts: [Level: Double] = WarningBook.defaultAckTimeouts)
        -> [Warning]
    {
        lastExpired = []
        if let nextCheck, now < nextCheck, timeouts == checkedTimeouts { return [] }
        var due: [(deadline: Int64, number: Int64, incident: String)] = []
        var expired: [String] = []
        var earliest = Int64.max
        for thread in threads.values {
            let id = thread.incident.id
            if let closedAt = thread.closedAt {
                if now - closedAt >= retentionS {
                    expired.append(id)
                } else {
                    earliest = min(earliest, closedAt.adding(seconds: retentionS).micros)
                }
                continue
            }
            guard let latest = thread.latest, !latest.isAcknowledged, latest.level.above != nil else { continue }
            let timeout = timeouts[latest.level] ?? Self.defaultAckTimeouts[latest.level] ?? 300
            let deadline = latest.sent.adding(seconds: timeout)
            if deadline <= now {
                due.append((deadline.micros, thread.incident.openingSeq, id))
            } else {
                earliest = min(earliest, deadline.micros)
            }
        }
        for id in expired {
            for w in threads[id]?.warningIDs ?? [] { index[w] = nil }
            threads[id] = nil
        }
        due.sort { ($0.deadline, $0.number) < ($1.deadline, $1.number) }
        var out: [Warning] = []
        for d in due {
            guard var thread = threads[d.incident], let latest = thread.latest, let up = latest.level.above
            else { continue }
            thread.escalatedLevel = max(up, thread.escalatedLevel ?? up)
            let w = issue(
                .update, thread: thread, tier: latest.tier, level: up, escalated: true, isEscalation: true, now: now)
            thread.append(w)
            threads[d.incident] = thread
            index[w.id] = d.incident
            out.append(w)
        }
        lastExpired = expired
        // An escalated warning has a deadline of its own: look again at the next tick after escalating.
        nextCheck = out.isEmpty ? Timestamp(micros: earliest) : nil
        checkedTimeouts = timeouts
        return out
    }

    // MARK: - Issuing

    /// An incident as a thread keeps it: without its per-type counts and value aggregates, which no warning uses
    /// (the classify worker keeps them: dispatch's `incidents` op reads them there), its area path shared.
    mutating func keep(_ incident: Incident) -> Incident {
        var kept = incident
        kept.counts = [:]
        kept.aggregates = [:]
        kept.type = shared(incident.type)
        kept.area = AreaPath(unchecked: shared(incident.area.rawValue))
        kept.capCategories = categoryLists.insert(incident.capCategories).memberAfterInsert
        return kept
    }

    /// One stored copy of each text that many warnings repeat (headlines, instructions, area paths, incident
    /// types): their number
    /// is bounded by the catalog's types and tiers and the areas, and a warned incident no longer holds its own.
    private mutating func shared(_ text: String) -> String { texts.insert(text).memberAfterInsert }

    private mutating func issue(
        _ type: Warning.MessageType, thread: WarningThread, tier: Tier, level: Level, escalated: Bool,
        isEscalation: Bool = false, now: Timestamp
    ) -> Warning {
        let incident = thread.incident
        let spec = catalog.incidents[incident.type]
        let name = areaName(incident.area) ?? incident.area.rawValue
        let values: [String: String] = [
            "tier": tier.rawValue, "color": tier.color, "area": incident.area.rawValue, "area_name": name,
            "event": incident.type,
        ]
        var headline = Self.fill(spec?.headline ?? "{event} warning {tier} ({color}) in {area_name}", values)
        var instruction = Self.fill(spec?.instruction ?? "Follow the instructions of the authorities.", values)
        switch type {
        case .cancel:
            headline = "Cancelled: " + headline
            instruction =
                incident.closeReason == .allClear
                ? "All clear: the incident is closed."
                : "The incident is closed: no new events for \(Self.duration(Double(spec?.quietS ?? 7200)))."
        case .update where isEscalation:
            headline += " (escalated: not acknowledged in time)"
        default:
            break
        }
        let number = nextWarningNumber
        nextWarningNumber += 1
        let seq = takeSeq()
        return Warning(
            id: "w-\(number)", seq: seq, about: incident, msgType: type, references: thread.warningIDs,
            tier: tier, headline: shared(headline), instruction: shared(instruction), level: level,
            owner: AreaPath(unchecked: shared(incident.area.ancestor(at: level).rawValue)), escalated: escalated,
            sent: now)
    }

    /// Fills `{name}` placeholders in one pass (filled text is not scanned again); unknown ones stay as they are.
    /// Over the UTF-8 bytes (a brace is one byte and never part of another character's): going by `Character`
    /// took about 27,000 instructions per headline.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        // Without a placeholder, the template itself (its storage shared, not copied).
        guard template.utf8.contains(UInt8(ascii: "{")) else { return template }
        var template = template
        return template.withUTF8 { u in
            var out: [UInt8] = []
            out.reserveCapacity(u.count + 64)
            var k = 0
            while let open = u[k...].firstIndex(of: UInt8(ascii: "{")) {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: u[k..<open]))
                guard let close = u[(open + 1)...].firstIndex(of: UInt8(ascii: "}")) else {
                    k = open
                    break
                }
                let key = String(decoding: UnsafeBufferPointer(rebasing: u[(open + 1)..<close]), as: UTF8.self)
                if let v = values[key] {
                    out.append(contentsOf: v.utf8)
                } else {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: u[open...close]))
                }
                k = close + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: u[k...]))
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// `2 h`, `30 min`, `45 s`.
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s % 3600 == 0 { return "\(s / 3600) h" }
        if s % 60 == 0 { return "\(s / 60) min" }
        return "\(s) s"
    }
}

extension WarningThread {
    /// Writes the thread exactly as its `Codable` conformance encodes it (see `Incident.writeCodableJSON`).
    func writeCodableJSON(into w: inout JSONWriter) {
        w.beginObject()
        w.key("incident")
        incident.writeCodableJSON(into: &w)
        w.key("warnings")
        w.beginArray()
        for warning in warnings { warning.write(to: &w, codableForm: true) }
        w.endArray()
        if let escalatedLevel { w.field("escalatedLevel", escalatedLevel.rawValue) }
        if let closedAt {
            w.key("closedAt")
            closedAt.writeCodableJSON(into: &w)
        }
        w.endObject()
    }
}

/// Warning id -> incident id. The book numbers warnings in order (`w-<n>`), so the index is a dense array of
/// incident numbers from the oldest warning still kept (`base`) rather than a dictionary: about 10 bytes a
/// warning instead of 84 at 100,000. Ids of another form (none that the book issues) are kept by their text.
struct WarningIndex: Sendable {
    private static let none = Int64.min
    /// The warning number of `incidents[0]`.
    private var base: Int64 = 0
    /// Incident numbers (`none`: no such warning kept), by warning number - `base`.
    private var incidents: [Int64] = []
    /// Entries before this are all `none`.
    private var head = 0
    private var live = 0
    private var byText: [String: String] = [:]

    private static func number(_ id: String, prefix: String) -> Int64? { canonicalNumber(id, prefix: prefix) }

    /// Orders warning ids by their number (others after, by text): the order to fill an index in.
    static func order(_ a: String, _ b: String) -> Bool {
        switch (number(a, prefix: "w-"), number(b, prefix: "w-")) {
        case let (x?, y?): x < y
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): a < b
        }
    }

    var count: Int { live + byText.count }

    subscript(warningID: String) -> String? {
        get {
            guard let w = Self.number(warningID, prefix: "w-") else { return byText[warningID] }
            let i = w - base
            guard i >= Int64(head), i < Int64(incidents.count), incidents[Int(i)] != Self.none else {
                return byText[warningID]
            }
            return "inc-\(incidents[Int(i)])"
        }
        set {
            guard let w = Self.number(warningID, prefix: "w-"),
                  newValue == nil || Self.number(newValue!, prefix: "inc-") != nil
            else {
                if let w = Self.number(warningID, prefix: "w-") { remove(w) }
                byText[warningID] = newValue
                return
            }
            if let incident = newValue {
                set(w, Self.number(incident, prefix: "inc-")!)
            } else {
                remove(w)
                byText[warningID] = nil
            }
        }
    }

    private mutating func set(_ w: Int64, _ incident: Int64) {
        if incidents.isEmpty {
            base = w
            head = 0
        } else if w < base {
            // Only when filled out of order: make room at the front.
            incidents.insert(contentsOf: repeatElement(Self.none, count: Int(base - w)), at: 0)
            head = 0
            base = w
        }
        let i = Int(w - base)
        if i >= incidents.count {
            incidents.append(contentsOf: repeatElement(Self.none, count: i - incidents.count + 1))
        }
        if incidents[i] == Self.none { live += 1 }
        incidents[i] = incident
        head = min(head, i)
    }

    private mutating func remove(_ w: Int64) {
        let i = w - base
        guard i >= Int64(head), i < Int64(incidents.count), incidents[Int(i)] != Self.none else { return }
        incidents[Int(i)] = Self.none
        live -= 1
        if live == 0 {
            incidents = []
            head = 0
            return
        }
        while incidents[head] == Self.none { head += 1 }
        // Drop the emptied front once it is half the array (amortized: each entry moves at most once per halving).
        if head >= incidents.count / 2 {
            incidents.removeFirst(head)
            base += Int64(head)
            head = 0
        }
    }
}

/// What a warning adds to its incident: its own fields, with the headline and instruction in one shared object.
/// `WarningThread` rebuilds the `Warning` from this, the thread's incident (id, status, category, CAP categories,
/// type) and the earlier warnings (`references`); the owner is the area's ancestor at the level.
struct IssuedWarning: Sendable, Hashable {
    /// The `n` of the id `w-<n>`.
    var number: Int64
    var seq: Int64
    var sent: Timestamp
    var location: Warning.Location
    var events: Int
    var first: Timestamp
    var last: Timestamp
    /// The evidence's sample: most often the thread's incident's, whose storage it then shares.
    var samples: SampleIDs
    var texts: WarningTexts
    var area: AreaPath
    var acknowledgedBy: AreaPath?
    /// `Int64.min`: not acknowledged.
    var acknowledgedAtMicros: Int64
    var msgType: Warning.MessageType
    var tier: Tier
    var level: Level
    var escalated: Bool

    var id: String { "w-\(number)" }

    /// `n` when `id` is exactly `w-<n>`.
    static func number(_ id: String) -> Int64? { canonicalNumber(id, prefix: "w-") }

    /// Whether two states of an incident agree on what its warnings take from it.
    static func sameFixedFacts(_ a: Incident, _ b: Incident) -> Bool {
        a.id == b.id && a.status == b.status && a.category == b.category && a.type == b.type
            && a.capCategories == b.capCategories
    }

    /// The compact form of `w`, a warning about `incident` after `earlier`; nil when `w` does not fit it.
    init?(_ w: Warning, incident: Incident, earlier: [IssuedWarning]) {
        guard let n = Self.number(w.id), w.incident == incident.id, w.status == incident.status,
              w.category == incident.category, w.capCategory == incident.capCategories, w.event == incident.type,
              w.owner == w.area.ancestor(at: w.level), w.references == earlier.map(\.id),
              w.acknowledgedAt?.micros != .min
        else { return nil }
        number = n
        seq = w.seq
        sent = w.sent
        location = w.location
        events = w.evidence.events
        first = w.evidence.first
        last = w.evidence.last
        samples = w.evidence.sample == incident.sampleIDs ? incident.samples : SampleIDs(w.evidence.sample)
        texts = WarningTexts.shared(headline: w.headline, instruction: w.instruction)
        area = w.area
        acknowledgedBy = w.acknowledgedBy
        acknowledgedAtMicros = w.acknowledgedAt?.micros ?? .min
        msgType = w.msgType
        tier = w.tier
        level = w.level
        escalated = w.escalated
    }

    func warning(about incident: Incident, references: [String]) -> Warning {
        Warning(
            id: id, seq: seq, incident: incident.id, msgType: msgType, references: references, status: incident.status,
            tier: tier, category: incident.category, capCategory: incident.capCategories, event: incident.type,
            headline: texts.headline, instruction: texts.instruction, area: area, level: level,
            owner: area.ancestor(at: level), location: location, sent: sent,
            evidence: Warning.Evidence(events: events, first: first, last: last, sample: samples.array),
            escalated: escalated,
            acknowledgedBy: acknowledgedBy,
            acknowledgedAt: acknowledgedAtMicros == .min ? nil : Timestamp(micros: acknowledgedAtMicros))
    }
}

/// A warning's headline and instruction, one object per distinct pair in the process: there are few (the
/// catalog's types and tiers, the areas, the message types), and a warned incident then holds a word for both.
final class WarningTexts: Sendable, Hashable {
    let headline: String
    let instruction: String

    private init(headline: String, instruction: String) {
        self.headline = headline
        self.instruction = instruction
    }

    static func == (a: WarningTexts, b: WarningTexts) -> Bool {
        a === b || (a.headline == b.headline && a.instruction == b.instruction)
    }

    func hash(into h: inout Hasher) {
        h.combine(headline)
        h.combine(instruction)
    }

    private static let table = Mutex<Set<WarningTexts>>([])

    /// The one object holding this pair.
    static func shared(headline: String, instruction: String) -> WarningTexts {
        let texts = WarningTexts(headline: headline, instruction: instruction)
        return table.withLock { $0.insert(texts).memberAfterInsert }
    }
}
